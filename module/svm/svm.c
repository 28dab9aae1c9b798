// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend: probing, the per-CPU state, switching SVM on and off
 * (APM Vol. 2, "Enabling SVM"), the I/O and MSR permission maps, and the
 * ops table.  NPT and ASIDs are in npt.c, vCPUs and VMRUN in vcpu.c and
 * vmenter.S, guest state in state.c, event injection in events.c, exits
 * in exit.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/io.h>
#include <linux/percpu.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "svm.h"

static struct page *svm_iopm, *svm_msrpm;

/* The layout of struct vmcb is the hardware's: pin it at build time. */
static_assert(offsetof(struct vmcb, control.exit_code) == 0x070);
static_assert(offsetof(struct vmcb, control.nested_cr3) == 0x0b0);
static_assert(offsetof(struct vmcb, control.next_rip) == 0x0c8);
static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb);
static_assert(offsetof(struct vmcb, save.efer) == 0x4d0);
static_assert(offsetof(struct vmcb, save.cr4) == 0x548);
static_assert(offsetof(struct vmcb, save.rip) == 0x578);
static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8);
static_assert(offsetof(struct vmcb, save.rax) == 0x5f8);
static_assert(offsetof(struct vmcb, save.cr2) == 0x640);
static_assert(offsetof(struct vmcb, save.g_pat) == 0x668);
static_assert(sizeof(struct vmcb) == PAGE_SIZE);

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
	{ KV_SVM_FEATURE_DECODE_ASSISTS, "decode-assists" },
	{ KV_SVM_FEATURE_PAUSE_FILTER,	"pause-filter" },
	{ KV_SVM_FEATURE_PAUSE_THRESHOLD, "pause-filter-threshold" },
	{ KV_SVM_FEATURE_VGIF,		"vgif" },
};

/*
 * QEMU's emulated SVM, the SVM test host's CPU, differs from AMD's in
 * three ways a guest notices (Documentation/svm.rst, "QEMU's emulated
 * SVM"): its VMRUN ignores the interrupt shadow in the VMCB, so an
 * interrupt comes in before the instruction an STI protects (after
 * "sti; hlt" it then returns to the HLT, and the wake-up is lost); an
 * interrupt it injected from EVENTINJ stays behind as its CPU's pending
 * exception, delivered a second time when the emulator's thread is next
 * kicked; and it loads DR7 without arming the breakpoints.  kvisor works
 * around them (svm/events.c, svm_run()) where this parameter says: -1,
 * the default, on a CPU without NRIPS, which every AMD CPU since 2009
 * has and QEMU's does not; 1 always; 0 never.
 */
static int emulator_quirks = -1;
module_param(emulator_quirks, int, 0444);
MODULE_PARM_DESC(emulator_quirks,
		 "work around QEMU's emulated SVM: -1 where NRIPS is missing (default), 0 never, 1 always");

/*
 * PAUSE filtering (APM Vol. 2, "Pause Intercept Filtering"): with the
 * PAUSE intercept set, the guest exits on the PAUSE that takes the filter
 * count to 0; with the threshold, a PAUSE more than pause_filter_thresh
 * cycles after the last one restarts the count, so that only a tight
 * spin loop exits; kvisor_handle_pause() then yields to another vCPU.
 * KVM's module parameters with KVM's defaults, and KVM's rule that
 * without the threshold (an older CPU, where any PAUSEs add up to an
 * exit) or with a parameter at 0, PAUSE does not exit at all.  A PAUSE
 * exit that found no one to yield to makes the count
 * pause_filter_count_grow times larger (or that much larger, when it is
 * not smaller than pause_filter_count), up to pause_filter_count_max;
 * being scheduled in again shrinks it by pause_filter_count_shrink, 0
 * putting it back to pause_filter_count.
 */
unsigned short pause_filter_thresh = 128;
module_param(pause_filter_thresh, ushort, 0444);
unsigned short pause_filter_count = 3000;
module_param(pause_filter_count, ushort, 0444);
unsigned short pause_filter_count_grow = 2;
module_param(pause_filter_count_grow, ushort, 0444);
unsigned short pause_filter_count_shrink;
module_param(pause_filter_count_shrink, ushort, 0444);
unsigned short pause_filter_count_max = USHRT_MAX;
module_param(pause_filter_count_max, ushort, 0444);

static void svm_setup_pause_filter(u32 features)
{
	if (!(features & KV_SVM_FEATURE_PAUSE_FILTER) ||
	    !(features & KV_SVM_FEATURE_PAUSE_THRESHOLD) ||
	    !pause_filter_count || !pause_filter_thresh) {
		pause_filter_count = 0;
		pause_filter_thresh = 0;
	}
}

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
	scnprintf(caps->features + n, sizeof(caps->features) - n,
		  ", npt leaves 4K 2M%s%s",
		  svm_npt_format.max_level > 2 ? " 1G" : "",
		  svm_npt_format.five_levels ? ", 5-level npt" : "");
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
	rdmsrl(KV_MSR_VM_CR, vm_cr);
	if (vm_cr & KV_SVM_VM_CR_SVMDIS) {
		*why = "disabled by the BIOS (VM_CR.SVMDIS is set)";
		return -EOPNOTSUPP;
	}

	cpuid(KV_SVM_CPUID_LEAF, &eax, &ebx, &ecx, &edx);
	svm_npt_format.max_level = boot_cpu_has(X86_FEATURE_GBPAGES) ? 3 : 2;
	/*
	 * The nested walk takes the host's paging mode, CR4.LA57 at VMRUN
	 * included (APM "Nested Paging"): 5 levels on a 5-level host.
	 */
	svm_npt_format.five_levels = pgtable_l5_enabled();
	svm_describe(caps, edx, ebx);

	/* Without nested paging kvisor would need shadow page tables. */
	if (!(edx & KV_SVM_FEATURE_NPT)) {
		*why = "no nested paging (NPT), which kvisor requires";
		return -EOPNOTSUPP;
	}
	svm_has_nrips = edx & KV_SVM_FEATURE_NRIPS;
	svm_emulator_quirks = emulator_quirks < 0 ? !svm_has_nrips :
			      emulator_quirks;
	if (svm_emulator_quirks)
		strlcat(caps->features, ", emulator quirks",
			sizeof(caps->features));
	svm_setup_pause_filter(edx);
	/* AMD runs RDTSCP and RDPID in a guest whatever its CPUID says. */
	caps->tsc_aux = kvisor_host_has_tsc_aux();
	/* SVM has no control for XSAVES: a guest runs it as the host can. */
	caps->xsaves = boot_cpu_has(X86_FEATURE_XSAVES);
	/* AMD has no CMCI (its error thresholds interrupt otherwise): as KVM. */
	caps->cmci = false;
	caps->tdp = true;
	return 0;
}

static bool svm_cpu_in_use(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	return efer & KV_EFER_SVME;
}

static void svm_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		free_page((unsigned long)sc->hsave);
		free_page((unsigned long)sc->host_save);
		sc->hsave = NULL;
		sc->host_save = NULL;
	}
}

/*
 * The MSRs the guest reaches without exits: those VMRUN, VMLOAD and
 * VMSAVE switch anyway, as far as the VM's MSR filter allows
 * (core/msr_filter.c).
 */
static const u32 svm_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
	MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/*
 * Make the guest's reads and writes of @msr exit or not.  The map covers
 * 0-0x1fff and 0xc0000000-0xc0001fff here (kvisor lets nothing else
 * through); every other MSR exits.
 */
static void svm_msrpm_set(u8 *msrpm, u32 msr, bool read_exit,
			  bool write_exit)
{
	u32 offset, bit;
	u8 *p;

	if (msr < 0x2000)
		offset = 0;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		offset = 0x800, msr -= 0xc0000000;
	else
		return;
	/* Two bits per MSR: read intercept, then write intercept. */
	bit = msr * 2;
	p = &msrpm[offset + bit / 8];
	*p &= ~(3 << (bit % 8));
	*p |= (read_exit | (write_exit << 1)) << (bit % 8);
}

/*
 * The vCPU gets its own copy of the shared map the first time it needs
 * another (core/spec.c's lazy pass-through, an MSR filter); every VMRUN
 * reads the map its VMCB names.
 */
static int svm_own_msrpm(struct svm_vcpu *svm)
{
	struct page *p;

	if (svm->msrpm)
		return 0;
	p = alloc_pages(GFP_KERNEL_ACCOUNT, 1);
	if (!p)
		return -ENOMEM;
	memcpy(page_address(p), page_address(svm_msrpm), PAGE_SIZE << 1);
	svm->msrpm = page_address(p);
	svm->vmcb->control.msrpm_base_pa = page_to_phys(p);
	return 0;
}

/* Let @msr through (its writes only, @write_only) where the filter allows. */
static void svm_msr_pass(struct svm_vcpu *svm, u32 msr, bool write_only)
{
	bool read = !write_only && kvisor_msr_allowed(&svm->vcpu, msr, false);
	bool write = kvisor_msr_allowed(&svm->vcpu, msr, true);

	svm_msrpm_set(svm->msrpm, msr, !read, !write);
}

/* core/spec.c's lazy pass-through, which a new filter has redone too */
static int svm_msr_passthrough(struct kvisor_vcpu *vcpu, u32 msr,
			       bool write_only)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	int r = svm_own_msrpm(svm);

	if (r)
		return r;
	svm_msr_pass(svm, msr, write_only);
	return 0;
}

/*
 * A new MSR filter: every MSR this vCPU would let through is decided
 * again, so that what the filter denies exits and what it allows (again)
 * does not.  MSRs that always exit meet the filter in core/msrs.c.
 */
static int svm_msr_filter_changed(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	int i, r = svm_own_msrpm(svm);

	if (r)
		return r;
	for (i = 0; i < ARRAY_SIZE(svm_passthrough_msrs); i++)
		svm_msr_pass(svm, svm_passthrough_msrs[i], false);
	return 0;
}

static int svm_setup(void)
{
	u32 nr_asids = cpuid_ebx(KV_SVM_CPUID_LEAF);
	int cpu, i;

	/* Intercept every port (12K map) and every MSR but those above. */
	svm_iopm = alloc_pages(GFP_KERNEL, 2);
	svm_msrpm = alloc_pages(GFP_KERNEL, 1);
	if (!svm_iopm || !svm_msrpm)
		goto fail;
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << 2);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << 1);
	for (i = 0; i < ARRAY_SIZE(svm_passthrough_msrs); i++)
		svm_msrpm_set(page_address(svm_msrpm), svm_passthrough_msrs[i],
			      false, false);
	svm_iopm_pa = page_to_phys(svm_iopm);
	svm_msrpm_pa = page_to_phys(svm_msrpm);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		sc->hsave = (void *)get_zeroed_page(GFP_KERNEL);
		sc->host_save = (void *)get_zeroed_page(GFP_KERNEL);
		if (!sc->hsave || !sc->host_save)
			goto fail;
		sc->host_save_pa = __pa(sc->host_save);
		/* ASID 0 is the host's. */
		sc->max_asid = nr_asids - 1;
		sc->next_asid = sc->max_asid + 1;
	}
	return 0;
fail:
	svm_free_cpu_pages();
	if (svm_iopm)
		__free_pages(svm_iopm, 2);
	if (svm_msrpm)
		__free_pages(svm_msrpm, 1);
	return -ENOMEM;
}

static void svm_unsetup(void)
{
	svm_free_cpu_pages();
	__free_pages(svm_iopm, 2);
	__free_pages(svm_msrpm, 1);
}

/*
 * Linux 6.12's srso=bp-spec-reduce (Zen 4 and 5 with SRSO_MSR_FIX): the
 * host kernel skips its own SRSO mitigation and relies on the hypervisor
 * to set BP_CFG's BP_SPEC_REDUCE while guests can run, which KVM does
 * from its first VM to its last.  kvisor has SVM on exactly then, so the
 * bit follows SVM on each CPU.  Kernels without the mode build nothing.
 */
static void svm_srso_bp_spec_reduce(bool on)
{
#ifdef X86_FEATURE_SRSO_BP_SPEC_REDUCE
	if (!cpu_feature_enabled(X86_FEATURE_SRSO_BP_SPEC_REDUCE))
		return;
	if (on)
		msr_set_bit(MSR_ZEN4_BP_CFG, MSR_ZEN4_BP_CFG_BP_SPEC_REDUCE_BIT);
	else
		msr_clear_bit(MSR_ZEN4_BP_CFG,
			      MSR_ZEN4_BP_CFG_BP_SPEC_REDUCE_BIT);
#endif
}

/*
 * AMD erratum 383 (family 10h, the kernel's X86_BUG_AMD_TLB_MMATCH): a
 * guest can make the TLB hold two matching entries, which raises a
 * machine check.  As KVM: DC_CFG bit 47 is set where SVM goes on, and a
 * machine check during the guest with the erratum's signature in MC0 is
 * cleared here and ends that guest (svm_exit_mc()) instead of reaching
 * the host's handler, which would panic.
 */
static bool svm_erratum_383;

static void svm_erratum_383_init(void)
{
	u64 val;

	if (!static_cpu_has_bug(X86_BUG_AMD_TLB_MMATCH) ||
	    rdmsrl_safe(MSR_AMD64_DC_CFG, &val))
		return;
	if (!wrmsrl_safe(MSR_AMD64_DC_CFG, val | BIT_ULL(47)))
		svm_erratum_383 = true;
}

/* Right after a #MC exit, interrupts off: the erratum's, cleared? */
bool svm_erratum_383_hit(void)
{
	u64 val;
	int i;

	if (!svm_erratum_383 || rdmsrl_safe(MSR_IA32_MC0_STATUS, &val))
		return false;
	/* bit 62 (overflow) may be set or not */
	if ((val & ~BIT_ULL(62)) != 0xb600000000010015ULL)
		return false;
	for (i = 0; i < 6; i++)
		wrmsrl_safe(MSR_IA32_MCx_STATUS(i), 0);
	if (!rdmsrl_safe(MSR_IA32_MCG_STATUS, &val))
		wrmsrl_safe(MSR_IA32_MCG_STATUS, val & ~MCG_STATUS_MCIP);
	/* the two matching entries go with everything else */
	__flush_tlb_all();
	return true;
}

static int svm_cpu_enable(void)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & KV_EFER_SVME)
		return -EBUSY;		/* another hypervisor's */
	wrmsrl(MSR_EFER, efer | KV_EFER_SVME);
	wrmsrl(KV_MSR_VM_HSAVE_PA, __pa(sc->hsave));
	svm_srso_bp_spec_reduce(true);
	svm_erratum_383_init();
	/* ASIDs handed out before may be stale in the TLB: start over. */
	sc->asid_gen++;
	sc->next_asid = sc->max_asid + 1;
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	svm_srso_bp_spec_reduce(false);
	wrmsrl(KV_MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~KV_EFER_SVME);
}

/*
 * The emergency path: GIF set again first (INIT is held while it is
 * clear, should the crash have come between CLGI and STGI), then SVM off.
 */
static void svm_emergency_disable(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (!(efer & KV_EFER_SVME))
		return;
	svm_stgi();
	svm_cpu_disable();
}

const struct kvisor_vendor_ops kvisor_svm_ops = {
	.name			= "svm",
	.probe			= svm_probe,
	.cpu_in_use		= svm_cpu_in_use,
	.setup			= svm_setup,
	.unsetup		= svm_unsetup,
	.cpu_enable		= svm_cpu_enable,
	.cpu_disable		= svm_cpu_disable,
	.emergency_disable	= svm_emergency_disable,
	.tdp			= &svm_npt_format,
	.vcpu_create		= svm_vcpu_create,
	.vcpu_free		= svm_vcpu_free,
	.run			= svm_run,
	.handle_exit		= svm_handle_exit,
	.get_exit_info		= svm_get_exit_info,
	.isa			= KVISOR_ISA_SVM,
	.get_sregs		= svm_get_sregs,
	.set_sregs		= svm_set_sregs,
	.get_cpu_mode		= svm_get_cpu_mode,
	.get_paging		= svm_get_paging,
	.get_cpl		= svm_get_cpl,
	.queue_exception	= svm_queue_exception,
	.set_cr2		= svm_set_cr2,
	.request_tlb_flush	= svm_request_tlb_flush,
	.explain_fail_entry	= svm_explain_fail_entry,
	.dump_state		= svm_dump_state,
	.interrupt_allowed	= svm_interrupt_allowed,
	.inject_irq		= svm_inject_irq,
	.set_irq_window		= svm_set_irq_window,
	.nmi_allowed		= svm_nmi_allowed,
	.inject_nmi		= svm_inject_nmi,
	.set_nmi_window		= svm_set_nmi_window,
	.get_event_state	= svm_get_event_state,
	.set_event_state	= svm_set_event_state,
	.set_debug		= svm_set_debug,
	.get_msr		= svm_get_msr,
	.set_msr		= svm_set_msr,
	.set_tsc_offset		= svm_set_tsc_offset,
	.msr_passthrough	= svm_msr_passthrough,
	.msr_filter_changed	= svm_msr_filter_changed,
};
