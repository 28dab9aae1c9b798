/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal kselftest-style helpers shared by every kvisor selftest.
 *
 * A selftest is one program.  Its exit code is the verdict the test host
 * reports: 0 pass, KSFT_FAIL fail, KSFT_SKIP skip.  A skip prints one line
 * "# SKIP <reason>" on stdout first, so the host can say why.  Everything
 * else a test prints is diagnostics and should start with "# ".
 */
#ifndef KVISOR_SELFTEST_TEST_UTIL_H
#define KVISOR_SELFTEST_TEST_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

static inline void ksft_print_msg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void ksft_print_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static inline void __attribute__((noreturn, format(printf, 1, 2)))
ksft_exit_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# SKIP ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	exit(KSFT_SKIP);
}

static inline void __attribute__((noreturn)) ksft_exit_pass(void)
{
	fflush(stdout);
	exit(KSFT_PASS);
}

void __attribute__((noreturn, format(printf, 5, 6)))
test_assert_fail(const char *file, unsigned int line, const char *expr,
		 int err, const char *fmt, ...);

/*
 * TEST_ASSERT() ends the test as failed, naming the file, line, the
 * expression and errno at the time of the check.
 */
#define TEST_ASSERT(cond, fmt, ...)					\
	do {								\
		int __err = errno;					\
		if (!(cond))						\
			test_assert_fail(__FILE__, __LINE__, #cond,	\
					 __err, fmt, ##__VA_ARGS__);	\
	} while (0)

#define TEST_FAIL(fmt, ...)	TEST_ASSERT(0, fmt, ##__VA_ARGS__)

#define TEST_ASSERT_EQ(a, b)						\
	do {								\
		unsigned long long __a = (a), __b = (b);		\
		TEST_ASSERT(__a == __b, "%s is %#llx, expected %s = %#llx", \
			    #a, __a, #b, __b);				\
	} while (0)

/*
 * The KVM device under test: /dev/kvm, or $KVM_DEV when kvisor sits beside
 * in-tree KVM under another name.
 */
static inline const char *kvm_dev_path(void)
{
	const char *p = getenv("KVM_DEV");

	return p && *p ? p : "/dev/kvm";
}

/*
 * kvisor's debugfs: the directory of this process's newest VM, which ends
 * the test as a SKIP where there is none (in-tree KVM, or no debugfs);
 * a file's text; and the number after @name in it.
 */
#define KVISOR_DEBUGFS	"/sys/kernel/debug/kvisor"
void kvisor_vm_debugfs_dir(char *path, size_t len);
long kvisor_vm_memory_counter(const char *name);
void read_text_file(const char *path, char *buf, size_t len);

/* Pin thread @tid (0: the caller) to host CPU @cpu, or fail the test. */
void pin_thread(int tid, int cpu);
unsigned long long text_counter(const char *text, const char *name);

#endif /* KVISOR_SELFTEST_TEST_UTIL_H */
