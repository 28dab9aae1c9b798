/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel VMX architecture definitions used by the VMX backend (Intel SDM
 * vol. 3, "VMX" chapters and the "VMX Capability Reporting Facility"
 * appendix).  Vendor code only: common code never includes this file.
 */
#ifndef KVISOR_VMX_H
#define KVISOR_VMX_H

#include <linux/bits.h>

/* CPUID.1:ECX */
#define KV_VMX_CPUID_VMX			BIT(5)

/* IA32_FEATURE_CONTROL (MSR 0x3a) */
#define KV_VMX_FEATURE_CONTROL_LOCKED	BIT_ULL(0)
#define KV_VMX_FEATURE_CONTROL_OUTSIDE_SMX	BIT_ULL(2)

/* Capability MSRs */
#define KV_MSR_VMX_BASIC			0x480
#define KV_MSR_VMX_PROCBASED_CTLS		0x482
#define KV_MSR_VMX_PROCBASED_CTLS2		0x48b

/* IA32_VMX_BASIC fields */
#define KV_VMX_BASIC_REVISION(v)		((u32)(v) & 0x7fffffff)
#define KV_VMX_BASIC_VMCS_SIZE(v)		((u32)((v) >> 32) & 0x1fff)
#define KV_VMX_BASIC_MEM_TYPE(v)		((u32)((v) >> 50) & 0xf)
#define KV_VMX_BASIC_MEM_TYPE_WB		6
#define KV_VMX_BASIC_TRUE_CTLS		BIT_ULL(55)

/*
 * Control bits.  A capability MSR holds the allowed-0 settings in its low
 * half and the allowed-1 settings in its high half: a control can be set
 * only when its bit is 1 in the high half.
 */
#define KV_VMX_PROC_SECONDARY_CONTROLS	BIT(31)
#define KV_VMX_PROC2_EPT			BIT(1)
#define KV_VMX_PROC2_VPID			BIT(5)
#define KV_VMX_PROC2_UNRESTRICTED_GUEST	BIT(7)

#endif /* KVISOR_VMX_H */
