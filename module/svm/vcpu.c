// SPDX-License-Identifier: GPL-2.0
/*
 * SVM vCPUs: creating one with the VMCB's RESET state and the intercepts
 * kvisor relies on, freeing it, and one trip through VMRUN (APM Vol. 2,
 * "VMRUN Instruction" and "#VMEXIT": what VMRUN loads and #VMEXIT saves,
 * and what the host switches by hand).  Event injection is in events.c,
 * the guest's registers in state.c, ASIDs in npt.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/trapnr.h>

#include "core/spec.h"
#include "svm.h"

/* Found by svm.c's probe and setup, read when a VMCB is built and run. */
bool svm_has_nrips;
bool svm_emulator_quirks;
u64 svm_iopm_pa, svm_msrpm_pa;

/* The power-on PAT: WB, WT, UC-, UC, repeated. */
#define PAT_RESET	0x0007040600070406ULL

static void svm_seg_reset(struct vmcb_seg *s, u16 selector, u64 base,
			  u16 attrib)
{
	s->selector = selector;
	s->base = base;
	s->limit = 0xffff;
	s->attrib = attrib;
}

/*
 * The state of an x86 CPU after RESET: real mode, executing at
 * F000:FFF0 (linear 0xfffffff0), every intercept kvisor relies on set.
 */
void svm_reset_vmcb(struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	struct vmcb_save *s = &svm->vmcb->save;

	memset(svm->vmcb, 0, PAGE_SIZE);
	/* The TSC runs on across a reset, where core/tsc.c set it. */
	c->tsc_offset = svm->vcpu.tsc_offset;

	/*
	 * #MC is the host's.  #DB and #AC are intercepted and handed back:
	 * delivering one can raise another, forever, inside the CPU, where
	 * no host interrupt would ever be taken again.
	 */
	c->intercept_exceptions = BIT(X86_TRAP_MC) | BIT(X86_TRAP_DB) |
				  BIT(X86_TRAP_AC) | BIT(X86_TRAP_UD);
	/* Every DR access: the guest's debug registers are kvisor's copy. */
	c->intercept_dr = ~0U;
	/*
	 * CR4 writes: a bit the vCPU's CPUID does not offer must #GP, and
	 * the hardware would take any bit the CPU has (svm_exit_write_cr4()).
	 */
	c->intercept_cr = SVM_INTERCEPT_CR4_WRITE;
	c->intercept_misc1 = SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI |
		SVM_INTERCEPT1_CPUID | SVM_INTERCEPT1_INVD |
		SVM_INTERCEPT1_RDPMC |
		SVM_INTERCEPT1_HLT | SVM_INTERCEPT1_INVLPGA |
		SVM_INTERCEPT1_IOIO | SVM_INTERCEPT1_MSR |
		SVM_INTERCEPT1_SHUTDOWN;
	/* No nested SVM: every SVM instruction must exit, to raise #UD. */
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL |
		SVM_INTERCEPT2_VMLOAD | SVM_INTERCEPT2_VMSAVE |
		SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
		SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_MONITOR |
		SVM_INTERCEPT2_MWAIT | SVM_INTERCEPT2_XSETBV |
		SVM_INTERCEPT2_WBINVD |
		/* the host's APERF/MPERF, a window on host activity: #UD */
		SVM_INTERCEPT2_RDPRU;
	if (pause_filter_count) {
		c->intercept_misc1 |= SVM_INTERCEPT1_PAUSE;
		c->pause_filter_thresh = pause_filter_thresh;
		c->pause_filter_count = pause_filter_count;
		svm->pause_filter_count = pause_filter_count;
	}
	c->iopm_base_pa = svm_iopm_pa;
	/* A vCPU that owns SPEC_CTRL or PRED_CMD keeps its own map. */
	c->msrpm_base_pa = svm->msrpm ? __pa(svm->msrpm) : svm_msrpm_pa;
	/* Physical interrupts must leave the guest, whatever its IF says. */
	c->int_ctl = SVM_INT_V_INTR_MASKING;
	c->nested_ctl = SVM_NESTED_NP_ENABLE;
	c->nested_cr3 = kvisor_tdp_root(svm->vcpu.vm);

	svm_seg_reset(&s->cs, 0xf000, 0xffff0000, 0x9b);  /* code, accessed */
	svm_seg_reset(&s->ds, 0, 0, 0x93);		   /* data, accessed */
	svm_seg_reset(&s->es, 0, 0, 0x93);
	svm_seg_reset(&s->ss, 0, 0, 0x93);
	svm_seg_reset(&s->fs, 0, 0, 0x93);
	svm_seg_reset(&s->gs, 0, 0, 0x93);
	svm_seg_reset(&s->gdtr, 0, 0, 0);
	svm_seg_reset(&s->idtr, 0, 0, 0);
	svm_seg_reset(&s->ldtr, 0, 0, 0x82);		   /* LDT */
	svm_seg_reset(&s->tr, 0, 0, 0x8b);		   /* busy 32-bit TSS */
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->rflags = X86_EFLAGS_FIXED;
	s->rip = 0xfff0;
	/* SVME is the host's business: the guest never sees it. */
	s->efer = KV_EFER_SVME;
	s->g_pat = PAT_RESET;

	svm->asid_cpu = -1;
	svm->shadow_rip = ~0ULL;	/* svm_shadow_is_real() has not looked */
	svm->event = 0;
}

struct kvisor_vcpu *svm_vcpu_create(struct kvisor_vm *vm)
{
	struct svm_vcpu *svm;
	int r;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return ERR_PTR(-ENOMEM);
	svm->vmcb = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!svm->vmcb) {
		kfree(svm);
		return ERR_PTR(-ENOMEM);
	}
	r = kvisor_vcpu_init(&svm->vcpu, vm);
	if (r) {
		free_page((unsigned long)svm->vmcb);
		kfree(svm);
		return ERR_PTR(r);
	}
	svm->vmcb_pa = __pa(svm->vmcb);
	svm_reset_vmcb(svm);
	svm->vcpu.rip = 0xfff0;
	return &svm->vcpu;
}

void svm_vcpu_free(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	int cpu;

	kvisor_vcpu_uninit(vcpu);
	/*
	 * A VMCB allocated later at the same address is another vCPU's:
	 * no CPU may take it for the one that ran there (no IBPB then).
	 */
	for_each_possible_cpu(cpu)
		cmpxchg(&per_cpu(svm_cpu, cpu).current_vmcb, svm->vmcb, NULL);
	if (svm->msrpm)
		free_pages((unsigned long)svm->msrpm, 1);
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
}

/* World switch ---------------------------------------------------------- */

/*
 * The pause filter count for this VMRUN.  KVM shrinks it when the vCPU's
 * thread is scheduled in again (its sched_in hook): here, when the
 * thread switched context since the last VMRUN.  A PAUSE exit that
 * yielded to another vCPU comes back that way too, so only a spin that
 * found no one to yield to keeps a grown count.
 */
static void svm_update_pause_filter(struct svm_vcpu *svm)
{
	unsigned long switches = current->nvcsw + current->nivcsw;
	u16 old = svm->pause_filter_count;

	if (!pause_filter_count)
		return;
	if (switches != svm->pause_switches) {
		svm->pause_switches = switches;
		svm->pause_filter_count =
			kvisor_pause_window_shrink(old, pause_filter_count,
						   pause_filter_count_shrink);
	}
	svm->vmcb->control.pause_filter_count = svm->pause_filter_count;
}

static void svm_load_guest(struct svm_vcpu *svm)
{
	struct kvisor_vcpu *vcpu = &svm->vcpu;
	struct vmcb *vmcb = svm->vmcb;

	if (!svm_in_shadow(svm))
		vmcb->control.int_state &= ~SVM_INT_STATE_SHADOW;

	vmcb->save.rax = vcpu->regs[EMU_RAX];
	vmcb->save.rsp = vcpu->regs[EMU_RSP];
	vmcb->save.rip = vcpu->rip;
	vmcb->save.rflags = vcpu->rflags;
	svm_step_load(svm);
	svm_update_pause_filter(svm);
	/* The bits a #DB sets in it are then exactly the new ones. */
	vmcb->save.dr6 = 0xffff0ff0;
	/*
	 * The guest's MOV to and from CR8 use V_TPR without exits; the
	 * in-kernel LAPIC's TPR is the real one, copied in and back out.
	 */
	if (vcpu->apic)
		vmcb->control.int_ctl = (vmcb->control.int_ctl & ~0xf) |
					kvisor_lapic_get_cr8(vcpu);
	svm_inject_event(svm);
	svm_update_cr8_intercept(svm);
}

static void svm_save_guest(struct svm_vcpu *svm)
{
	struct kvisor_vcpu *vcpu = &svm->vcpu;
	struct vmcb *vmcb = svm->vmcb;

	/*
	 * VMRUN refused the state: the guest never ran (a flush asked for in
	 * tlb_ctl may not have happened: keep it), and the VMCB's save area
	 * may hold whatever the CPU had loaded of it by then.
	 */
	if ((u32)vmcb->control.exit_code == (u32)SVM_EXIT_INVALID) {
		svm_cancel_entry_event(svm);
		return;
	}
	vmcb->control.tlb_ctl = SVM_TLB_NONE;
	vcpu->regs[EMU_RAX] = vmcb->save.rax;
	vcpu->regs[EMU_RSP] = vmcb->save.rsp;
	vcpu->rip = vmcb->save.rip;
	vcpu->rflags = vmcb->save.rflags;
	/*
	 * QEMU's VMRUN drops the interrupt shadow (svm_emulator_quirks), and
	 * its #VMEXIT then reports none: an exit that came before the guest
	 * ran the instruction the shadow protects must not end it.
	 */
	if (svm_emulator_quirks && vcpu->rip == svm->entry.rip &&
	    (svm->entry.int_state & SVM_INT_STATE_SHADOW))
		vmcb->control.int_state |= SVM_INT_STATE_SHADOW;
	svm_step_end(svm);
	/* Past the IRET: it unblocked NMIs (svm/events.c). */
	if (svm->awaiting_iret && vcpu->rip != svm->iret_rip) {
		svm->awaiting_iret = false;
		svm->nmi_masked = false;
	}
	if (vcpu->apic &&
	    (vmcb->control.int_ctl & 0xf) != kvisor_lapic_get_cr8(vcpu))
		kvisor_lapic_set_cr8(vcpu, vmcb->control.int_ctl & 0xf);
	svm_requeue_event(svm);
}

/* Right after the exit, GIF set again, interrupts still off. */
static void svm_exit_irqoff(struct svm_vcpu *svm)
{
	u64 code = svm->vmcb->control.exit_code;

	/*
	 * The #MC intercept took the machine check from the host's handler:
	 * call it now, on the CPU whose banks hold the error, as KVM's
	 * svm_vcpu_run(), unless it was the guest's erratum 383 (svm.c).
	 */
	if (code == SVM_EXIT_EXCP_BASE + X86_TRAP_MC) {
		svm->erratum_383 = svm_erratum_383_hit();
		if (!svm->erratum_383)
			kvisor_machine_check();
	}
	/* KVM's at_instruction_boundary: a host interrupt's exit. */
	svm->vcpu.at_boundary = code == SVM_EXIT_INTR;
}

/*
 * One trip into the guest.  GIF stays clear from before VMRUN to after it,
 * so no interrupt, NMI included, can reach the host while guest state is
 * loaded; host RFLAGS.IF is set for VMRUN itself, because with
 * V_INTR_MASKING that is what makes a physical interrupt exit the guest.
 * The interrupt is then taken by the host when GIF and IF are set again.
 */
int svm_run(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	unsigned long spec;
	struct svm_cpu *sc;
	bool switch_aux;
	u64 host_xcr0;
	int r;

	/*
	 * Whether QEMU's interrupt shadow is real reads guest code, which
	 * may fault in: ask while that can still sleep, so that the asks
	 * with interrupts off (svm_load_guest(), svm_inject_event()) find
	 * the answer cached for this RIP.
	 */
	svm_in_shadow(svm);
	/*
	 * Checked before anything is loaded: an entry called off (-EAGAIN, a
	 * kick arrived) must leave a pending event where the run loop sees
	 * it, not half-injected in the VMCB.
	 */
	r = kvisor_enter_guest_irqoff(vcpu);
	if (r) {
		kvisor_exit_guest_irqoff(vcpu);
		return r;
	}
	svm_load_guest(svm);
	svm_clgi();
	sc = this_cpu_ptr(&svm_cpu);
	svm_pick_asid(svm, smp_processor_id());
	/*
	 * Another VMCB than the last one here: IBPB, as KVM's
	 * svm_vcpu_load(), unless the host does one after every exit anyway.
	 */
	if (sc->current_vmcb != svm->vmcb) {
		sc->current_vmcb = svm->vmcb;
		if (!cpu_feature_enabled(X86_FEATURE_IBPB_ON_VMEXIT))
			kvisor_spec_ibpb(vcpu);
	}
	/*
	 * What vmenter.S does for speculation, as KVM 6.1's __svm_vcpu_run():
	 * the guest's SPEC_CTRL, VERW where the host clears CPU buffers for
	 * VMs (X86_FEATURE_CLEAR_CPU_BUF_VM), and the RSB filled after the
	 * exit where the host runs retpolines (X86_FEATURE_RETPOLINE).
	 */
	spec = kvisor_spec_flags(vcpu);
	if (cpu_feature_enabled(X86_FEATURE_CLEAR_CPU_BUF_VM))
		spec |= KV_SPEC_VERW;
	if (cpu_feature_enabled(X86_FEATURE_RETPOLINE))
		spec |= KV_SPEC_RSB;
	/* SRSO's or Retbleed's "IBPB on VMEXIT" (the untraining is always). */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_ON_VMEXIT))
		spec |= KV_SPEC_IBPB_EXIT;
	/* The guest's SSBD where it goes through VIRT_SPEC_CTRL or LS_CFG. */
	kvisor_spec_virt_enter(vcpu);

	host_xcr0 = kvisor_xcr0_enter(vcpu, svm->vmcb->save.cr4);
	/* RDTSCP and RDPID read the guest's IA32_TSC_AUX (core/msrs.c). */
	switch_aux = kvisor_tsc_aux_enter_irqoff(vcpu);

	svm->entry = (struct svm_entry_state) {
		.efer = svm->vmcb->save.efer, .cr0 = svm->vmcb->save.cr0,
		.cr3 = svm->vmcb->save.cr3, .cr4 = svm->vmcb->save.cr4,
		.dr6 = svm->vmcb->save.dr6, .dr7 = svm->vmcb->save.dr7,
		.cs_attrib = svm->vmcb->save.cs.attrib,
		.intercept_misc2 = svm->vmcb->control.intercept_misc2,
		.asid = svm->vmcb->control.asid,
		.event_inj = svm->vmcb->control.event_inj,
		.iopm_base_pa = svm->vmcb->control.iopm_base_pa,
		.msrpm_base_pa = svm->vmcb->control.msrpm_base_pa,
		.int_state = svm->vmcb->control.int_state,
		.rip = svm->vmcb->save.rip,
	};
	kvisor_debug_enter_irqoff(vcpu);
	/*
	 * QEMU's SVM (svm_emulator_quirks) takes DR7 from the VMCB without
	 * arming the breakpoints: arm them with the same DR7 first.  Only the few
	 * instructions up to VMRUN run with them, interrupts off, and only
	 * a DR7 and addresses the host can take (a guest breakpoint on a
	 * kernel address is then not armed on such a host).
	 */
	if (vcpu->db_loaded && svm_emulator_quirks &&
	    kvisor_debug_host_safe(vcpu, svm->vmcb->save.dr7))
		set_debugreg(svm->vmcb->save.dr7, 7);
	raw_local_irq_enable();
	kv_svm_vmrun(svm->vmcb_pa, vcpu->regs, sc->host_save_pa, spec,
		     &vcpu->spec.spec_ctrl);
	raw_local_irq_disable();
	kvisor_spec_virt_exit(vcpu);
	kvisor_spec_exit_irqoff(vcpu, spec);
	kvisor_tsc_aux_exit_irqoff(switch_aux);
	svm_asid_entered(svm);
	kvisor_debug_exit_irqoff(vcpu);

	kvisor_xcr0_exit(vcpu, host_xcr0);
	svm_stgi();
	svm_exit_irqoff(svm);
	kvisor_exit_guest_irqoff(vcpu);
	svm_save_guest(svm);
	return 0;
}
