// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend: probing, the VMCS configuration computed from the
 * capability MSRs (SDM Vol. 3, "VMX Capability Reporting Facility"),
 * VMXON/VMXOFF per CPU (SDM Vol. 3, "Enabling and Entering VMX
 * Operation"), and the ops table.  The current VMCS is in vmcs.c, EPT and
 * VPIDs in ept.c, vCPUs and VMLAUNCH/VMRESUME in vcpu.c and vmenter.S,
 * guest state in state.c, event injection in events.c, exits in exit.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>

#include "vmx.h"

/*
 * A control word: the bits kvisor wants, plus those the CPU insists on,
 * minus those it cannot do.  Returns false when a required bit is
 * missing.
 */
static bool vmx_adjust(u32 msr, u32 want, u32 require, u32 *result)
{
	u64 cap;
	u32 ctl;

	rdmsrl(msr, cap);
	ctl = (want | require | (u32)cap) & (u32)(cap >> 32);
	*result = ctl;
	return (ctl & require) == require;
}

/*
 * A backstop: an external interrupt makes the guest exit, so the host
 * regains the CPU for its timer tick and pending signals.  Bochs's VMX
 * does not do that for a guest spinning with interrupts off, in-tree KVM
 * hangs there too, so kvisor also arms the VMX-preemption timer at every
 * entry: the guest exits at least every few milliseconds, whatever else
 * happens.  It counts down at the TSC rate divided by 2^(VMX_MISC 4:0).
 */
#define VMX_PREEMPTION_PERIOD_US	4000

static void vmx_setup_preemption_timer(struct vmx_config *c)
{
	u64 misc, ticks;

	if (!(c->pin & PIN_PREEMPTION_TIMER) || !tsc_khz) {
		c->pin &= ~PIN_PREEMPTION_TIMER;
		return;
	}
	rdmsrl(KV_MSR_VMX_MISC, misc);
	ticks = ((u64)tsc_khz * VMX_PREEMPTION_PERIOD_US / 1000) >> (misc & 0x1f);
	c->preemption_ticks = clamp_t(u64, ticks, 1, U32_MAX);
}

/*
 * PAUSE-loop exiting (SDM Vol. 3, "PAUSE-Loop Exiting"): in CPL 0 the
 * guest exits when PAUSEs no more than PLE_Gap TSC cycles apart have gone
 * on for more than PLE_Window cycles, the shape of a spin lock's wait
 * loop; kvisor_handle_pause() then yields to another vCPU.  KVM's module
 * parameters with KVM's defaults: ple_gap 0 switches it off; a PAUSE
 * exit that found no one to yield to makes the window ple_window_grow
 * times longer (or that much longer, when it is not smaller than
 * ple_window), up to ple_window_max; being scheduled in again shrinks it
 * the same way by ple_window_shrink, and 0 puts it back to ple_window.
 */
unsigned int ple_gap = 128;
module_param(ple_gap, uint, 0444);
unsigned int ple_window = 4096;
module_param(ple_window, uint, 0444);
unsigned int ple_window_grow = 2;
module_param(ple_window_grow, uint, 0444);
unsigned int ple_window_shrink;
module_param(ple_window_shrink, uint, 0444);
unsigned int ple_window_max = UINT_MAX;
module_param(ple_window_max, uint, 0444);

/* Only where the CPU offers it, and not when the parameters say no. */
static void vmx_setup_ple(struct vmx_config *c)
{
	if (!(c->proc2 & PROC2_PAUSE_LOOP_EXITING) || !ple_gap) {
		c->proc2 &= ~PROC2_PAUSE_LOOP_EXITING;
		ple_gap = 0;
		ple_window = 0;
	}
}

static int vmx_compute_config(u64 basic, const char **why)
{
	bool true_ctls = basic & KV_VMX_BASIC_TRUE_CTLS;
	struct vmx_config *c = &vmx_config;
	bool ok;

	c->revision = KV_VMX_BASIC_REVISION(basic);
	ok = vmx_adjust(true_ctls ? KV_MSR_VMX_TRUE_PINBASED_CTLS :
			KV_MSR_VMX_PINBASED_CTLS, PIN_PREEMPTION_TIMER,
			PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS,
			&c->pin);
	vmx_setup_preemption_timer(c);
	/*
	 * With EPT, CR3 accesses need not exit and kvisor does not ask for
	 * it; CPUs without the true controls force those exits on, and
	 * vmx_exit_cr3() then handles them.
	 */
	/*
	 * Without CR8 exiting (or a TPR shadow), MOV to CR8 in the guest
	 * writes the host's own local APIC TPR and could mask every host
	 * interrupt.  RDPMC would read the host's counters.  TSC offsetting
	 * lets userspace set the guest's TSC (KVM_SET_MSRS) without RDTSC
	 * exits; without it the guest's TSC is the host's, read-only.
	 */
	ok &= vmx_adjust(true_ctls ? KV_MSR_VMX_TRUE_PROCBASED_CTLS :
			 KV_MSR_VMX_PROCBASED_CTLS, PROC_USE_TSC_OFFSETTING,
			 PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING |
			 PROC_USE_MSR_BITMAPS | PROC_SECONDARY_CONTROLS |
			 PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
			 PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
			 PROC_RDPMC_EXITING | PROC_MOV_DR_EXITING, &c->proc);
	/*
	 * WBINVD would flush the host's caches: a NOP for the guest instead.
	 * RDTSCP and RDPID run where the host has IA32_TSC_AUX, which
	 * vmx_run() switches to the guest's; XSAVES and XRSTORS where the
	 * host has them, with the guest's IA32_XSS (core/fpu.c).
	 */
	ok &= vmx_adjust(KV_MSR_VMX_PROCBASED_CTLS2, PROC2_WBINVD_EXITING |
			 PROC2_PAUSE_LOOP_EXITING |
			 (kvisor_host_has_tsc_aux() ? PROC2_RDTSCP : 0) |
			 (boot_cpu_has(X86_FEATURE_XSAVES) ? PROC2_XSAVES : 0),
			 PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED_GUEST,
			 &c->proc2);
	vmx_setup_ple(c);
	ok &= vmx_adjust(true_ctls ? KV_MSR_VMX_TRUE_EXIT_CTLS :
			 KV_MSR_VMX_EXIT_CTLS, 0,
			 EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_IA32_EFER |
			 EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT |
			 EXIT_LOAD_IA32_PAT, &c->exit);
	/* DR7 comes from the VMCS: the guest runs with debug.c's DR7. */
	ok &= vmx_adjust(true_ctls ? KV_MSR_VMX_TRUE_ENTRY_CTLS :
			 KV_MSR_VMX_ENTRY_CTLS, 0,
			 ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT |
			 ENTRY_LOAD_DEBUG_CONTROLS, &c->entry);
	/* IA-32e mode is chosen per entry, from the guest's EFER.LMA. */
	c->entry &= ~ENTRY_IA32E_MODE;
	if (!ok) {
		*why = "the VMX controls kvisor needs are not all available";
		return -EOPNOTSUPP;
	}

	rdmsrl(KV_MSR_VMX_EPT_VPID_CAP, c->ept_vpid_cap);
	if (!(c->ept_vpid_cap & KV_VMX_EPT_WALK_4) ||
	    !(c->ept_vpid_cap & KV_VMX_EPT_WB) ||
	    !(c->ept_vpid_cap & KV_VMX_EPT_INVEPT) ||
	    !(c->ept_vpid_cap & KV_VMX_VPID_INVVPID)) {
		*why = "EPT without 4-level write-back tables, INVEPT or INVVPID";
		return -EOPNOTSUPP;
	}
	rdmsrl(KV_MSR_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(KV_MSR_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(KV_MSR_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(KV_MSR_VMX_CR4_FIXED1, c->cr4_fixed1);
	return 0;
}

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
	      PROC_SECONDARY_CONTROLS)) {
		*why = "no secondary processor-based controls (so no EPT)";
		return -EOPNOTSUPP;
	}
	proc2 = vmx_allowed1(KV_MSR_VMX_PROCBASED_CTLS2);
	if (!(proc2 & PROC2_EPT)) {
		*why = "no EPT, which kvisor requires";
		return -EOPNOTSUPP;
	}
	if (!(proc2 & PROC2_VPID)) {
		*why = "no VPID, which kvisor requires";
		return -EOPNOTSUPP;
	}
	if (!(proc2 & PROC2_UNRESTRICTED_GUEST)) {
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
	r = vmx_check_secondary(caps, why);
	if (r)
		return r;
	r = vmx_compute_config(basic, why);
	if (r)
		return r;
	caps->tsc_aux = vmx_config.proc2 & PROC2_RDTSCP;
	caps->xsaves = vmx_config.proc2 & PROC2_XSAVES;
	caps->cmci = true;
	/* "EPT Translation": 2M and 1G leaves where the CPU walks them. */
	vmx_ept_format.max_level = 1;
	if (vmx_config.ept_vpid_cap & KV_VMX_EPT_2M)
		vmx_ept_format.max_level = 2;
	if ((vmx_config.ept_vpid_cap & KV_VMX_EPT_1G) &&
	    vmx_ept_format.max_level == 2)
		vmx_ept_format.max_level = 3;
	scnprintf(caps->features + strlen(caps->features),
		  sizeof(caps->features) - strlen(caps->features),
		  ", ept leaves 4K%s%s%s",
		  vmx_ept_format.max_level > 1 ? " 2M" : "",
		  vmx_ept_format.max_level > 2 ? " 1G" : "",
		  ple_gap ? ", pause-loop exiting" : "");
	return 0;
}

static bool vmx_cpu_in_use(void)
{
	return __read_cr4() & X86_CR4_VMXE;
}

static void vmx_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		free_page((unsigned long)per_cpu(vmx_cpu, cpu).vmxon);
		per_cpu(vmx_cpu, cpu).vmxon = NULL;
	}
}

static int vmx_setup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		INIT_LIST_HEAD(&vc->loaded);
		vc->vmxon = (void *)get_zeroed_page(GFP_KERNEL);
		if (!vc->vmxon) {
			vmx_free_cpu_pages();
			return -ENOMEM;
		}
		/* The VMXON region starts with the VMCS revision id. */
		*(u32 *)vc->vmxon = vmx_config.revision;
	}
	return 0;
}

static void vmx_unsetup(void)
{
	vmx_free_cpu_pages();
	vmx_free_msr_bitmap();
}

/*
 * Enter VMX operation.  CR4.VMXE must be set first, and CR0/CR4 must hold
 * every bit the FIXED0 MSRs require (a running kernel always does).
 */
static int vmx_cpu_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	u64 pa = __pa(vc->vmxon);
	bool failed;

	if (__read_cr4() & X86_CR4_VMXE)
		return -EBUSY;		/* another hypervisor's */
	cr4_set_bits(X86_CR4_VMXE);
	asm volatile("vmxon %[pa]; setna %[failed]"
		     : [failed] "=qm" (failed) : [pa] "m" (pa)
		     : "memory", "cc");
	if (failed) {
		cr4_clear_bits(X86_CR4_VMXE);
		pr_err("VMXON failed on CPU %d\n", smp_processor_id());
		return -EIO;
	}
	vc->current_vmcs = NULL;
	/* Translations tagged by VPIDs and EPTPs from before are stale. */
	if (vmx_config.ept_vpid_cap & KV_VMX_EPT_INVEPT_ALL) {
		struct { u64 eptp, reserved; } desc = { 0, 0 };

		asm volatile("invept %[desc], %[type]"
			     :: [desc] "m" (desc), [type] "r" (2UL)
			     : "memory", "cc");
	}
	return 0;
}

static void vmx_vmxoff(void)
{
	bool fault = true;

	asm volatile("1: vmxoff\n\t"
		     "movb $0, %[fault]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [fault] "+qm" (fault) : : "memory", "cc");
	cr4_clear_bits(X86_CR4_VMXE);
	if (unlikely(fault))
		kvisor_virt_fault();
}

static void vmx_cpu_disable(void)
{
	/* Write every loaded VMCS back to memory before leaving VMX. */
	vmx_clear_loaded_vmcss();
	vmx_vmxoff();
}

/*
 * The emergency path: no lock, the lists as they are.  The VMCSs loaded
 * here are written back to memory first, so that a crash dump holds the
 * guests' state, as KVM's vmx_emergency_disable() does.
 */
static void vmx_emergency_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vcpu *vmx;

	if (!(__read_cr4() & X86_CR4_VMXE))
		return;
	list_for_each_entry(vmx, &vc->loaded, loaded)
		vmx_vmclear(vmx->vmcs);
	vmx_vmxoff();
}

const struct kvisor_vendor_ops kvisor_vmx_ops = {
	.name			= "vmx",
	.probe			= vmx_probe,
	.cpu_in_use		= vmx_cpu_in_use,
	.setup			= vmx_setup,
	.unsetup		= vmx_unsetup,
	.cpu_enable		= vmx_cpu_enable,
	.cpu_disable		= vmx_cpu_disable,
	.emergency_disable	= vmx_emergency_disable,
	.tdp			= &vmx_ept_format,
	.vcpu_create		= vmx_vcpu_create,
	.vcpu_free		= vmx_vcpu_free,
	.run			= vmx_run,
	.vcpu_put		= vmx_vcpu_put,
	.handle_exit		= vmx_handle_exit,
	.get_exit_info		= vmx_get_exit_info,
	.isa			= KVISOR_ISA_VMX,
	.get_sregs		= vmx_get_sregs,
	.cpuid_update		= vmx_cpuid_update,
	.set_sregs		= vmx_set_sregs,
	.get_cpu_mode		= vmx_get_cpu_mode,
	.get_paging		= vmx_get_paging,
	.get_cpl		= vmx_get_cpl,
	.queue_exception	= vmx_queue_exception,
	.set_cr2		= vmx_set_cr2,
	.request_tlb_flush	= vmx_request_tlb_flush,
	.explain_fail_entry	= vmx_explain_fail_entry,
	.dump_state		= vmx_dump_state,
	.interrupt_allowed	= vmx_interrupt_allowed,
	.inject_irq		= vmx_inject_irq,
	.set_irq_window		= vmx_set_irq_window,
	.nmi_allowed		= vmx_nmi_allowed,
	.inject_nmi		= vmx_inject_nmi,
	.set_nmi_window		= vmx_set_nmi_window,
	.get_event_state	= vmx_get_event_state,
	.set_event_state	= vmx_set_event_state,
	.set_debug		= vmx_set_debug,
	.get_msr		= vmx_get_msr,
	.set_msr		= vmx_set_msr,
	.set_tsc_offset		= vmx_set_tsc_offset,
	.msr_passthrough	= vmx_msr_passthrough,
	.msr_filter_changed	= vmx_msr_filter_changed,
};
