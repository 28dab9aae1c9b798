/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM architecture definitions used by the SVM backend (AMD APM vol. 2,
 * "Secure Virtual Machine").  Vendor code only: common code never
 * includes this file.
 */
#ifndef KVISOR_SVM_H
#define KVISOR_SVM_H

#include <linux/bits.h>

/* CPUID 0x80000001 ECX: the CPU implements SVM at all. */
#define KV_SVM_CPUID_SVM			BIT(2)

/* CPUID 0x8000000A: EBX = number of ASIDs, EDX = SVM sub-features. */
#define KV_SVM_CPUID_LEAF			0x8000000a
#define KV_SVM_FEATURE_NPT			BIT(0)
#define KV_SVM_FEATURE_NRIPS		BIT(3)
#define KV_SVM_FEATURE_VMCB_CLEAN		BIT(5)
#define KV_SVM_FEATURE_FLUSH_ASID		BIT(6)
#define KV_SVM_FEATURE_DECODE_ASSISTS	BIT(7)
#define KV_SVM_FEATURE_VGIF		BIT(16)

/* VM_CR MSR: SVMDIS makes EFER.SVME reserved. */
#define KV_SVM_VM_CR_SVMDIS		BIT(4)

#endif /* KVISOR_SVM_H */
