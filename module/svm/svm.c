// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <asm/processor.h>
#include <asm/msr.h>

#include "../kvisor.h"
#include "svm.h"

/*
 * SVM features that change how kvisor runs a guest.  QEMU's software
 * emulation offers NPT without NRIPS or decode assists, so their absence
 * must be, and is, handled: they are reported, not required.
 */
static const struct {
	u32 bit;
	const char *name;
} svm_feature_names[] = {
	{ KV_SVM_FEATURE_NPT,		"npt" },
	{ KV_SVM_FEATURE_NRIPS,		"nrips" },
	{ KV_SVM_FEATURE_VMCB_CLEAN,	"vmcb-clean" },
	{ KV_SVM_FEATURE_FLUSH_ASID,	"flush-by-asid" },
	{ KV_SVM_FEATURE_DECODE_ASSISTS,	"decode-assists" },
	{ KV_SVM_FEATURE_VGIF,		"vgif" },
};

static void svm_describe(struct kvisor_cpu_caps *caps, u32 features,
			 u32 nr_asids)
{
	int i, n;

	n = scnprintf(caps->features, sizeof(caps->features), "asids %u",
		      nr_asids);
	for (i = 0; i < ARRAY_SIZE(svm_feature_names); i++) {
		if (features & svm_feature_names[i].bit)
			n += scnprintf(caps->features + n,
				       sizeof(caps->features) - n, " %s",
				       svm_feature_names[i].name);
	}
}

static int svm_probe(struct kvisor_cpu_caps *caps, const char **why)
{
	u32 eax, ebx, ecx, edx;
	u64 vm_cr;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_AMD &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_HYGON)
		return -ENODEV;
	if (cpuid_eax(0x80000000) < KV_SVM_CPUID_LEAF ||
	    !(cpuid_ecx(0x80000001) & KV_SVM_CPUID_SVM))
		return -ENODEV;

	caps->vendor = "AMD SVM";

	/* Firmware can switch SVM off and lock it so; nothing undoes that. */
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & KV_SVM_VM_CR_SVMDIS) {
		*why = "disabled by the BIOS (VM_CR.SVMDIS is set)";
		return -EOPNOTSUPP;
	}

	cpuid(KV_SVM_CPUID_LEAF, &eax, &ebx, &ecx, &edx);
	svm_describe(caps, edx, ebx);

	/* Without nested paging kvisor would need shadow page tables. */
	if (!(edx & KV_SVM_FEATURE_NPT)) {
		*why = "no nested paging (NPT), which kvisor requires";
		return -EOPNOTSUPP;
	}
	caps->tdp = true;
	return 0;
}

static bool svm_cpu_in_use(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	return efer & EFER_SVME;
}

const struct kvisor_vendor_ops kvisor_svm_ops = {
	.name		= "svm",
	.probe		= svm_probe,
	.cpu_in_use	= svm_cpu_in_use,
};
