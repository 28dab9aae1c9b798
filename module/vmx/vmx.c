// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <asm/processor.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/special_insns.h>

#include "../kvisor.h"
#include "vmx.h"

/* The allowed-1 half of a VMX control capability MSR. */
static u32 vmx_allowed1(u32 msr)
{
	u64 v;

	rdmsrl(msr, v);
	return v >> 32;
}

/*
 * IA32_FEATURE_CONTROL is the firmware's say on VMX.  It is checked, never
 * changed: once locked it cannot be, and an unlocked one means the kernel
 * deliberately left VMX alone.
 */
static int vmx_check_feature_control(const char **why)
{
	u64 fc;

	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if (!(fc & KV_VMX_FEATURE_CONTROL_LOCKED)) {
		*why = "IA32_FEATURE_CONTROL is not locked (kvisor does not change it)";
		return -EOPNOTSUPP;
	}
	if (!(fc & KV_VMX_FEATURE_CONTROL_OUTSIDE_SMX)) {
		*why = "disabled by the BIOS (IA32_FEATURE_CONTROL locked without VMX)";
		return -EOPNOTSUPP;
	}
	return 0;
}

/* EPT, VPID and unrestricted guest are what kvisor's VMX design assumes. */
static int vmx_check_secondary(struct kvisor_cpu_caps *caps, const char **why)
{
	u32 proc2;

	if (!(vmx_allowed1(KV_MSR_VMX_PROCBASED_CTLS) &
	      KV_VMX_PROC_SECONDARY_CONTROLS)) {
		*why = "no secondary processor-based controls (so no EPT)";
		return -EOPNOTSUPP;
	}
	proc2 = vmx_allowed1(KV_MSR_VMX_PROCBASED_CTLS2);
	if (!(proc2 & KV_VMX_PROC2_EPT)) {
		*why = "no EPT, which kvisor requires";
		return -EOPNOTSUPP;
	}
	if (!(proc2 & KV_VMX_PROC2_VPID)) {
		*why = "no VPID, which kvisor requires";
		return -EOPNOTSUPP;
	}
	if (!(proc2 & KV_VMX_PROC2_UNRESTRICTED_GUEST)) {
		*why = "no unrestricted guest (real mode), which kvisor requires";
		return -EOPNOTSUPP;
	}
	caps->tdp = true;
	return 0;
}

static int vmx_probe(struct kvisor_cpu_caps *caps, const char **why)
{
	u64 basic;
	int r;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_INTEL &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_CENTAUR &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_ZHAOXIN)
		return -ENODEV;
	if (!(cpuid_ecx(1) & KV_VMX_CPUID_VMX))
		return -ENODEV;

	caps->vendor = "Intel VMX";
	r = vmx_check_feature_control(why);
	if (r)
		return r;

	rdmsrl(KV_MSR_VMX_BASIC, basic);
	if (KV_VMX_BASIC_MEM_TYPE(basic) != KV_VMX_BASIC_MEM_TYPE_WB) {
		*why = "VMCS memory type is not write-back";
		return -EOPNOTSUPP;
	}
	scnprintf(caps->features, sizeof(caps->features),
		  "vmcs revision %#x size %u%s, ept vpid unrestricted-guest",
		  KV_VMX_BASIC_REVISION(basic), KV_VMX_BASIC_VMCS_SIZE(basic),
		  basic & KV_VMX_BASIC_TRUE_CTLS ? ", true controls" : "");
	return vmx_check_secondary(caps, why);
}

static bool vmx_cpu_in_use(void)
{
	return __read_cr4() & X86_CR4_VMXE;
}

const struct kvisor_vendor_ops kvisor_vmx_ops = {
	.name		= "vmx",
	.probe		= vmx_probe,
	.cpu_in_use	= vmx_cpu_in_use,
};
