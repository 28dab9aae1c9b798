// SPDX-License-Identifier: GPL-2.0
/* Module loading and kernel log helpers: see include/kmod.h. */
#include <fcntl.h>
#include <libgen.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kmod.h"
#include "test_util.h"

#define SYSLOG_ACTION_READ_ALL	3
#define KLOG_SIZE		(1 << 20)

int kmod_load(const char *path, const char *params)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, params ? params : "", 0);
	r = r ? -errno : 0;
	close(fd);
	return r;
}

int kmod_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

bool kmod_loaded(const char *name)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "/sys/module/%s", name);
	return stat(p, &st) == 0;
}

bool kmod_load_listed(const char *dir)
{
	char path[256], line[256];
	FILE *order;
	int r;

	snprintf(path, sizeof(path), "/kvisor/%s/order", dir);
	order = fopen(path, "r");
	if (!order)
		return false;
	while (fgets(line, sizeof(line), order)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		r = kmod_load(line, "");
		TEST_ASSERT(!r || r == -EEXIST, "load %s: %s", line,
			    strerror(-r));
	}
	fclose(order);
	return true;
}

const char *kvisor_ko_path(void)
{
	const char *p = getenv("KVISOR_KO");

	return p && *p ? p : "/kvisor/kvisor.ko";
}

int intree_modules(char paths[][256], int max)
{
	const char *env = getenv("KVISOR_INTREE");
	int n = 0;

	while (env && *env && n < max) {
		size_t len;

		env += strspn(env, " \n\t");
		len = strcspn(env, " \n\t");
		if (!len)
			break;
		snprintf(paths[n++], 256, "%.*s", (int)len, env);
		env += len;
	}
	return n;
}

static char *klog_read(int *len)
{
	char *buf = malloc(KLOG_SIZE);

	TEST_ASSERT(buf, "out of memory");
	*len = klogctl(SYSLOG_ACTION_READ_ALL, buf, KLOG_SIZE - 1);
	TEST_ASSERT(*len >= 0, "cannot read the kernel log");
	buf[*len] = 0;
	return buf;
}

size_t klog_mark(void)
{
	int len;

	free(klog_read(&len));
	return len;
}

/*
 * The log is a ring: once it is full, old text drops out and the mark moves.
 * Test hosts log little, so a mark taken during a test stays valid.
 */
bool klog_since_contains(size_t mark, const char *needle)
{
	int len;
	char *buf = klog_read(&len);
	bool found = (size_t)len > mark && strstr(buf + mark, needle);

	free(buf);
	return found;
}

/* kmod.h: foo-bar.ko is module foo_bar */
void kmod_name(const char *path, char *name)
{
	char tmp[256], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(name, 64, "%s", basename(tmp));
	p = strstr(name, ".ko");
	if (p)
		*p = 0;
	for (p = name; *p; p++)
		if (*p == '-')
			*p = '_';
}
