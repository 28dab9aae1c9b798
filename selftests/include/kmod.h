/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading kernel modules from a selftest, with the errno the
 * kernel gave, and reading what the kernel logged meanwhile.
 */
#ifndef KVISOR_SELFTEST_KMOD_H
#define KVISOR_SELFTEST_KMOD_H

#include <stdbool.h>
#include <stddef.h>

/* Load the module file at @path with @params; 0 or -errno. */
int kmod_load(const char *path, const char *params);
/* Unload module @name without waiting for its users; 0 or -errno. */
int kmod_unload(const char *name);
bool kmod_loaded(const char *name);
/* The name the kernel gives the module file at @path (64 bytes at @name). */
void kmod_name(const char *path, char *name);
/*
 * Load the modules the test host keeps in /kvisor/@dir/ (build-initramfs.sh:
 * "extra" holds zram, "fs" ext4), in the order of its "order" file,
 * dependencies first; a module already loaded is fine.  False when the
 * host has no such directory.
 */
bool kmod_load_listed(const char *dir);

/*
 * The path of kvisor.ko ($KVISOR_KO) and the in-tree vendor modules
 * ($KVISOR_INTREE: paths, dependencies first), as the test host sets them.
 */
const char *kvisor_ko_path(void);
int intree_modules(char paths[][256], int max);

/* How many bytes the kernel log holds now: a mark for klog_since(). */
size_t klog_mark(void);
/* True when the kernel logged @needle after @mark. */
bool klog_since_contains(size_t mark, const char *needle);

#endif /* KVISOR_SELFTEST_KMOD_H */
