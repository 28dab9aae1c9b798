// SPDX-License-Identifier: GPL-2.0
/*
 * Guest states the fuzzers keep away from in the SVM test host, because
 * QEMU 7.2 itself crashes or hangs on them (include/qemu_quirks.h).
 */
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "qemu_quirks.h"

bool qemu_svm_host(void)
{
	static int svm = -1;

	if (svm < 0) {
		const char *host = getenv("KVHOST");

		svm = host && !strcmp(host, "svm");
	}
	return svm;
}

uint64_t qemu_safe_dr7(uint64_t dr7)
{
	int i;

	if (!qemu_svm_host())
		return dr7;
	for (i = 0; i < 4; i++)
		if (((dr7 >> (16 + 4 * i)) & 3) != 2)	/* R/Wi != 10 */
			dr7 &= ~(3ULL << (2 * i));	/* Li, Gi */
	return dr7;
}

void qemu_safe_tr(struct kvm_segment *tr)
{
	if (!qemu_svm_host())
		return;
	tr->type = (tr->type & 8) | 1;	/* 32/64-bit or 16-bit, available */
	tr->present = 1;
	tr->unusable = 0;
}

void qemu_safe_sregs(struct kvm_sregs *s)
{
	if (!qemu_svm_host())
		return;
	qemu_safe_tr(&s->tr);
	if ((s->efer & EFER_LME) && !(s->cr0 & X86_CR0_PG))
		s->cr4 |= X86_CR4_PAE;
}
