/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs from a selftest: where it is, and writing its control files.
 */
#ifndef KVISOR_SELFTEST_TRACEFS_H
#define KVISOR_SELFTEST_TRACEFS_H

/*
 * The tracefs directory (/sys/kernel/tracing, or the older
 * /sys/kernel/debug/tracing), mounted at the first if neither is there;
 * the test SKIPs when there is none.
 */
const char *tracefs_dir(void);
/* Write @val to tracefs_dir()/@file, failing the test if it cannot. */
void tracefs_write(const char *file, const char *val);

#endif /* KVISOR_SELFTEST_TRACEFS_H */
