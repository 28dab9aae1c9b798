// SPDX-License-Identifier: GPL-2.0
/* Failure reporting and debugfs helpers: see include/test_util.h. */
#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include "test_util.h"

void test_assert_fail(const char *file, unsigned int line, const char *expr,
		      int err, const char *fmt, ...)
{
	va_list ap;

	printf("# ASSERTION FAILED at %s:%u: %s\n# ", file, line, expr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# (errno %d: %s)\n", err, strerror(err));
	fflush(stdout);
	exit(KSFT_FAIL);
}

void kvisor_vm_debugfs_dir(char *path, size_t len)
{
	char prefix[32];
	struct dirent *e;
	DIR *d;

	d = opendir(KVISOR_DEBUGFS);
	if (!d)
		ksft_exit_skip("no %s (not kvisor, or no debugfs)\n",
			       KVISOR_DEBUGFS);
	snprintf(prefix, sizeof(prefix), "vm-%d-", getpid());
	path[0] = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			snprintf(path, len, "%s/%s", KVISOR_DEBUGFS, e->d_name);
	closedir(d);
	TEST_ASSERT(path[0], "no %s* directory in %s", prefix, KVISOR_DEBUGFS);
}

/*
 * A counter of this process's VM in kvisor's debugfs "memory" file
 * ("mapped 2M ", "split ", ...), or -1 where there is no kvisor debugfs
 * (in-tree KVM).
 */
long kvisor_vm_memory_counter(const char *name)
{
	char dir[300], path[320], text[512];

	if (access(KVISOR_DEBUGFS, F_OK))
		return -1;
	kvisor_vm_debugfs_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/memory", dir);
	read_text_file(path, text, sizeof(text));
	return text_counter(text, name);
}

void read_text_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	TEST_ASSERT(f, "open %s", path);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

unsigned long long text_counter(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	TEST_ASSERT(p, "no \"%s\" line in:\n%s", name, text);
	return strtoull(p + strlen(name), NULL, 10);
}

void pin_thread(int tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(tid, sizeof(set), &set),
		    "sched_setaffinity of thread %d to CPU %d: %s", tid, cpu,
		    strerror(errno));
}
