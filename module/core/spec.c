// SPDX-License-Identifier: GPL-2.0
/*
 * Speculative execution across the world switch, the vendor-neutral half
 * (Documentation/security.rst has the table, mitigation by mitigation).
 *
 * Every mitigation follows the host kernel's own decision, read from the
 * X86_FEATURE_* bits arch/x86/kernel/cpu/bugs.c set at boot, as KVM does:
 * kvisor never does less than the host asks, and nothing on a CPU the
 * host found unaffected.  The backends' run functions turn that into
 * KV_SPEC_* flags (core/spec.h) for their vmenter.S, and count here what
 * was done, per vCPU, for debugfs ("spec") and the selftests.
 *
 * The guest's view: IA32_SPEC_CTRL, IA32_PRED_CMD, IA32_ARCH_CAPABILITIES
 * and (AMD) MSR_AMD64_VIRT_SPEC_CTRL with KVM 6.1's rules; the CPUID bits
 * that announce them are core/cpuid.c's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/spec-ctrl.h>
#include <asm/vmx.h>

#include "core/kvisor.h"
#include "core/spec.h"

/* CPUID bit @feature (X86_FEATURE_*) of leaf @fn in the vCPU's table. */
static bool kvisor_guest_has(struct kvisor_vcpu *vcpu, u32 fn, int reg,
			     unsigned int feature)
{
	const struct kvm_cpuid_entry2 *e = kvisor_vcpu_cpuid_find(vcpu, fn, 0,
								  false);
	u32 v;

	if (!e)
		return false;
	v = reg == CPUID_EBX ? e->ebx : reg == CPUID_ECX ? e->ecx : e->edx;
	return v & BIT(feature & 31);
}

/* KVM's guest_has_spec_ctrl_msr() and guest_has_pred_cmd_msr(). */
static bool kvisor_guest_has_spec_ctrl(struct kvisor_vcpu *vcpu)
{
	return kvisor_guest_has(vcpu, 7, CPUID_EDX, X86_FEATURE_SPEC_CTRL) ||
	       kvisor_guest_has(vcpu, 0x80000008, CPUID_EBX,
				X86_FEATURE_AMD_STIBP) ||
	       kvisor_guest_has(vcpu, 0x80000008, CPUID_EBX,
				X86_FEATURE_AMD_IBRS) ||
	       kvisor_guest_has(vcpu, 0x80000008, CPUID_EBX,
				X86_FEATURE_AMD_SSBD);
}

static bool kvisor_guest_has_pred_cmd(struct kvisor_vcpu *vcpu)
{
	return kvisor_guest_has(vcpu, 7, CPUID_EDX, X86_FEATURE_SPEC_CTRL) ||
	       kvisor_guest_has(vcpu, 0x80000008, CPUID_EBX,
				X86_FEATURE_AMD_IBPB);
}

/*
 * KVM 6.1's kvm_get_arch_capabilities(): the host's bits KVM knows how
 * to virtualize, and the "not affected" bits for every bug the host
 * kernel found absent, so a guest need not mitigate what cannot hit it.
 */
#define KVISOR_ARCH_CAPS \
	(ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_RSBA | \
	 ARCH_CAP_SKIP_VMENTRY_L1DFLUSH | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO | \
	 ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TSX_CTRL_MSR | ARCH_CAP_TAA_NO | \
	 ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO | \
	 ARCH_CAP_FB_CLEAR | ARCH_CAP_RRSBA | ARCH_CAP_PBRSB_NO | \
	 ARCH_CAP_GDS_NO | ARCH_CAP_RFDS_NO | ARCH_CAP_RFDS_CLEAR | \
	 ARCH_CAP_BHI_NO | ARCH_CAP_ITS_NO)

u64 kvisor_arch_capabilities(void)
{
	u64 data = 0;

	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES)) {
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, data);
		data &= KVISOR_ARCH_CAPS;
	}
	/*
	 * kvisor's nested tables never map executable huge pages a guest's
	 * page-size change could make multi-hit: KVM says so unconditionally.
	 */
	data |= ARCH_CAP_PSCHANGE_MC_NO;
	/*
	 * A guest hypervisor need not flush L1D itself before entering its
	 * own guests: kvisor flushes before every entry that may need it,
	 * unless vmentry_l1d_flush is "never" (core/l1d.c).  KVM's rule.
	 */
	if (!kvisor_l1d_flush_never())
		data |= ARCH_CAP_SKIP_VMENTRY_L1DFLUSH;
	if (!boot_cpu_has_bug(X86_BUG_CPU_MELTDOWN))
		data |= ARCH_CAP_RDCL_NO;
	if (!boot_cpu_has_bug(X86_BUG_SPEC_STORE_BYPASS))
		data |= ARCH_CAP_SSB_NO;
	if (!boot_cpu_has_bug(X86_BUG_MDS))
		data |= ARCH_CAP_MDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_RFDS))
		data |= ARCH_CAP_RFDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_ITS))
		data |= ARCH_CAP_ITS_NO;
	/* Without RTM the guest knows there is no TAA; TSX_CTRL stays. */
	if (!boot_cpu_has(X86_FEATURE_RTM))
		data &= ~ARCH_CAP_TAA_NO;
	else if (!boot_cpu_has_bug(X86_BUG_TAA))
		data |= ARCH_CAP_TAA_NO;
	if (!boot_cpu_has_bug(X86_BUG_GDS) || gds_ucode_mitigated())
		data |= ARCH_CAP_GDS_NO;
	return data;
}

/* The host takes IA32_SPEC_CTRL (as KVM's kvm_spec_ctrl_test_value()). */
static bool kvisor_spec_ctrl_valid(u64 val)
{
	unsigned long flags;
	u64 saved;
	bool ok = true;

	local_irq_save(flags);
	if (rdmsrl_safe(MSR_IA32_SPEC_CTRL, &saved) ||
	    wrmsrl_safe(MSR_IA32_SPEC_CTRL, val))
		ok = false;
	else
		wrmsrl(MSR_IA32_SPEC_CTRL, saved);
	local_irq_restore(flags);
	return ok;
}

/* KVM names IA32_SPEC_CTRL for saving where the host can read it. */
bool kvisor_host_has_spec_ctrl(void)
{
	u64 v;

	return !rdmsrl_safe(MSR_IA32_SPEC_CTRL, &v);
}

/*
 * AMD's VIRT_SPEC_CTRL: KVM's SVM keeps the MSR for every vCPU (it lists
 * it and userspace may read and write it), and offers VIRT_SSBD in CPUID,
 * which lets the guest use it, where SSBD can be set.
 */
bool kvisor_has_virt_spec_ctrl(void)
{
	return kvisor_ops == &kvisor_svm_ops;
}

bool kvisor_host_has_virt_ssbd(void)
{
	return kvisor_has_virt_spec_ctrl() &&
	       (boot_cpu_has(X86_FEATURE_LS_CFG_SSBD) ||
		boot_cpu_has(X86_FEATURE_AMD_SSBD));
}

void kvisor_spec_vcpu_init(struct kvisor_vcpu *vcpu)
{
	vcpu->spec.arch_caps = kvisor_arch_capabilities();
}

/*
 * A new MSR filter made the backend decide its intercepts again: the MSRs
 * let through lazily below are decided again too, as far as the filter
 * now allows.  0 or -ENOMEM.
 */
int kvisor_spec_redo_passthrough(struct kvisor_vcpu *vcpu)
{
	int r = 0;

	if (vcpu->spec.ctrl_pass)
		r = kvisor_ops->msr_passthrough(vcpu, MSR_IA32_SPEC_CTRL,
						false);
	if (!r && vcpu->spec.pred_cmd_pass)
		r = kvisor_ops->msr_passthrough(vcpu, MSR_IA32_PRED_CMD, true);
	return r;
}

/*
 * The speculation MSRs, for the guest (@host false) and for userspace.
 * 0, -EINVAL (#GP, or a failed KVM_SET_MSRS entry), or -ENOENT: not one
 * of these.  A guest's first nonzero write of SPEC_CTRL, and its first
 * write of PRED_CMD, stop their interception (KVM's lazy pass-through):
 * a guest that never uses them pays no MSR switch.
 */
int kvisor_spec_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write,
		    bool host)
{
	switch (msr) {
	case MSR_IA32_SPEC_CTRL:
		if (!host && !kvisor_guest_has_spec_ctrl(vcpu))
			return -EINVAL;
		if (!write) {
			*val = vcpu->spec.spec_ctrl;
			return 0;
		}
		if (!kvisor_spec_ctrl_valid(*val))
			return -EINVAL;
		vcpu->spec.spec_ctrl = *val;
		/*
		 * Passed through only where the world switch switches it: an
		 * emulator may answer the MSR without the CPUID bits that
		 * make the kernel set X86_FEATURE_MSR_SPEC_CTRL, and the
		 * guest's value would then stay in the host's MSR.
		 */
		if (*val && !vcpu->spec.ctrl_pass &&
		    cpu_feature_enabled(X86_FEATURE_MSR_SPEC_CTRL) &&
		    !kvisor_ops->msr_passthrough(vcpu, msr, false))
			vcpu->spec.ctrl_pass = true;
		return 0;
	case MSR_IA32_PRED_CMD:
		if (!write)
			return -EINVAL;
		if (!host && !kvisor_guest_has_pred_cmd(vcpu))
			return -EINVAL;
		if ((*val & ~PRED_CMD_IBPB) || !boot_cpu_has(X86_FEATURE_IBPB))
			return -EINVAL;
		if (!*val)
			return 0;
		wrmsrl(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
		vcpu->spec.guest_ibpb++;
		if (!vcpu->spec.pred_cmd_pass &&
		    !kvisor_ops->msr_passthrough(vcpu, msr, true))
			vcpu->spec.pred_cmd_pass = true;
		return 0;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (write) {
			/* Read-only for the guest; userspace sets anything. */
			if (!host)
				return -EINVAL;
			vcpu->spec.arch_caps = *val;
			return 0;
		}
		if (!host && !kvisor_guest_has(vcpu, 7, CPUID_EDX,
					       X86_FEATURE_ARCH_CAPABILITIES))
			return -EINVAL;
		*val = vcpu->spec.arch_caps;
		return 0;
	case MSR_AMD64_VIRT_SPEC_CTRL:
		if (!kvisor_has_virt_spec_ctrl())
			return -EINVAL;
		if (!host && !kvisor_guest_has(vcpu, 0x80000008, CPUID_EBX,
					       X86_FEATURE_VIRT_SSBD))
			return -EINVAL;
		if (!write) {
			*val = vcpu->spec.virt_spec_ctrl;
			return 0;
		}
		if (*val & ~SPEC_CTRL_SSBD)
			return -EINVAL;
		vcpu->spec.virt_spec_ctrl = *val;
		return 0;
	default:
		return -ENOENT;
	}
}

/*
 * The IA32_SPEC_CTRL part of the flags for an entry: switched where the
 * host has the MSR (the kernel's X86_FEATURE_MSR_SPEC_CTRL), read back
 * after the exit once the guest owns it, and the host's value rewritten
 * after every exit where the kernel runs with legacy IBRS, which must be
 * set again after a less privileged mode ran (KVM's
 * vmx_spec_ctrl_restore_host()).
 */
unsigned long kvisor_spec_flags(struct kvisor_vcpu *vcpu)
{
	unsigned long f = 0;

	/*
	 * BHI: the host clears the branch history at VM exit with the
	 * software loop where the CPU has no BHI_DIS_S (bugs.c sets
	 * CLEAR_BHB_LOOP_ON_VMEXIT; only Intel CPUs are affected).
	 */
	if (cpu_feature_enabled(X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT))
		f |= KV_SPEC_BHB;
	if (!cpu_feature_enabled(X86_FEATURE_MSR_SPEC_CTRL))
		return f;
	f |= KV_SPEC_CTRL;
	if (vcpu->spec.ctrl_pass)
		f |= KV_SPEC_CTRL_SAVE;
	if (cpu_feature_enabled(X86_FEATURE_KERNEL_IBRS))
		f |= KV_SPEC_CTRL_ALWAYS;
	return f;
}

/*
 * Right after the exit, interrupts off: count what vmenter.S did for
 * these flags, and arm the host's IBPB before the return to userspace
 * where its VMSCAPE mitigation asks for one after a guest ran (the
 * guest may have trained predictions the VMM would consume), as KVM's
 * vcpu_enter_guest().
 */
void kvisor_spec_exit_irqoff(struct kvisor_vcpu *vcpu, unsigned long flags)
{
	if (flags & KV_SPEC_VERW)
		vcpu->spec.verw++;
	if (flags & KV_SPEC_RSB)
		vcpu->spec.rsb_fill++;
	if (flags & KV_SPEC_RSB_ONE)
		vcpu->spec.rsb_one++;
	if (flags & KV_SPEC_BHB)
		vcpu->spec.bhb_clear++;
	if (flags & KV_SPEC_IBPB_EXIT)
		vcpu->spec.ibpb_exit++;
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
}

/*
 * A new VMCS or VMCB on this CPU: the branch predictors may hold targets
 * another vCPU (of this VM or another) trained, so flush them, as KVM
 * does at every VMCS/VMCB switch, where the host kernel uses IBPB at all
 * (X86_FEATURE_USE_IBPB, what indirect_branch_prediction_barrier()
 * tests).
 */
void kvisor_spec_ibpb(struct kvisor_vcpu *vcpu)
{
	if (!cpu_feature_enabled(X86_FEATURE_USE_IBPB))
		return;
	indirect_branch_prediction_barrier();
	vcpu->spec.ibpb++;
}

/*
 * AMD's speculative store bypass disable through VIRT_SPEC_CTRL or
 * LS_CFG: the host kernel's x86_virt_spec_ctrl() sets the guest's
 * choice for the entry and the host's after it (a no-op where the
 * values agree), as KVM's svm_vcpu_run().
 */
void kvisor_spec_virt_enter(struct kvisor_vcpu *vcpu)
{
	if (kvisor_host_has_virt_ssbd())
		x86_spec_ctrl_set_guest(vcpu->spec.virt_spec_ctrl);
}

void kvisor_spec_virt_exit(struct kvisor_vcpu *vcpu)
{
	if (kvisor_host_has_virt_ssbd())
		x86_spec_ctrl_restore_host(vcpu->spec.virt_spec_ctrl);
}
