// SPDX-License-Identifier: GPL-2.0
/*
 * SVM events: exceptions, external interrupts and NMIs put into the
 * VMCB's EVENTINJ field (APM Vol. 2, "Event Injection"), an event cut
 * short by an exit injected again from EXITINTINFO, when the guest can
 * take an interrupt or NMI (the interrupt shadow, and the NMI blocking
 * SVM does not show), the virtual-interrupt trick that stands in for an
 * interrupt window (APM Vol. 2, "Interrupt and Local APIC Support"), and
 * the event state of KVM_GET/SET_VCPU_EVENTS.  Two of QEMU's departures
 * from AMD's SVM are worked around here (svm_emulator_quirks): external
 * interrupts go in through V_IRQ, and an interrupt shadow is stepped
 * over rather than trusted to VMRUN.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <uapi/asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "svm.h"

void svm_queue_exception(struct kvisor_vcpu *vcpu, int vector,
			 bool has_error, u32 error)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->event = SVM_EVT_VALID | SVM_EVT_TYPE_EXCEPTION |
		     (vector & SVM_EVT_VECTOR_MASK) |
		     (has_error ? SVM_EVT_ERROR_VALID : 0);
	svm->event_err = error;
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

/*
 * Where QEMU's SVM runs the guest (svm_emulator_quirks), an external
 * interrupt the guest can take at once goes in as a virtual interrupt
 * (V_IRQ with its vector, APM Vol. 2, "Virtual Interrupts") instead of
 * through EVENTINJ.  QEMU keeps an interrupt it injected from EVENTINJ as
 * its CPU's pending exception and delivers it again, into whatever the
 * guest runs by then, with interrupts off or not, the next time its
 * thread is kicked; in-tree KVM's guests see it too (irq_once).  A virtual
 * interrupt takes QEMU's ordinary interrupt path instead.  The guest
 * takes it before its first instruction, as it would EVENTINJ's, since
 * it can (IF set, no shadow) and V_IGN_TPR leaves V_TPR out of it.
 */
static bool svm_event_as_virq(struct svm_vcpu *svm)
{
	return svm_emulator_quirks &&
	       (svm->event & SVM_EVT_TYPE_MASK) == SVM_EVT_TYPE_INTR &&
	       (svm->vcpu.rflags & X86_EFLAGS_IF) && !svm_in_shadow(svm);
}

#define SVM_INT_V_IRQ_BITS \
	(SVM_INT_V_IRQ | SVM_INT_V_INTR_PRIO | SVM_INT_V_IGN_TPR)

/*
 * Right before VMRUN: the event queued since the last exit goes into the
 * VMCB's EVENTINJ field, which svm_requeue_event() clears after the exit,
 * or into V_IRQ (above), which it takes back.
 */
void svm_inject_event(struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;

	if (!svm->event)
		return;
	if (svm_event_as_virq(svm)) {
		svm->virq = svm->event;
		vmcb->control.int_vector = svm->event & SVM_EVT_VECTOR_MASK;
		vmcb->control.int_ctl |= SVM_INT_V_IRQ_BITS;
		/* Delivered, not a window's exit. */
		vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT1_VINTR;
	} else {
		/* Real mode pushes no error codes. */
		if (!(vmcb->save.cr0 & X86_CR0_PE))
			svm->event &= ~SVM_EVT_ERROR_VALID;
		vmcb->control.event_inj = svm->event;
		vmcb->control.event_inj_err = svm->event_err;
	}
	svm->event = 0;
}

/*
 * With V_INTR_MASKING the guest's MOV to CR8 writes V_TPR without an
 * exit.  Two cases need that exit, and get it (the write itself is
 * svm_exit_write_cr8()):
 *  - the TPR holds back a requested interrupt: lowering it must deliver
 *    that interrupt at once, which only kvisor can do;
 *  - on QEMU's SVM (svm_emulator_quirks), any write while V_IRQ is set:
 *    QEMU's MOV to CR8 raises a posted virtual interrupt without the
 *    lock its TCG asserts held, which aborts the emulator (svm.rst,
 *    "QEMU's emulated SVM"); EDK2 writes CR8 in every interrupt return.
 * Called right before VMRUN, after the event and window are settled.
 */
void svm_update_cr8_intercept(struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;

	if (kvisor_lapic_tpr_blocks(&svm->vcpu) ||
	    (svm_emulator_quirks && (c->int_ctl & SVM_INT_V_IRQ)))
		c->intercept_cr |= SVM_INTERCEPT_CR8_WRITE;
	else
		c->intercept_cr &= ~SVM_INTERCEPT_CR8_WRITE;
}

/*
 * After the exit, a virtual interrupt that was not taken (V_IRQ still
 * set, or the guest never ran) is queued again.  V_IRQ is cleared either
 * way: left set, the vector would be delivered again.  The guest takes
 * it before any instruction of its own, so no other event can have been
 * on its way at the exit.  It is not traced as reinjected: the guest
 * never saw it, and the exit shows no event in delivery (an exit during
 * its delivery does, in EXITINTINFO, below).
 */
static void svm_virq_end(struct svm_vcpu *svm, bool never_ran)
{
	struct vmcb_control *c = &svm->vmcb->control;

	if (never_ran || (c->int_ctl & SVM_INT_V_IRQ)) {
		svm->event = svm->virq;
		svm->event_err = 0;
	}
	c->int_ctl &= ~SVM_INT_V_IRQ_BITS;
	c->int_vector = 0;
	svm->virq = 0;
}

/*
 * After an exit: EVENTINJ was consumed (or its event is in EXITINTINFO),
 * and an exit taken while the CPU delivered an event (an exception whose
 * handler's stack was not yet mapped, say) loses that event unless it is
 * injected again.  QEMU records a virtual interrupt cut short that way as
 * an exception; no exception has a vector above 31, so it is told apart.
 */
void svm_requeue_event(struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	u32 info = vmcb->control.exit_int_info;

	vmcb->control.event_inj = 0;
	/* A new exit: svm_shadow_is_real() looks at the code again. */
	svm->shadow_rip = ~0ULL;
	if (svm->virq)
		svm_virq_end(svm, false);
	if ((info & SVM_EVT_TYPE_MASK) == SVM_EVT_TYPE_EXCEPTION &&
	    (info & SVM_EVT_VECTOR_MASK) >= 32)
		info = (info & ~(SVM_EVT_TYPE_MASK | SVM_EVT_ERROR_VALID)) |
		       SVM_EVT_TYPE_INTR;
	if (svm_must_reinject(info)) {
		svm->event = info;
		svm->event_err = vmcb->control.exit_int_info_err;
		kvisor_trace_reinject(svm->event);
	}
}

/*
 * VMRUN refused the guest state (VMEXIT_INVALID): the event in EVENTINJ
 * or V_IRQ was not delivered.  Take it back, as vmx_cancel_entry_event()
 * does after a failed VM entry, so that KVM_GET_VCPU_EVENTS reports it
 * (KVM keeps it injected) and KVM_SET_VCPU_EVENTS can drop it; left in
 * EVENTINJ, the next VMRUN would deliver it whatever userspace set since.
 * A #VMEXIT may have moved it to EXITINTINFO already (QEMU's does), so
 * look there too.
 */
void svm_cancel_entry_event(struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;

	if (svm->virq) {
		svm_virq_end(svm, true);
		return;
	}
	if (!(vmcb->control.event_inj & SVM_EVT_VALID)) {
		svm_requeue_event(svm);
		return;
	}
	svm->event = vmcb->control.event_inj;
	svm->event_err = vmcb->control.event_inj_err;
	vmcb->control.event_inj = 0;
}

/* The @n bytes of guest code that end at RIP, read through CS. */
static int svm_read_code_before_rip(struct svm_vcpu *svm, u8 *buf,
				    unsigned int n)
{
	struct kvisor_vcpu *vcpu = &svm->vcpu;
	struct emu_ctxt c = { };
	unsigned int i, len;
	u64 linear, gpa;
	u32 pf_error;

	svm_get_cpu_mode(vcpu, &c);
	/*
	 * svm_load_guest() and svm_inject_event() ask with interrupts off.
	 * svm_run() asks first, so they find the answer cached; still, read
	 * only what is resident here, and never sleep on a fault.
	 */
	pagefault_disable();
	for (i = 0; i < n; i += len) {
		linear = c.seg_base[EMU_SEG_CS] + vcpu->rip - n + i;
		if (c.mode != EMU_MODE_LONG64)
			linear &= 0xffffffff;
		len = min_t(u64, n - i, PAGE_SIZE - (linear & ~PAGE_MASK));
		if (kvisor_gva_to_gpa(vcpu, linear, false, true, &gpa,
				      &pf_error) ||
		    kvisor_read_guest(vcpu->vm, gpa, buf + i, len))
			break;
	}
	pagefault_enable();
	return i < n ? -EFAULT : 0;
}

/*
 * Whether an interrupt shadow QEMU's SVM reports can be real.  QEMU keeps
 * its "interrupts inhibited" state past an instruction that leaves its
 * CPU loop, as PAUSE does, so after "sti; pause" it reports the shadow at
 * the instruction after the PAUSE too.  Taken at its word, kvisor stepped
 * that instruction to get out of the "shadow" (svm_set_irq_window()), and
 * in a "sti; pause; cli" loop an interrupt, which only fits between the
 * PAUSE and the CLI, was never delivered (irq_once).  A real shadow
 * follows STI (0xFB, its last byte whatever its prefixes), POP SS (0x17)
 * or MOV SS (0x8E, at most 7 bytes before RIP with its operand): where
 * none of those bytes come before RIP, the shadow is QEMU's leftover.
 * Code that cannot be read counts as a real shadow, which costs a step.
 */
static bool svm_shadow_is_real(struct svm_vcpu *svm)
{
	u8 b[8];
	int i;

	if (svm->shadow_rip == svm->vcpu.rip)
		return svm->shadow_real;
	svm->shadow_rip = svm->vcpu.rip;
	svm->shadow_real = true;
	if (svm_read_code_before_rip(svm, b, sizeof(b)))
		return true;
	if (b[7] == 0xfb || b[7] == 0x17)
		return true;
	for (i = 1; i < 7; i++)
		if (b[i] == 0x8e)
			return true;
	svm->shadow_real = false;
	return false;
}

/* Is the guest still in the shadow of an STI or MOV SS it executed? */
bool svm_in_shadow(struct svm_vcpu *svm)
{
	/* A handler that moved RIP past the instruction ended the shadow. */
	if (!(svm->vmcb->control.int_state & SVM_INT_STATE_SHADOW) ||
	    svm->vcpu.rip != svm->vmcb->save.rip)
		return false;
	return !svm_emulator_quirks || svm_shadow_is_real(svm);
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
 * the guest could take an interrupt.  But QEMU's VMRUN drops the
 * interrupt shadow (svm_emulator_quirks): in a shadow there the VINTR
 * exit would come before the instruction the shadow protects, and the
 * interrupt after it, so that "sti; hlt" halts with its wake-up already
 * taken.  There kvisor single-steps that instruction instead
 * (svm_step_load()) and injects after it, as the NMI window does.
 */
void svm_set_irq_window(struct kvisor_vcpu *vcpu, bool on)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;

	if (on && svm_emulator_quirks && svm_in_shadow(svm)) {
		on = false;
		/* An event's delivery would push kvisor's TF (below). */
		if (!svm->event)
			svm->step |= SVM_STEP_IRQ;
	}
	if (on) {
		c->int_ctl |= SVM_INT_V_IRQ_BITS;
		c->intercept_misc1 |= SVM_INTERCEPT1_VINTR;
	} else {
		c->int_ctl &= ~SVM_INT_V_IRQ_BITS;
		c->intercept_misc1 &= ~SVM_INTERCEPT1_VINTR;
	}
}

/*
 * NMIs.  The CPU blocks further NMIs from the delivery of one to the next
 * IRET (APM Vol. 2, "NMI Handling"), but SVM (without vNMI) does not show
 * that state: kvisor records it at injection (@nmi_masked) and intercepts
 * IRET to see it end.  The IRET exit comes before the IRET runs, so NMIs
 * stay masked until the guest is seen past it (svm_save_guest()).
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
 * SVM has no NMI-window exit.  Before the handler's IRET, the IRET
 * intercept is the window.  After it, the IRET has yet to run, and an
 * NMI injected now would come before it, inside the handler; the guest
 * must be stopped right after it instead, wherever it returns to and
 * whatever its RFLAGS.IF: VMRUN with RFLAGS.TF set makes the IRET end in
 * a single-step #DB, which kvisor intercepts (svm_step_trap()), at
 * the instruction the NMI is owed before.  An STI or MOV SS shadow is
 * stepped over the same way.  This is what KVM does (nmi_singlestep).
 *
 * An event already in EVENTINJ is not stepped over: its delivery would
 * push kvisor's TF into the handler's frame, to trap, unexplained, at
 * the guest's own IRET.  That NMI waits for the next exit.
 */
void svm_set_nmi_window(struct kvisor_vcpu *vcpu, bool on)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!on || (svm->nmi_masked && !svm->awaiting_iret) || svm->event)
		return;
	svm->step |= SVM_STEP_NMI;
}

/* At VMRUN: TF on, and whether it was the guest's own. */
void svm_step_load(struct svm_vcpu *svm)
{
	if (!svm->step)
		return;
	svm->step_own_tf = svm->vcpu.rflags & X86_EFLAGS_TF;
	svm->vmcb->save.rflags |= X86_EFLAGS_TF;
}

/*
 * At every exit, RFLAGS just read: the step is over, trap or not (the
 * run loop asks for another while the NMI still waits).  kvisor's TF
 * leaves the guest's RFLAGS.  After an IRET they were popped off the
 * stack, where the guest's TF may have been set -- the one bit kvisor
 * cannot tell apart from its own, and clears, as KVM does.
 */
void svm_step_end(struct svm_vcpu *svm)
{
	svm->stepped = svm->step;
	if (!svm->step)
		return;
	svm->step = 0;
	if (!svm->step_own_tf)
		svm->vcpu.rflags &= ~X86_EFLAGS_TF;
}

/*
 * An intercepted #DB: is it kvisor's step, and nothing else?  DR6.BS is
 * taken out of @dr6_bits unless the guest single-stepped itself; the
 * step's reasons (SVM_STEP_*) when nothing is left for the guest (a data
 * breakpoint the stepped instruction hit is still the guest's), else 0.
 */
u8 svm_step_trap(struct svm_vcpu *svm, u64 *dr6_bits)
{
	if (!svm->stepped || svm->step_own_tf ||
	    !(*dr6_bits & DR_STEP))
		return 0;
	*dr6_bits &= ~(u64)DR_STEP;
	return *dr6_bits ? 0 : svm->stepped;
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
	svm->shadow_rip = ~0ULL;
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
