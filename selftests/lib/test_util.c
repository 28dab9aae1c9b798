// SPDX-License-Identifier: GPL-2.0
/* Failure reporting for kvisor selftests: see include/test_util.h. */
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
