// SPDX-License-Identifier: GPL-2.0
/*
 * SVM vCPUs: the VMCB's reset state, guest state in and out of it, and
 * one trip through VMRUN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/trapnr.h>

#include "svm.h"

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

	/*
	 * #MC is the host's.  #DB and #AC are intercepted and handed back:
	 * delivering one can raise another, forever, inside the CPU, where
	 * no host interrupt would ever be taken again.
	 */
	c->intercept_exceptions = BIT(X86_TRAP_MC) | BIT(X86_TRAP_DB) |
				  BIT(X86_TRAP_AC);
	/* Every DR access: the guest's debug registers are kvisor's copy. */
	c->intercept_dr = ~0U;
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
		SVM_INTERCEPT2_WBINVD;
	c->iopm_base_pa = svm_iopm_pa;
	c->msrpm_base_pa = svm_msrpm_pa;
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

	kvisor_vcpu_uninit(vcpu);
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
}

/* Segments ------------------------------------------------------------ */

static void svm_seg_to_kvm(const struct vmcb_seg *s, struct kvm_segment *k)
{
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->attrib & SVM_SEG_TYPE_MASK;
	k->s = (s->attrib >> SVM_SEG_S_SHIFT) & 1;
	k->dpl = (s->attrib >> SVM_SEG_DPL_SHIFT) & 3;
	k->present = (s->attrib >> SVM_SEG_P_SHIFT) & 1;
	k->avl = (s->attrib >> SVM_SEG_AVL_SHIFT) & 1;
	k->l = (s->attrib >> SVM_SEG_L_SHIFT) & 1;
	k->db = (s->attrib >> SVM_SEG_DB_SHIFT) & 1;
	k->g = (s->attrib >> SVM_SEG_G_SHIFT) & 1;
	/* SVM has no "unusable" bit: a segment that is not present is. */
	k->unusable = !k->present;
	k->padding = 0;
}

static void svm_seg_from_kvm(struct vmcb_seg *s, const struct kvm_segment *k)
{
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->attrib = (k->type & SVM_SEG_TYPE_MASK) |
		    (k->s & 1) << SVM_SEG_S_SHIFT |
		    (k->dpl & 3) << SVM_SEG_DPL_SHIFT |
		    (k->present & 1) << SVM_SEG_P_SHIFT |
		    (k->avl & 1) << SVM_SEG_AVL_SHIFT |
		    (k->l & 1) << SVM_SEG_L_SHIFT |
		    (k->db & 1) << SVM_SEG_DB_SHIFT |
		    (k->g & 1) << SVM_SEG_G_SHIFT;
	if (k->unusable)
		s->attrib = 0;
}

void svm_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;

	memset(sregs, 0, sizeof(*sregs));
	svm_seg_to_kvm(&s->cs, &sregs->cs);
	svm_seg_to_kvm(&s->ds, &sregs->ds);
	svm_seg_to_kvm(&s->es, &sregs->es);
	svm_seg_to_kvm(&s->fs, &sregs->fs);
	svm_seg_to_kvm(&s->gs, &sregs->gs);
	svm_seg_to_kvm(&s->ss, &sregs->ss);
	svm_seg_to_kvm(&s->tr, &sregs->tr);
	svm_seg_to_kvm(&s->ldtr, &sregs->ldt);
	/* The CPU keeps the CPL in the VMCB; KVM reports it as SS.DPL. */
	sregs->ss.dpl = s->cpl;
	sregs->gdt.base = s->gdtr.base;
	sregs->gdt.limit = s->gdtr.limit;
	sregs->idt.base = s->idtr.base;
	sregs->idt.limit = s->idtr.limit;
	sregs->cr0 = s->cr0;
	sregs->cr2 = s->cr2;
	sregs->cr3 = s->cr3;
	sregs->cr4 = s->cr4;
	sregs->cr8 = svm->vmcb->control.int_ctl & 0xf;	/* V_TPR */
	sregs->efer = s->efer & ~KV_EFER_SVME;
	sregs->apic_base = vcpu->apic_base;
}

int svm_set_sregs(struct kvisor_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save *s = &svm->vmcb->save;

	svm_seg_from_kvm(&s->cs, &sregs->cs);
	svm_seg_from_kvm(&s->ds, &sregs->ds);
	svm_seg_from_kvm(&s->es, &sregs->es);
	svm_seg_from_kvm(&s->fs, &sregs->fs);
	svm_seg_from_kvm(&s->gs, &sregs->gs);
	svm_seg_from_kvm(&s->ss, &sregs->ss);
	svm_seg_from_kvm(&s->tr, &sregs->tr);
	svm_seg_from_kvm(&s->ldtr, &sregs->ldt);
	s->cpl = sregs->ss.dpl & 3;
	s->gdtr.base = sregs->gdt.base;
	s->gdtr.limit = sregs->gdt.limit;
	s->idtr.base = sregs->idt.base;
	s->idtr.limit = sregs->idt.limit;
	s->cr0 = sregs->cr0;
	s->cr2 = sregs->cr2;
	s->cr3 = sregs->cr3;
	s->cr4 = sregs->cr4;
	svm->vmcb->control.int_ctl = (svm->vmcb->control.int_ctl & ~0xf) |
				     (sregs->cr8 & 0xf);
	s->efer = sregs->efer | KV_EFER_SVME;
	vcpu->apic_base = sregs->apic_base;
	/* New paging state: translations cached under the old one go. */
	svm->flush = true;
	return 0;
}

void svm_get_cpu_mode(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	if (!(s->cr0 & X86_CR0_PE))
		ctxt->mode = EMU_MODE_REAL;
	else if ((s->efer & EFER_LMA) && (s->cs.attrib & BIT(SVM_SEG_L_SHIFT)))
		ctxt->mode = EMU_MODE_LONG64;
	else if (s->cs.attrib & BIT(SVM_SEG_DB_SHIFT))
		ctxt->mode = EMU_MODE_PROT32;
	else
		ctxt->mode = EMU_MODE_PROT16;
	ctxt->seg_base[EMU_SEG_ES] = s->es.base;
	ctxt->seg_base[EMU_SEG_CS] = s->cs.base;
	ctxt->seg_base[EMU_SEG_SS] = s->ss.base;
	ctxt->seg_base[EMU_SEG_DS] = s->ds.base;
	ctxt->seg_base[EMU_SEG_FS] = s->fs.base;
	ctxt->seg_base[EMU_SEG_GS] = s->gs.base;
}

void svm_get_paging(struct kvisor_vcpu *vcpu, u64 *cr0, u64 *cr3, u64 *cr4,
		    u64 *efer)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	*cr0 = s->cr0;
	*cr3 = s->cr3;
	*cr4 = s->cr4;
	*efer = s->efer;
}

void svm_queue_exception(struct kvisor_vcpu *vcpu, int vector,
			 bool has_error, u32 error)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->event = SVM_EVT_VALID | SVM_EVT_TYPE_EXCEPTION |
		     (vector & SVM_EVT_VECTOR_MASK) |
		     (has_error ? SVM_EVT_ERROR_VALID : 0);
	svm->event_err = error;
}

void svm_set_cr2(struct kvisor_vcpu *vcpu, u64 cr2)
{
	to_svm(vcpu)->vmcb->save.cr2 = cr2;
}

void svm_request_tlb_flush(struct kvisor_vcpu *vcpu)
{
	WRITE_ONCE(to_svm(vcpu)->flush, true);
}

/* World switch ---------------------------------------------------------- */

/*
 * Give the vCPU an ASID that no stale translation on this CPU can carry:
 * a fresh one when it moved here, when the CPU's ASID space was recycled,
 * or when its nested tables lost entries.  Running out of ASIDs starts a
 * new generation, with one flush of every ASID.
 */
static void svm_pick_asid(struct svm_vcpu *svm, int cpu)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct vmcb_control *c = &svm->vmcb->control;

	if (svm->asid_cpu == cpu && svm->asid_gen == sc->asid_gen &&
	    !READ_ONCE(svm->flush))
		return;
	WRITE_ONCE(svm->flush, false);
	if (sc->next_asid > sc->max_asid) {
		sc->asid_gen++;
		sc->next_asid = 1;
		c->tlb_ctl = SVM_TLB_FLUSH_ALL;
	}
	svm->asid = sc->next_asid++;
	svm->asid_gen = sc->asid_gen;
	svm->asid_cpu = cpu;
	c->asid = svm->asid;
}

/* Is the guest still in the shadow of an STI or MOV SS it executed? */
static bool svm_in_shadow(struct svm_vcpu *svm)
{
	/* A handler that moved RIP past the instruction ended the shadow. */
	return (svm->vmcb->control.int_state & SVM_INT_STATE_SHADOW) &&
	       svm->vcpu.rip == svm->vmcb->save.rip;
}

bool svm_interrupt_allowed(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	return (vcpu->rflags & X86_EFLAGS_IF) && !svm_in_shadow(svm) &&
	       !svm->event;
}

void svm_inject_irq(struct kvisor_vcpu *vcpu, u8 vector)
{
	to_svm(vcpu)->event = SVM_EVT_VALID | SVM_EVT_TYPE_INTR | vector;
}

/*
 * SVM has no "interrupt window" exit as such: post a virtual interrupt
 * (V_IRQ) and intercept its delivery (VINTR), which happens exactly when
 * the guest could take an interrupt.
 */
void svm_set_irq_window(struct kvisor_vcpu *vcpu, bool on)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	u32 bits = SVM_INT_V_IRQ | SVM_INT_V_INTR_PRIO | SVM_INT_V_IGN_TPR;

	if (on) {
		c->int_ctl |= bits;
		c->intercept_misc1 |= SVM_INTERCEPT1_VINTR;
	} else {
		c->int_ctl &= ~bits;
		c->intercept_misc1 &= ~SVM_INTERCEPT1_VINTR;
	}
}

/*
 * NMIs.  The CPU blocks further NMIs from the delivery of one to the IRET
 * of its handler, but SVM (without vNMI) does not show that state: kvisor
 * records it at injection and intercepts IRET to see it end.  The IRET
 * exit comes before the IRET runs, so the NMI stays masked until the
 * guest is seen past it.
 */
bool svm_nmi_allowed(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	return !svm->nmi_masked && !svm_in_shadow(svm) && !svm->event;
}

void svm_inject_nmi(struct kvisor_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->event = SVM_EVT_VALID | SVM_EVT_TYPE_NMI | X86_TRAP_NMI;
	svm->nmi_masked = true;
	svm->vmcb->control.intercept_misc1 |= SVM_INTERCEPT1_IRET;
}

/*
 * While masked, the IRET intercept is the window.  Once the IRET exited
 * but has not run, any exit after it will do: an interrupt window, since
 * a handler's IRET usually sets IF again.
 */
void svm_set_nmi_window(struct kvisor_vcpu *vcpu, bool on)
{
	if (on && to_svm(vcpu)->awaiting_iret)
		svm_set_irq_window(vcpu, true);
}

/* SVM has one shadow bit for both STI and MOV SS: KVM reports both. */
void svm_get_event_state(struct kvisor_vcpu *vcpu,
			 struct kvisor_event_state *st)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	st->event = svm->event;
	st->error = svm->event_err;
	st->shadow = svm_in_shadow(svm) ?
		     KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI : 0;
	st->nmi_masked = svm->nmi_masked;
}

void svm_set_event_state(struct kvisor_vcpu *vcpu,
			 const struct kvisor_event_state *st)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	svm->event = st->event;
	svm->event_err = st->error;
	/* The shadow holds while RIP stays where it is now (svm_in_shadow). */
	vmcb->save.rip = vcpu->rip;
	if (st->shadow)
		vmcb->control.int_state |= SVM_INT_STATE_SHADOW;
	else
		vmcb->control.int_state &= ~SVM_INT_STATE_SHADOW;
	svm->nmi_masked = st->nmi_masked;
	svm->awaiting_iret = false;
	if (st->nmi_masked)
		vmcb->control.intercept_misc1 |= SVM_INTERCEPT1_IRET;
	else
		vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT1_IRET;
}

int svm_exit_iret(struct svm_vcpu *svm)
{
	svm->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT1_IRET;
	svm->awaiting_iret = true;
	svm->iret_rip = svm->vcpu.rip;
	return kvisor_handle_nmi_window(&svm->vcpu);
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
	/* The bits a #DB sets in it are then exactly the new ones. */
	vmcb->save.dr6 = 0xffff0ff0;
	/*
	 * The guest's MOV to and from CR8 use V_TPR without exits; the
	 * in-kernel LAPIC's TPR is the real one, copied in and back out.
	 */
	if (vcpu->apic)
		vmcb->control.int_ctl = (vmcb->control.int_ctl & ~0xf) |
					kvisor_lapic_get_cr8(vcpu);
	if (svm->event) {
		/* Real mode pushes no error codes. */
		if (!(vmcb->save.cr0 & X86_CR0_PE))
			svm->event &= ~SVM_EVT_ERROR_VALID;
		vmcb->control.event_inj = svm->event;
		vmcb->control.event_inj_err = svm->event_err;
		svm->event = 0;
	}
}

/*
 * An event cut short by the exit.  INTn, INT3 and INTO are not injected
 * again: RIP still points at the instruction, which raises them anew when
 * the guest resumes (without NRIPS kvisor could not inject them with the
 * right return address anyway).
 */
static bool svm_must_reinject(u32 info)
{
	u32 type = info & SVM_EVT_TYPE_MASK, vector = info & SVM_EVT_VECTOR_MASK;

	if (!(info & SVM_EVT_VALID) || type == SVM_EVT_TYPE_SOFT_INTR)
		return false;
	return !(type == SVM_EVT_TYPE_EXCEPTION &&
		 (vector == X86_TRAP_BP || vector == X86_TRAP_OF));
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
	if ((u32)vmcb->control.exit_code == (u32)SVM_EXIT_INVALID)
		return;
	vmcb->control.tlb_ctl = SVM_TLB_NONE;
	vcpu->regs[EMU_RAX] = vmcb->save.rax;
	vcpu->regs[EMU_RSP] = vmcb->save.rsp;
	vcpu->rip = vmcb->save.rip;
	vcpu->rflags = vmcb->save.rflags;
	if (svm->awaiting_iret && vcpu->rip != svm->iret_rip) {
		svm->awaiting_iret = false;
		svm->nmi_masked = false;
	}
	if (vcpu->apic &&
	    (vmcb->control.int_ctl & 0xf) != kvisor_lapic_get_cr8(vcpu))
		kvisor_lapic_set_cr8(vcpu, vmcb->control.int_ctl & 0xf);
	vmcb->control.event_inj = 0;
	/*
	 * An exit taken while the CPU delivered an event (an exception whose
	 * handler's stack was not yet mapped, say) loses that event unless
	 * it is injected again.
	 */
	if (svm_must_reinject(vmcb->control.exit_int_info)) {
		svm->event = vmcb->control.exit_int_info;
		svm->event_err = vmcb->control.exit_int_info_err;
	}
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
	struct svm_cpu *sc;
	u64 host_xcr0;
	int r;

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
	asm volatile("clgi" ::: "memory");
	sc = this_cpu_ptr(&svm_cpu);
	svm_pick_asid(svm, smp_processor_id());

	host_xcr0 = kvisor_xcr0_enter(vcpu, svm->vmcb->save.cr4);

	svm->entry = (struct svm_entry_state) {
		.efer = svm->vmcb->save.efer, .cr0 = svm->vmcb->save.cr0,
		.cr4 = svm->vmcb->save.cr4, .dr6 = svm->vmcb->save.dr6,
		.dr7 = svm->vmcb->save.dr7, .cs_attrib = svm->vmcb->save.cs.attrib,
		.intercept_misc2 = svm->vmcb->control.intercept_misc2,
		.asid = svm->vmcb->control.asid,
	};
	kvisor_debug_enter_irqoff(vcpu);
	/*
	 * QEMU's SVM (recognizable by its lack of NRIPS, which every AMD
	 * CPU since 2009 has) takes DR7 from the VMCB without arming the
	 * breakpoints: arm them with the same DR7 first.  Only the few
	 * instructions up to VMRUN run with them, interrupts off.
	 */
	if (vcpu->db_loaded && !svm_has_nrips)
		set_debugreg(svm->vmcb->save.dr7, 7);
	raw_local_irq_enable();
	kv_svm_vmrun(svm->vmcb_pa, vcpu->regs, sc->host_save_pa);
	raw_local_irq_disable();
	kvisor_debug_exit_irqoff(vcpu);

	kvisor_xcr0_exit(vcpu, host_xcr0);
	asm volatile("stgi" ::: "memory");
	kvisor_exit_guest_irqoff(vcpu);
	svm_save_guest(svm);
	return 0;
}
