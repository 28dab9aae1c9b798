// SPDX-License-Identifier: GPL-2.0
/*
 * Every MSR kvisor emulates, in one place: the guest's RDMSR and WRMSR
 * (kvisor_handle_msr()), the MSR ioctls (KVM_GET_MSR_INDEX_LIST names the
 * MSRs userspace can save and restore, KVM_GET_MSRS / KVM_SET_MSRS move
 * their values), and the feature MSRs on /dev/kvm.  Both paths reach the
 * same kvisor_get_msr() / kvisor_set_msr(), so what userspace sees is
 * what the guest sees.  The LAPIC's MSRs are irq/lapic.c's, kvmclock's
 * kvmclock.c's, the machine-check banks mce.c's, and the ones the
 * hardware switches (EFER, PAT, the TSC offset, FS/GS bases, SYSCALL and
 * SYSENTER) the backend's.  The MSR filter and the exits that take a
 * failed access to userspace are msr_filter.c's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/mtrr.h>
#include <asm/page.h>
#include <asm/processor.h>
#include <asm/kvm_para.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"
#include "core/trace.h"

/* MTRRs and IA32_MISC_ENABLE --------------------------------------------- */

/*
 * The guest's MTRRs are only kept, not applied: nested paging maps guest
 * RAM write-back whatever they say, as KVM does without assigned devices.
 * They exist so that a guest programming them, and a VMM saving them,
 * find what CPUID.1:EDX.MTRR promises.  8 variable ranges, fixed ranges
 * and write-combining, as KVM reports.
 */
#define KVISOR_MTRRCAP		(BIT(10) | BIT(8) | KVISOR_NR_VAR_MTRR)

static bool kvisor_memtype_valid(u8 t)
{
	return t < 8 && t != 2 && t != 3;
}

/* The index into vcpu->mtrr.fixed of a fixed-range MTRR, or -1. */
static int kvisor_mtrr_fixed(u32 msr)
{
	switch (msr) {
	case MSR_MTRRfix64K_00000:
		return 0;
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
		return 1 + msr - MSR_MTRRfix16K_80000;
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return 3 + msr - MSR_MTRRfix4K_C0000;
	default:
		return -1;
	}
}

/* KVM's rules: memory types that exist, reserved bits clear. */
static bool kvisor_mtrr_valid(u32 msr, u64 val)
{
	u64 rsvd = GENMASK_ULL(63, boot_cpu_data.x86_phys_bits);
	int i;

	if (msr == MSR_MTRRdefType)
		return !(val & ~0xcffULL) && kvisor_memtype_valid(val & 0xff);
	if (kvisor_mtrr_fixed(msr) >= 0) {
		for (i = 0; i < 8; i++)
			if (!kvisor_memtype_valid(val >> (i * 8)))
				return false;
		return true;
	}
	/* Variable ranges: base (even) with a type, mask (odd) with V. */
	if (!(msr & 1))
		return kvisor_memtype_valid(val & 0xff) && !(val & (rsvd | 0xf00));
	return !(val & (rsvd | 0x7ff));
}

/* 0, -EINVAL (#GP for the guest), or -ENOENT: not one of these MSRs. */
static int kvisor_mtrr_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write)
{
	u64 *reg;
	int i;

	if (msr == MSR_MTRRcap) {
		if (write)
			return -EINVAL;
		*val = KVISOR_MTRRCAP;
		return 0;
	}
	i = kvisor_mtrr_fixed(msr);
	if (msr == MSR_MTRRdefType)
		reg = &vcpu->mtrr.def_type;
	else if (i >= 0)
		reg = &vcpu->mtrr.fixed[i];
	else if (msr >= MTRRphysBase_MSR(0) &&
		 msr < MTRRphysBase_MSR(KVISOR_NR_VAR_MTRR))
		reg = &vcpu->mtrr.var[msr - MTRRphysBase_MSR(0)];
	else
		return -ENOENT;
	if (!write) {
		*val = *reg;
		return 0;
	}
	if (!kvisor_mtrr_valid(msr, *val))
		return -EINVAL;
	*reg = *val;
	return 0;
}

/*
 * IA32_MISC_ENABLE as KVM keeps it: the "PEBS/BTS unavailable" bits are
 * read-only for the guest (a change is #GP), the EMON bit ignores its
 * writes; userspace sets anything else.
 */
static int kvisor_misc_enable_set(struct kvisor_vcpu *vcpu, u64 val, bool host)
{
	u64 ro = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
		 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;

	struct kvm_cpuid_entry2 *e;

	if (!host) {
		if ((vcpu->misc_enable ^ val) & ro)
			return -EINVAL;
		val = (val & ~MSR_IA32_MISC_ENABLE_EMON) |
		      (vcpu->misc_enable & MSR_IA32_MISC_ENABLE_EMON);
	}
	/*
	 * With KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT disabled, the MWAIT bit is
	 * CPUID.1:ECX.MONITOR (cpuid.c), which KVM lets change only where
	 * the CPU has SSE3, for the guest and userspace alike.
	 */
	if (!kvisor_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) &&
	    ((vcpu->misc_enable ^ val) & MSR_IA32_MISC_ENABLE_MWAIT)) {
		e = kvisor_vcpu_cpuid_find(vcpu, 1, 0, true);
		if (!e || !(e->ecx & BIT(X86_FEATURE_XMM3 & 31)))
			return -EINVAL;
	}
	vcpu->misc_enable = val;
	return 0;
}

/* KVM's limit on the entries of one KVM_GET/SET_MSRS call. */
#define KVISOR_MAX_IO_MSRS	4096

static const u32 kvisor_msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_EFER, MSR_FS_BASE, MSR_GS_BASE,
	MSR_IA32_APICBASE, MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_DEADLINE,
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME_NEW,
	MSR_KVM_WALL_CLOCK_NEW, MSR_IA32_UCODE_REV, MSR_PLATFORM_INFO,
	MSR_IA32_MISC_ENABLE, MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL,
	MSR_IA32_POWER_CTL, MSR_KVM_POLL_CONTROL, MSR_KVM_PV_EOI_EN,
	MSR_KVM_STEAL_TIME, MSR_K7_HWCR, MSR_MISC_FEATURES_ENABLES,
};

/*
 * Feature MSRs: what the host's CPU is, for userspace to choose the
 * guest's values from (KVM_GET_MSR_FEATURE_INDEX_LIST, then KVM_GET_MSRS
 * on /dev/kvm).  Of KVM's, IA32_ARCH_CAPABILITIES (KVM's policy,
 * core/spec.c), the microcode revision, and the PMU's capabilities,
 * which are none.
 */
static const u32 kvisor_feature_msrs[] = {
	MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_UCODE_REV,
	MSR_IA32_PERF_CAPABILITIES,
};

/* RDMSR and WRMSR ------------------------------------------------------ */

/*
 * The MSRs kvisor models.  EFER, PAT and the TSC offset live in the
 * VMCB/VMCS and belong to the backend; the SYSCALL and SYSENTER MSRs and
 * FS/GS bases are not intercepted unless the MSR filter says so (the
 * backend reads and writes them for KVM_GET/SET_MSRS); anything else
 * raises #GP, as KVM does by default, or exits to userspace
 * (KVM_CAP_X86_USER_SPACE_MSR, msr_filter.c).
 */
/*
 * IA32_TSC_AUX exists where the host has RDTSCP or RDPID; the guest may
 * touch it only if its CPUID offers one of them (KVM's rule).  The value
 * is the guest's own, and RDTSCP and RDPID read the hardware MSR with no
 * exit (RDPID has no intercept at all), so the backends load the guest's
 * value for the entry only and put the host's back (the CPU number, which
 * getcpu() reads) before interrupts are on again.
 */
bool kvisor_host_has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) ||
	       boot_cpu_has(X86_FEATURE_RDPID);
}

/* This CPU's own IA32_TSC_AUX, as the kernel set it (setup_getcpu()). */
static DEFINE_PER_CPU(u64, kvisor_host_tsc_aux);

/* As kvisor enables virtualization on a CPU. */
void kvisor_tsc_aux_cpu_init(void)
{
	if (kvisor_caps.tsc_aux)
		rdmsrl(MSR_TSC_AUX, *this_cpu_ptr(&kvisor_host_tsc_aux));
}

/*
 * Just before an entry, interrupts off: the guest's value in the MSR.
 * Two WRMSRs per entry, and only where the values differ.  Returns
 * whether it switched, for kvisor_tsc_aux_exit_irqoff() after the exit.
 */
bool kvisor_tsc_aux_enter_irqoff(struct kvisor_vcpu *vcpu)
{
	if (!kvisor_caps.tsc_aux ||
	    vcpu->tsc_aux == this_cpu_read(kvisor_host_tsc_aux))
		return false;
	wrmsrl(MSR_TSC_AUX, vcpu->tsc_aux);
	return true;
}

void kvisor_tsc_aux_exit_irqoff(bool switched)
{
	if (switched)
		wrmsrl(MSR_TSC_AUX, this_cpu_read(kvisor_host_tsc_aux));
}

bool kvisor_guest_has_tsc_aux(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;

	e = kvisor_vcpu_cpuid_find(vcpu, 0x80000001, 0, false);
	if (e && (e->edx & BIT(X86_FEATURE_RDTSCP & 31)))
		return true;
	e = kvisor_vcpu_cpuid_find(vcpu, 7, 0, false);
	return e && (e->ecx & BIT(X86_FEATURE_RDPID & 31));
}

/*
 * As KVM: bits 63:32 are reserved on Intel and ignored (read as zero) on
 * AMD, so a guest whose CPUID says Intel gets #GP for them and any other
 * has them dropped, whichever CPU runs it.
 */
static int kvisor_set_tsc_aux(struct kvisor_vcpu *vcpu, u64 val)
{
	if (!kvisor_host_has_tsc_aux())
		return -EINVAL;
	if ((val >> 32) && kvisor_guest_cpuid_is_intel(vcpu))
		return -EINVAL;
	vcpu->tsc_aux = val;
	return 0;
}

/*
 * The performance counters every AMD64 CPU has without a CPUID bit (K7's
 * four) and Intel's two architectural P6 ones: kvisor has no vPMU, and
 * as KVM without one it reads them as 0 and ignores writes, so guests
 * that probe them (Linux's perfctr watchdog, other kernels' NMI
 * watchdogs) do not take a #GP for it.
 */
static bool kvisor_legacy_perf_msr(u32 msr)
{
	return (msr >= MSR_K7_EVNTSEL0 && msr <= MSR_K7_PERFCTR3) ||
	       msr == MSR_P6_PERFCTR0 || msr == MSR_P6_PERFCTR1 ||
	       msr == MSR_P6_EVNTSEL0 || msr == MSR_P6_EVNTSEL1;
}

/*
 * Registers a guest touches with no CPUID bit to ask first, answered as
 * KVM's kvm_get_msr_common() and kvm_set_msr_common() answer them on
 * both vendors: firmware and older kernels read them unconditionally
 * (OVMF's PEI phase reads IA32_PLATFORM_ID on any Intel CPU, and a #GP
 * there ends the boot in its exception handler).  Each reads as a fixed
 * value; KVISOR_FIXED_DROP ones take any write and drop it, _WO ones
 * are write-only (a read is #GP), the rest refuse writes.
 */
enum { KVISOR_FIXED_RO, KVISOR_FIXED_DROP, KVISOR_FIXED_WO };

static const struct {
	u32 msr;
	u8 kind;
	u64 val;
} kvisor_fixed_msrs[] = {
	{ MSR_IA32_PLATFORM_ID, KVISOR_FIXED_RO, 0 },
	{ MSR_IA32_EBL_CR_POWERON, KVISOR_FIXED_RO, 0 },
	/* Core-to-bus ratio 1: a guest dividing by it must not divide by 0. */
	{ MSR_EBC_FREQUENCY_ID, KVISOR_FIXED_RO, 1 << 24 },
	{ MSR_SMI_COUNT, KVISOR_FIXED_RO, 0 },		/* no SMM, no SMIs */
	{ MSR_IA32_UCODE_WRITE, KVISOR_FIXED_WO, 0 },
	{ 0xcd, KVISOR_FIXED_RO, 3 },			/* FSB frequency */
	/* L2 cache control 3, "configured", as KVM makes it up */
	{ MSR_IA32_BBL_CR_CTL3, KVISOR_FIXED_DROP, 0xbe702111 },
	{ MSR_IA32_PERF_STATUS, KVISOR_FIXED_RO, (4ULL << 40) | 1000 },
	{ MSR_IA32_PERF_CTL, KVISOR_FIXED_RO, 0 },
	/* No LBR virtualization: the last branch and interrupt records */
	{ MSR_IA32_LASTBRANCHFROMIP, KVISOR_FIXED_RO, 0 },
	{ MSR_IA32_LASTBRANCHTOIP, KVISOR_FIXED_RO, 0 },
	{ MSR_IA32_LASTINTFROMIP, KVISOR_FIXED_RO, 0 },
	{ MSR_IA32_LASTINTTOIP, KVISOR_FIXED_RO, 0 },
	/* RAPL: 0 rather than the host's energy counters */
	{ MSR_RAPL_POWER_UNIT, KVISOR_FIXED_RO, 0 },
	{ MSR_PKG_ENERGY_STATUS, KVISOR_FIXED_RO, 0 },
	{ MSR_DRAM_ENERGY_STATUS, KVISOR_FIXED_RO, 0 },
	{ MSR_PP0_ENERGY_STATUS, KVISOR_FIXED_RO, 0 },
	{ MSR_PP1_ENERGY_STATUS, KVISOR_FIXED_RO, 0 },
	{ MSR_AMD64_SYSCFG, KVISOR_FIXED_RO, 0 },
	/* K7 clock control: the ramp-up count AMD's guests expect */
	{ MSR_K7_CLK_CTL, KVISOR_FIXED_DROP, 0x20000000 },
	{ MSR_AMD64_NB_CFG, KVISOR_FIXED_DROP, 0 },
	{ MSR_AMD64_PATCH_LOADER, KVISOR_FIXED_WO, 0 },
	{ MSR_K8_INT_PENDING_MSG, KVISOR_FIXED_RO, 0 },
	{ MSR_K8_TSEG_ADDR, KVISOR_FIXED_RO, 0 },
	{ MSR_K8_TSEG_MASK, KVISOR_FIXED_RO, 0 },
	/* No nested SVM: the host save area's address is dropped */
	{ MSR_VM_HSAVE_PA, KVISOR_FIXED_DROP, 0 },
	{ MSR_AMD64_DC_CFG, KVISOR_FIXED_DROP, 0 },
	{ MSR_AMD64_TW_CFG, KVISOR_FIXED_DROP, 0 },
	{ MSR_AMD64_BU_CFG2, KVISOR_FIXED_DROP, 0 },
	{ MSR_F15H_EX_CFG, KVISOR_FIXED_DROP, 0 },
};

/*
 * The fixed ones above, the legacy performance counters, HWCR (only
 * McStatusWrEn kept; the flush-filter, IGNNE and TLB-cache bits ignored,
 * any other refused), AMD's MMIO configuration base and
 * MISC_FEATURES_ENABLES (0 only: CPUID faulting, its bit 0, is not
 * offered).  -ENOENT for any other MSR.
 */
static int kvisor_fixed_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val,
			    bool write)
{
	unsigned int i;
	u64 hwcr;

	if (kvisor_legacy_perf_msr(msr)) {
		if (!write)
			*val = 0;
		return 0;
	}
	switch (msr) {
	case MSR_K7_HWCR:
		if (!write) {
			*val = vcpu->hwcr;
			return 0;
		}
		hwcr = *val & ~(BIT_ULL(3) | BIT_ULL(6) | BIT_ULL(8));
		if (hwcr && hwcr != KVISOR_HWCR_MCSTATUSWREN)
			return -EINVAL;
		vcpu->hwcr = hwcr;
		return 0;
	case MSR_FAM10H_MMIO_CONF_BASE:
	case MSR_MISC_FEATURES_ENABLES:
		if (write)
			return *val ? -EINVAL : 0;
		*val = 0;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(kvisor_fixed_msrs); i++) {
		if (kvisor_fixed_msrs[i].msr != msr)
			continue;
		if (write)
			return kvisor_fixed_msrs[i].kind == KVISOR_FIXED_RO ?
			       -EINVAL : 0;
		if (kvisor_fixed_msrs[i].kind == KVISOR_FIXED_WO)
			return -EINVAL;
		*val = kvisor_fixed_msrs[i].val;
		return 0;
	}
	return -ENOENT;
}

int kvisor_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	int r;

	if (vcpu->apic) {
		r = kvisor_lapic_get_msr(vcpu, msr, val);
		if (r != -ENOENT)
			return r;
	}
	r = kvisor_kvmclock_get_msr(vcpu, msr, val);
	if (r != -ENOENT)
		return r;
	r = kvisor_mtrr_msr(vcpu, msr, val, false);
	if (r != -ENOENT)
		return r;
	/* As userspace reads them: kvisor_handle_msr() asks for the guest. */
	r = kvisor_mce_msr(vcpu, msr, val, false, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_spec_msr(vcpu, msr, val, false, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_xss_msr(msr, val, false);
	if (r != -ENOENT)
		return r;
	r = kvisor_steal_msr(vcpu, msr, val, false);
	if (r != -ENOENT)
		return r;
	r = kvisor_fixed_msr(vcpu, msr, val, false);
	if (r != -ENOENT)
		return r;
	switch (msr) {
	case MSR_IA32_APICBASE:
		*val = vcpu->apic_base;
		return 0;
	case MSR_IA32_TSC:
		*val = kvisor_guest_tsc(vcpu);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*val = vcpu->tsc_adjust;
		return 0;
	case MSR_TSC_AUX:
		if (!kvisor_host_has_tsc_aux())
			return -EINVAL;
		*val = vcpu->tsc_aux;
		return 0;
	case MSR_IA32_UCODE_REV:
		*val = vcpu->ucode_rev;
		return 0;
	case MSR_PLATFORM_INFO:
		/* KVM_CAP_MSR_PLATFORM_INFO can make it fault for the guest. */
		*val = vcpu->platform_info;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*val = vcpu->misc_enable;
		return 0;
	case MSR_IA32_POWER_CTL:
		*val = vcpu->power_ctl;
		return 0;
	case MSR_KVM_POLL_CONTROL:
		if (!kvisor_pv_has(vcpu, KVM_FEATURE_POLL_CONTROL))
			return -EINVAL;
		*val = vcpu->poll_control;
		return 0;
	case MSR_KVM_PV_EOI_EN:
		return kvisor_pv_eoi_get_msr(vcpu, val);
	case MSR_IA32_TSC_DEADLINE:
		/* Without an in-kernel LAPIC (which answers first): none. */
		*val = 0;
		return 0;
	default:
		return kvisor_ops->get_msr(vcpu, msr, val);
	}
}

/* Each PAT entry must name a memory type: 0, 1, 4, 5, 6 or 7. */
static bool kvisor_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

int kvisor_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	int r;

	if (vcpu->apic) {
		r = kvisor_lapic_set_msr(vcpu, msr, val, false);
		if (r != -ENOENT)
			return r;
	}
	/* An invalid PAT would make VM entry fail, not raise the #GP due. */
	if (msr == MSR_IA32_CR_PAT && !kvisor_pat_valid(val))
		return -EINVAL;
	if (msr == MSR_IA32_TSC || msr == MSR_IA32_TSC_ADJUST)
		return kvisor_set_tsc_msr(vcpu, msr, val, false);
	if (msr == MSR_TSC_AUX)
		return kvisor_set_tsc_aux(vcpu, val);
	/* Guests write 0 here before CPUID to read the revision: ignored. */
	if (msr == MSR_IA32_UCODE_REV)
		return 0;
	/* Read-only for the guest; only userspace sets it. */
	if (msr == MSR_PLATFORM_INFO)
		return -EINVAL;
	if (msr == MSR_IA32_MISC_ENABLE)
		return kvisor_misc_enable_set(vcpu, val, false);
	/* Kept and read back, any value, as KVM does: nothing to power. */
	if (msr == MSR_IA32_POWER_CTL) {
		vcpu->power_ctl = val;
		return 0;
	}
	/*
	 * The guest's say on halt polling (KVM_FEATURE_POLL_CONTROL): bit 0
	 * clear, a halt sleeps at once (core/halt.c).  No other bit exists.
	 */
	if (msr == MSR_KVM_POLL_CONTROL) {
		if (!kvisor_pv_has(vcpu, KVM_FEATURE_POLL_CONTROL) ||
		    (val & ~1ULL))
			return -EINVAL;
		vcpu->poll_control = val;
		return 0;
	}
	if (msr == MSR_KVM_PV_EOI_EN)
		return kvisor_pv_eoi_set_msr(vcpu, val);
	r = kvisor_mtrr_msr(vcpu, msr, &val, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_mce_msr(vcpu, msr, &val, true, false);
	if (r != -ENOENT)
		return r;
	r = kvisor_spec_msr(vcpu, msr, &val, true, false);
	if (r != -ENOENT)
		return r;
	r = kvisor_xss_msr(msr, &val, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_kvmclock_set_msr(vcpu, msr, val);
	if (r != -ENOENT)
		return r;
	r = kvisor_steal_msr(vcpu, msr, &val, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_fixed_msr(vcpu, msr, &val, true);
	if (r != -ENOENT)
		return r;
	return kvisor_ops->set_msr(vcpu, msr, val);
}

/* The guest's RDMSR: what KVM_GET_MSRS reads, with the guest's checks. */
static int kvisor_guest_rdmsr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	int r;

	if (msr == MSR_TSC_AUX && !kvisor_guest_has_tsc_aux(vcpu))
		return -EINVAL;
	if (msr == MSR_IA32_XSS && !kvisor_guest_has_xsaves(vcpu))
		return -EINVAL;
	if (msr == MSR_PLATFORM_INFO &&
	    !READ_ONCE(vcpu->vm->platform_info_readable))
		return -EINVAL;
	/* MCG_CTL without MCG_CTL_P is userspace's, not the guest's. */
	r = kvisor_mce_msr(vcpu, msr, val, false, false);
	/* The speculation MSRs' CPUID checks are the guest's only. */
	if (r == -ENOENT)
		r = kvisor_spec_msr(vcpu, msr, val, false, false);
	if (r == -ENOENT)
		r = kvisor_get_msr(vcpu, msr, val);
	return r;
}

/*
 * The guest's WRMSR.  The addresses the CPU takes only canonical must be
 * so, or the entry with them would fail (KVM's rule); the SYSENTER ones
 * are made canonical instead, as KVM does for AMD, which ignores their
 * upper half.  These MSRs usually pass through without exits; they come
 * here where the MSR filter has them intercepted.
 */
static int kvisor_guest_wrmsr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	switch (msr) {
	case MSR_TSC_AUX:
		if (!kvisor_guest_has_tsc_aux(vcpu))
			return -EINVAL;
		break;
	case MSR_IA32_XSS:
		if (!kvisor_guest_has_xsaves(vcpu))
			return -EINVAL;
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!__is_canonical_address(val, 48))
			return -EINVAL;
		break;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		val = __canonical_address(val, 48);
		break;
	}
	return kvisor_set_msr(vcpu, msr, val);
}

/*
 * RDMSR or WRMSR of the MSR in ECX, with EDX:EAX.  The VM's MSR filter
 * comes first; an access that fails goes to userspace where it asked
 * for failures of that kind (msr_filter.c), and is a #GP otherwise.
 */
int kvisor_handle_msr(struct kvisor_vcpu *vcpu, bool write, unsigned int len)
{
	u32 msr = vcpu->regs[EMU_RCX];
	u64 val = 0;
	int r;

	vcpu->exits[KVISOR_EXIT_MSR]++;
	if (write)
		val = (vcpu->regs[EMU_RDX] << 32) | (u32)vcpu->regs[EMU_RAX];
	if (!kvisor_msr_allowed(vcpu, msr, write))
		r = -EPERM;
	else if (write)
		r = kvisor_guest_wrmsr(vcpu, msr, val);
	else
		r = kvisor_guest_rdmsr(vcpu, msr, &val);
	/* KVM knows the x2APIC MSRs: without a LAPIC, invalid, not unknown. */
	if (r == -ENOENT && msr >= 0x800 && msr <= 0x8ff)
		r = -EINVAL;
	if (!r) {
		trace_kvm_msr(write, msr, val, false);
		if (!write) {
			vcpu->regs[EMU_RAX] = (u32)val;
			vcpu->regs[EMU_RDX] = val >> 32;
		}
		kvisor_skip_insn(vcpu, len);
		return 1;
	}
	/* Userspace's MSRs are not traced, as in KVM. */
	if (!kvisor_msr_user_exit(vcpu, msr, write, write ? val : 0, r, len))
		return 0;
	trace_kvm_msr(write, msr, write ? val : 0, true);
	kvisor_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
	return 1;
}

/*
 * As KVM: the count needed always goes back to userspace, so a caller
 * with too small a buffer (-E2BIG) learns how big to make it.
 */
static long kvisor_put_msr_list(struct kvm_msr_list __user *argp,
				const u32 *msrs, u32 nr)
{
	struct kvm_msr_list list;
	u32 n;

	if (copy_from_user(&list, argp, sizeof(list)))
		return -EFAULT;
	n = list.nmsrs;
	list.nmsrs = nr;
	if (copy_to_user(argp, &list, sizeof(list)))
		return -EFAULT;
	if (n < list.nmsrs)
		return -E2BIG;
	if (copy_to_user(argp->indices, msrs, nr * sizeof(*msrs)))
		return -EFAULT;
	return 0;
}

/*
 * KVM names IA32_TSC_AUX where its guests can have RDTSCP or RDPID,
 * IA32_SPEC_CTRL where the host can read it, IA32_ARCH_CAPABILITIES
 * always (it is emulated), and AMD's VIRT_SPEC_CTRL on SVM.
 */
long kvisor_get_msr_index_list(struct kvm_msr_list __user *argp)
{
	u32 list[ARRAY_SIZE(kvisor_msrs_to_save) + 4];
	unsigned int n = ARRAY_SIZE(kvisor_msrs_to_save);

	memcpy(list, kvisor_msrs_to_save, sizeof(kvisor_msrs_to_save));
	if (kvisor_caps.tsc_aux)
		list[n++] = MSR_TSC_AUX;
	if (kvisor_host_has_spec_ctrl())
		list[n++] = MSR_IA32_SPEC_CTRL;
	list[n++] = MSR_IA32_ARCH_CAPABILITIES;
	if (kvisor_has_virt_spec_ctrl())
		list[n++] = MSR_AMD64_VIRT_SPEC_CTRL;
	return kvisor_put_msr_list(argp, list, n);
}

long kvisor_get_msr_feature_index_list(struct kvm_msr_list __user *argp)
{
	return kvisor_put_msr_list(argp, kvisor_feature_msrs,
				   ARRAY_SIZE(kvisor_feature_msrs));
}

static int kvisor_get_feature_msr(u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_IA32_ARCH_CAPABILITIES:
		*val = kvisor_arch_capabilities();
		return 0;
	case MSR_IA32_UCODE_REV:
		return rdmsrl_safe(MSR_IA32_UCODE_REV, val) ? -EIO : 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/* No PMU is virtualized: no capabilities, as KVM without one. */
		*val = 0;
		return 0;
	default:
		return -ENOENT;
	}
}

/*
 * Userspace restores what the guest cannot write itself: the APIC base,
 * which KVM_SET_SREGS takes unchecked too, so kvisor stores it as given.
 * Addresses must be canonical, as KVM requires: VMX would refuse to enter
 * with such a KERNEL_GS_BASE in its MSR-load list, and a SYSCALL or
 * SYSENTER to one would fault in the guest where it cannot.
 */
static int kvisor_host_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	int r;

	/* The in-kernel LAPIC lets userspace restore more than the guest. */
	if (vcpu->apic) {
		r = kvisor_lapic_set_msr(vcpu, msr, val, true);
		if (r != -ENOENT)
			return r;
	}
	/* So do the machine-check banks: a status, MCG_CTL without CTL_P. */
	r = kvisor_mce_msr(vcpu, msr, &val, true, true);
	if (r != -ENOENT)
		return r;
	r = kvisor_spec_msr(vcpu, msr, &val, true, true);
	if (r != -ENOENT)
		return r;
	switch (msr) {
	case MSR_IA32_APICBASE:
		vcpu->apic_base = val;
		return 0;
	case MSR_IA32_TSC:
	case MSR_IA32_TSC_ADJUST:
		return kvisor_set_tsc_msr(vcpu, msr, val, true);
	case MSR_IA32_TSC_DEADLINE:
		/* No LAPIC to arm (with one, it answered above): ignored. */
		return 0;
	case MSR_IA32_UCODE_REV:
		vcpu->ucode_rev = val;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		return kvisor_misc_enable_set(vcpu, val, true);
	case MSR_PLATFORM_INFO:
		/* No CPUID faulting here to advertise. */
		if (val & MSR_PLATFORM_INFO_CPUID_FAULT)
			return -EINVAL;
		vcpu->platform_info = val;
		return 0;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!__is_canonical_address(val, 48))
			return -EINVAL;
		break;
	}
	return kvisor_set_msr(vcpu, msr, val);
}

/*
 * Entries are handled in order up to the first MSR that fails; the return
 * value is how many succeeded, which is how KVM reports a failure here.
 * KVM_GET_MSRS copies every entry back, the unread ones unchanged.
 */
static long kvisor_msrs_io(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			   struct kvm_msrs __user *argp);

long kvisor_vcpu_msrs_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			    struct kvm_msrs __user *argp)
{
	return kvisor_msrs_io(vcpu, ioctl, argp);
}

/* KVM_GET_MSRS on /dev/kvm: the feature MSRs. */
long kvisor_get_feature_msrs(struct kvm_msrs __user *argp)
{
	return kvisor_msrs_io(NULL, KVM_GET_MSRS, argp);
}

/* One entry; @vcpu NULL for the system fd's feature MSRs. */
static int kvisor_msr_one(struct kvisor_vcpu *vcpu, bool get,
			  struct kvm_msr_entry *e)
{
	if (!vcpu)
		return kvisor_get_feature_msr(e->index, &e->data);
	return get ? kvisor_get_msr(vcpu, e->index, &e->data) :
		     kvisor_host_set_msr(vcpu, e->index, e->data);
}

static long kvisor_msrs_io(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			   struct kvm_msrs __user *argp)
{
	bool get = ioctl == KVM_GET_MSRS;
	struct kvm_msr_entry *e;
	struct kvm_msrs msrs;
	size_t size;
	long r = 0;
	u32 i;

	if (copy_from_user(&msrs, argp, sizeof(msrs)))
		return -EFAULT;
	if (msrs.nmsrs >= KVISOR_MAX_IO_MSRS)
		return -E2BIG;
	size = sizeof(*e) * msrs.nmsrs;
	e = memdup_user(argp->entries, size);
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < msrs.nmsrs; i++) {
		if (kvisor_msr_one(vcpu, get, &e[i]))
			break;
	}
	r = i;
	if (get && copy_to_user(argp->entries, e, size))
		r = -EFAULT;
	kfree(e);
	return r;
}
