// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "tracefs.h"

const char *tracefs_dir(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	static const char *found;
	char path[64];
	struct stat st;
	unsigned int i;

	if (found)
		return found;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/trace", dirs[i]);
		if (!stat(path, &st))
			return found = dirs[i];
	}
	if (!mount("tracefs", dirs[0], "tracefs", 0, NULL))
		return found = dirs[0];
	ksft_exit_skip("no tracefs in %s or %s, and mounting it failed (%s)\n",
		       dirs[0], dirs[1], strerror(errno));
	return NULL;
}

void tracefs_write(const char *file, const char *val)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tracefs_dir(), file);
	fd = open(path, O_WRONLY | O_TRUNC);
	TEST_ASSERT(fd >= 0, "open %s", path);
	TEST_ASSERT(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		    "write '%s' to %s", val, path);
	close(fd);
}
