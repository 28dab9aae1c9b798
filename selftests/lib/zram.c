// SPDX-License-Identifier: GPL-2.0
/* zram devices for swap and scratch disks: see include/zram.h. */
#include <unistd.h>

#include "kmod.h"
#include "test_util.h"
#include "zram.h"

#define ZRAM_CONTROL	"/sys/class/zram-control/"

static void zram_write(const char *path, const char *fmt,
		       unsigned long long val)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f, "open %s", path);
	fprintf(f, fmt, val);
	TEST_ASSERT(!fclose(f), "write %s", path);
}

int zram_get(uint64_t bytes)
{
	char path[64], text[32];
	int dev;

	if (access(ZRAM_CONTROL, F_OK) && !kmod_load_listed("extra"))
		ksft_exit_skip("no zram module in this host\n");
	/* zram0 comes with the module; a reset device has no size */
	for (dev = 0;; dev++) {
		snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", dev);
		if (access(path, F_OK))
			break;
		read_text_file(path, text, sizeof(text));
		if (!strtoull(text, NULL, 10))
			goto found;
	}
	read_text_file(ZRAM_CONTROL "hot_add", text, sizeof(text));
	dev = atoi(text);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", dev);
found:
	zram_write(path, "%llu\n", bytes);
	return dev;
}

void zram_put(int dev)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/zram%d/reset", dev);
	zram_write(path, "%llu\n", 1);
	if (dev)
		zram_write(ZRAM_CONTROL "hot_remove", "%llu\n", dev);
}

int zram_swap_on(uint64_t bytes)
{
	char cmd[128];
	int dev = zram_get(bytes);

	snprintf(cmd, sizeof(cmd),
		 "mkswap /dev/zram%d >/dev/null && swapon /dev/zram%d", dev,
		 dev);
	TEST_ASSERT(!system(cmd), "%s", cmd);
	return dev;
}

void zram_swap_off(int dev)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "swapoff /dev/zram%d", dev);
	TEST_ASSERT(!system(cmd), "%s", cmd);
	zram_put(dev);
}
