// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's FPU, SSE and AVX state, XCR0, IA32_XSS and PKRU:
 * KVM_GET/SET_FPU, KVM_GET/SET_XSAVE, KVM_GET/SET_XCRS, the guest's
 * XSETBV, IA32_XSS, and the switching of XCR0, IA32_XSS and PKRU around
 * each entry.
 *
 * The register contents live in vcpu->guest_fpu, which KVM_RUN swaps
 * with the host's for the time it runs (run.c); XCR0, IA32_XSS and PKRU
 * are not part of that swap and are switched here, with interrupts off.
 */
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/special_insns.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"

/*
 * KVM_GET/SET_FPU use the legacy FXSAVE layout.  The guest state is kept in
 * whatever format the host uses (usually XSAVE), so go through the
 * kernel's converters to the portable XSAVE layout, whose first 512 bytes
 * are the FXSAVE image.
 */
int kvisor_fpu_access(struct kvisor_vcpu *vcpu, struct kvm_fpu *fpu,
		      bool set)
{
	struct fxregs_state *fx;
	u32 pkru = 0;
	int r = 0;

	fx = kzalloc(sizeof(struct kvm_xsave), GFP_KERNEL);
	if (!fx)
		return -ENOMEM;
	fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, fx,
				       sizeof(struct kvm_xsave),
				       vcpu->guest_fpu.fpstate->user_xfeatures,
				       pkru);
	if (set) {
		struct xstate_header *hdr = (void *)(fx + 1);

		memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
		fx->cwd = fpu->fcw;
		fx->swd = fpu->fsw;
		fx->twd = fpu->ftwx;
		fx->fop = fpu->last_opcode;
		fx->rip = fpu->last_ip;
		fx->rdp = fpu->last_dp;
		memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
		fx->mxcsr = fpu->mxcsr;
		/* x87 and SSE state are now given, not in their init state. */
		hdr->xfeatures |= XFEATURE_MASK_FPSSE;
		r = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, fx,
						   vcpu->guest_fpu.fpstate->user_xfeatures,
						   &pkru);
	} else {
		memset(fpu, 0, sizeof(*fpu));
		memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
		fpu->fcw = fx->cwd;
		fpu->fsw = fx->swd;
		fpu->ftwx = fx->twd;
		fpu->last_opcode = fx->fop;
		fpu->last_ip = fx->rip;
		fpu->last_dp = fx->rdp;
		memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
		fpu->mxcsr = fx->mxcsr;
	}
	kfree(fx);
	return r;
}

/*
 * KVM_GET/SET_XSAVE: the whole state in the portable XSAVE layout.  Get
 * gives only the states a guest can have, so that the image loads on any
 * host kvisor runs on; set also takes PKRU, which kvisor keeps for the
 * guest in vcpu->pkru.
 */
void kvisor_get_xsave(struct kvisor_vcpu *vcpu, struct kvm_xsave *xs)
{
	u64 mask = vcpu->guest_fpu.fpstate->user_xfeatures & KVISOR_GUEST_XCR0;

	fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, xs->region,
				       sizeof(xs->region), mask, vcpu->pkru);
}

int kvisor_set_xsave(struct kvisor_vcpu *vcpu, struct kvm_xsave *xs)
{
	u64 mask = vcpu->guest_fpu.fpstate->user_xfeatures &
		   (KVISOR_GUEST_XCR0 | XFEATURE_MASK_PKRU);

	return fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, xs->region,
					      mask, &vcpu->pkru);
}

/* KVM_GET/SET_XCRS: XCR0 is the only XCR. */
void kvisor_get_xcrs(struct kvisor_vcpu *vcpu, struct kvm_xcrs *xcrs)
{
	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return;
	xcrs->nr_xcrs = 1;
	xcrs->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	xcrs->xcrs[0].value = vcpu->xcr0;
}

int kvisor_set_xcrs(struct kvisor_vcpu *vcpu, struct kvm_xcrs *xcrs)
{
	u32 i;

	if (!boot_cpu_has(X86_FEATURE_XSAVE) ||
	    xcrs->nr_xcrs > KVM_MAX_XCRS || xcrs->flags)
		return -EINVAL;
	/* As in KVM, entries for other XCRs are ignored. */
	for (i = 0; i < xcrs->nr_xcrs; i++) {
		if (xcrs->xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (!kvisor_xcr0_valid(xcrs->xcrs[i].value))
			return -EINVAL;
		vcpu->xcr0 = xcrs->xcrs[i].value;
		break;
	}
	return 0;
}

static u64 kvisor_host_xcr0(void)
{
	return boot_cpu_has(X86_FEATURE_XSAVE) ?
	       xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;
}

/*
 * An XCR0 value a guest may hold, shared by XSETBV and KVM_SET_XCRS: x87
 * always on; AVX needs SSE; only the states kvisor offers
 * (KVISOR_GUEST_XCR0) and the host has.
 */
bool kvisor_xcr0_valid(u64 val)
{
	return (val & XFEATURE_MASK_FP) &&
	       (!(val & XFEATURE_MASK_YMM) || (val & XFEATURE_MASK_SSE)) &&
	       !(val & ~(kvisor_host_xcr0() & KVISOR_GUEST_XCR0));
}

/* XSETBV: kept in vcpu->xcr0, switched in around entry. */
int kvisor_handle_xsetbv(struct kvisor_vcpu *vcpu, unsigned int len)
{
	u64 val = (vcpu->regs[EMU_RDX] << 32) | (u32)vcpu->regs[EMU_RAX];

	/* Only XCR0 exists. */
	if ((u32)vcpu->regs[EMU_RCX] || !kvisor_xcr0_valid(val)) {
		kvisor_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	vcpu->xcr0 = val;
	kvisor_skip_insn(vcpu, len);
	return 1;
}

/*
 * IA32_XSS selects the supervisor states XSAVES and XRSTORS save and
 * load.  kvisor virtualizes none of them (nor does KVM in 6.1), so the
 * guest's IA32_XSS is always 0: userspace and a guest whose CPUID offers
 * XSAVES may read it and write 0, nothing else ("Extended Supervisor
 * State" in the SDM's XSAVE chapter).  The host kernel may use some (its
 * value, kept here per CPU); where it does, the MSR holds 0 while a
 * guest with CR4.OSXSAVE runs, which XSAVES needs: the guest would
 * otherwise save the host's supervisor state and load its own into it.
 * On AMD a guest can run XSAVES whatever its CPUID says, so this is
 * needed even where kvisor does not offer XSAVES.
 */
static DEFINE_PER_CPU(u64, kvisor_host_xss);

/* As kvisor enables virtualization on a CPU. */
void kvisor_xss_cpu_init(void)
{
	if (boot_cpu_has(X86_FEATURE_XSAVES))
		rdmsrl(MSR_IA32_XSS, *this_cpu_ptr(&kvisor_host_xss));
}

bool kvisor_guest_has_xsaves(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;

	e = kvisor_vcpu_cpuid_find(vcpu, 0xd, 1, false);
	return e && (e->eax & BIT(X86_FEATURE_XSAVES & 31));
}

/*
 * IA32_XSS for KVM_GET/SET_MSRS and, once msrs.c checked the guest's
 * CPUID, for the guest's RDMSR and WRMSR; -ENOENT for any other MSR.
 */
int kvisor_xss_msr(u32 msr, u64 *val, bool write)
{
	if (msr != MSR_IA32_XSS)
		return -ENOENT;
	if (write)
		return *val ? -EINVAL : 0;
	*val = 0;
	return 0;
}

/*
 * Around entry, interrupts off: a guest with CR4.OSXSAVE runs with its
 * own XCR0 and IA32_XSS.  Returns the host's XCR0 (0 without XSAVE).
 */
u64 kvisor_xcr0_enter(struct kvisor_vcpu *vcpu, u64 guest_cr4)
{
	u64 host = kvisor_host_xcr0();

	vcpu->xss_loaded = false;
	if ((guest_cr4 & X86_CR4_OSXSAVE) && host) {
		if (vcpu->xcr0 != host)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
		if (this_cpu_read(kvisor_host_xss)) {
			wrmsrl(MSR_IA32_XSS, 0);
			vcpu->xss_loaded = true;
		}
	}
	/*
	 * PKRU likewise: a guest can turn on CR4.PKE and write PKRU without
	 * an exit, and the host's kernel accesses to user memory obey it.
	 */
	if (boot_cpu_has(X86_FEATURE_OSPKE)) {
		vcpu->host_pkru = rdpkru();
		if ((guest_cr4 & X86_CR4_PKE) && vcpu->pkru != vcpu->host_pkru)
			wrpkru(vcpu->pkru);
	}
	return host;
}

/*
 * After the exit, interrupts still off: whatever XCR0 the guest left in
 * the CPU is its own, and the host's goes back.  Checked, not assumed:
 * an XSETBV that did not exit (QEMU's SVM does not intercept it) changes
 * the CPU's XCR0 behind kvisor's back, and host code using AVX would
 * then fault.
 */
void kvisor_xcr0_exit(struct kvisor_vcpu *vcpu, u64 host_xcr0)
{
	u64 cur;

	if (boot_cpu_has(X86_FEATURE_OSPKE)) {
		u32 pkru = rdpkru();

		if (pkru != vcpu->host_pkru) {
			vcpu->pkru = pkru;
			wrpkru(vcpu->host_pkru);
		}
	}

	if (vcpu->xss_loaded)
		wrmsrl(MSR_IA32_XSS, this_cpu_read(kvisor_host_xss));
	if (!host_xcr0)
		return;
	cur = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (cur != host_xcr0) {
		vcpu->xcr0 = cur;
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
	}
}
