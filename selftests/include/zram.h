/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zram block devices in the test host, for the memory tests: swap
 * (mem_swap, mem_shared) and a small disk under a real filesystem
 * (mem_shared).  The zram module comes from the host's extra modules
 * (build-initramfs.sh).  A test gives back what it took, so that the next
 * one finds the devices free.
 */
#ifndef KVISOR_SELFTEST_ZRAM_H
#define KVISOR_SELFTEST_ZRAM_H

#include <stdint.h>

/*
 * A zram device of @bytes nobody uses (one with no size yet, else a new
 * one): its number N, for /dev/zramN.  Ends the test as a SKIP where the
 * host has no zram.
 */
int zram_get(uint64_t bytes);
/* Give device @dev back: its memory is freed, a hot-added one removed. */
void zram_put(int dev);

/* Swap on a zram device of @bytes: its number. */
int zram_swap_on(uint64_t bytes);
void zram_swap_off(int dev);

#endif /* KVISOR_SELFTEST_ZRAM_H */
