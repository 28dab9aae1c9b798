// SPDX-License-Identifier: GPL-2.0
/*
 * VMX events: exceptions, external interrupts and NMIs put into the
 * VM-entry interruption-information fields (SDM Vol. 3, "Event
 * Injection"), an event cut short by an exit injected again (SDM Vol. 3,
 * "Information for VM Exits During Event Delivery"), when the guest can
 * take an interrupt or NMI (the interruptibility state, SDM Vol. 3,
 * "Guest Non-Register State"), the interrupt- and NMI-window exits that
 * say when it can, and the event state of KVM_GET/SET_VCPU_EVENTS.
 */
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "vmx.h"

void vmx_queue_exception(struct kvisor_vcpu *vcpu, int vector,
			 bool has_error, u32 error)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event = VMX_INTR_INFO_VALID | VMX_INTR_TYPE_HW_EXCEPTION |
		     (vector & VMX_INTR_INFO_VECTOR_MASK) |
		     (has_error ? VMX_INTR_INFO_ERROR_VALID : 0);
	vmx->event_err = error;
}

/*
 * VM entry insists that a single-step #DB be pending (BS in the pending
 * debug exceptions) when RFLAGS.TF is set in an STI or MOV SS shadow: TF
 * cannot have been turned on by the instruction that opened the shadow.
 * It does not look at the #DB kvisor injects, so say it there too.
 */
static void vmx_db_pending_check(struct vmx_vcpu *vmx)
{
	if ((vmx->event & (VMX_INTR_TYPE_MASK | VMX_INTR_INFO_VECTOR_MASK)) !=
	    (VMX_INTR_TYPE_HW_EXCEPTION | X86_TRAP_DB) ||
	    !(vmx->vcpu.rflags & X86_EFLAGS_TF) ||
	    !(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
	      (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS)))
		return;
	vmcs_writel(VMCS_GUEST_PENDING_DBG,
		    vmcs_readl(VMCS_GUEST_PENDING_DBG) | BIT(14));
}

/*
 * Right before entry, the VMCS current: the event queued since the last
 * exit goes into the VM-entry interruption-information fields, which
 * the CPU clears at the next exit.
 */
void vmx_inject_event(struct vmx_vcpu *vmx)
{
	if (vmx->event) {
		/* Real mode pushes no error codes; VM entry insists. */
		if (!(vmcs_readl(VMCS_GUEST_CR0) & X86_CR0_PE))
			vmx->event &= ~VMX_INTR_INFO_ERROR_VALID;
		vmcs_write32(VMCS_ENTRY_INTR_INFO, vmx->event);
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, vmx->event_err);
		vmcs_write32(VMCS_ENTRY_INSTRUCTION_LEN, vmx->event_insn_len);
		vmx_db_pending_check(vmx);
		vmx->event = 0;
	}
	vmx->entry_event = vmcs_read32(VMCS_ENTRY_INTR_INFO);
}

/*
 * A VM entry that failed, as an instruction or on the guest state (SDM
 * Vol. 3, "VM-Entry Failures During or After Loading Guest State": "the
 * valid bit in the VM-entry interruption-information field is not
 * cleared"), delivered nothing.  Take the event back into vmx->event, as
 * KVM keeps it injected: KVM_GET_VCPU_EVENTS then reports it and
 * KVM_SET_VCPU_EVENTS can drop it.  Left in the VMCS, it would be injected
 * by the next entry whatever userspace set since, into a guest that may
 * no longer accept it (RFLAGS.IF=0 for an external interrupt).
 */
void vmx_cancel_entry_event(struct vmx_vcpu *vmx)
{
	u32 info = vmcs_read32(VMCS_ENTRY_INTR_INFO);

	if (!(info & VMX_INTR_INFO_VALID))
		return;
	vmx->event = info & (VMX_INTR_INFO_VALID | VMX_INTR_INFO_ERROR_VALID |
			     VMX_INTR_TYPE_MASK | VMX_INTR_INFO_VECTOR_MASK);
	vmx->event_err = vmcs_read32(VMCS_ENTRY_EXCEPTION_ERROR_CODE);
	vmx->event_insn_len = vmcs_read32(VMCS_ENTRY_INSTRUCTION_LEN);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
}

/*
 * An IRET unblocks NMIs as it starts, even if it then faults (SDM Vol. 3,
 * "Handling Multiple NMIs").  A fault the guest never sees -- an EPT
 * violation on the stack the IRET pops, an exception kvisor intercepts --
 * is an exit in the middle of it, with virtual-NMI blocking already
 * cleared: "NMI unblocking due to IRET", bit 12 of the exit interruption
 * information or of the EPT-violation qualification.  The IRET runs again
 * when the guest resumes, so set the blocking again, or an NMI that waits
 * would be injected before it, inside the handler (SDM Vol. 3, "Resuming
 * Guest Software after Handling an Exception").  The bit means nothing
 * when the exit came during event delivery (the caller checks) or for a
 * double fault.
 */
static void vmx_recover_nmi_blocking(struct vmx_vcpu *vmx)
{
	const struct vmx_exit_info *e = &vmx->exit;
	bool unblocked;

	switch (e->reason & 0xffff) {
	case EXIT_REASON_EXCEPTION_NMI:
		unblocked = (e->intr_info & VMX_INTR_INFO_VALID) &&
			    (e->intr_info & VMX_NMI_UNBLOCKED_BY_IRET) &&
			    (e->intr_info & VMX_INTR_INFO_VECTOR_MASK) !=
			    X86_TRAP_DF;
		break;
	case EXIT_REASON_EPT_VIOLATION:
		unblocked = e->qualification & VMX_NMI_UNBLOCKED_BY_IRET;
		break;
	default:
		return;
	}
	if (unblocked)
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) |
			     VMX_INTR_BLOCK_NMI);
}

/*
 * After an exit, from the exit information vmx_save_exit() read: an exit
 * taken while the CPU delivered an event (an exception whose handler's
 * stack was not yet mapped, say) loses that event unless it is injected
 * again; an exit in the middle of an IRET owes NMI blocking back.
 */
void vmx_requeue_event(struct vmx_vcpu *vmx)
{
	const struct vmx_exit_info *e = &vmx->exit;

	if (e->idt_vectoring & VMX_INTR_INFO_VALID) {
		vmx->event = e->idt_vectoring & (VMX_INTR_INFO_VALID |
			VMX_INTR_INFO_ERROR_VALID | VMX_INTR_TYPE_MASK |
			VMX_INTR_INFO_VECTOR_MASK);
		vmx->event_err = e->idt_vectoring_error;
		vmx->event_insn_len = e->insn_len;
		kvisor_trace_reinject(vmx->event);
		return;
	}
	vmx_recover_nmi_blocking(vmx);
}

bool vmx_interrupt_allowed(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool shadow;

	if (!(vcpu->rflags & X86_EFLAGS_IF) || vmx->event)
		return false;
	/* A handler that moved RIP past the STI or MOV SS ended its shadow. */
	if (vcpu->rip != vmx->vmcs_rip)
		return true;
	vmx_load(vmx);
	shadow = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		 (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS);
	vmx_put(vmx);
	return !shadow;
}

void vmx_inject_irq(struct kvisor_vcpu *vcpu, u8 vector)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event = VMX_INTR_INFO_VALID | VMX_INTR_TYPE_EXTERNAL | vector;
	vmx->event_insn_len = 0;
}

/* Switch one primary processor-based control on or off. */
static void vmx_proc_control(struct kvisor_vcpu *vcpu, u32 bit, bool on)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 proc;

	vmx_load(vmx);
	proc = vmcs_read32(VMCS_PROC_CONTROLS);
	vmcs_write32(VMCS_PROC_CONTROLS, on ? proc | bit : proc & ~bit);
	vmx_put(vmx);
}

/* Interrupt-window exiting: exit as soon as the guest could take one. */
void vmx_set_irq_window(struct kvisor_vcpu *vcpu, bool on)
{
	vmx_proc_control(vcpu, PROC_INTR_WINDOW_EXITING, on);
}

/*
 * NMIs: with virtual NMIs the CPU tracks an NMI handler's run (blocking by
 * NMI, until its IRET) in the guest's interruptibility state, and exits
 * when it ends if asked (NMI-window exiting).
 */
bool vmx_nmi_allowed(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 intr;

	if (vmx->event)
		return false;
	vmx_load(vmx);
	intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	if (vcpu->rip != vmx->vmcs_rip)
		intr &= ~(VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS);
	vmx_put(vmx);
	return !(intr & (VMX_INTR_BLOCK_NMI | VMX_INTR_BLOCK_STI |
			 VMX_INTR_BLOCK_MOV_SS));
}

void vmx_inject_nmi(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event = VMX_INTR_INFO_VALID | VMX_INTR_TYPE_NMI | X86_TRAP_NMI;
	vmx->event_insn_len = 0;
}

/* NMI-window exiting: exit as soon as the guest could take an NMI. */
void vmx_set_nmi_window(struct kvisor_vcpu *vcpu, bool on)
{
	vmx_proc_control(vcpu, PROC_NMI_WINDOW_EXITING, on);
}

/* VMX's STI and MOV SS blocking bits, and KVM's names for them. */
void vmx_get_event_state(struct kvisor_vcpu *vcpu,
			 struct kvisor_event_state *st)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 intr;

	st->event = vmx->event;
	st->error = vmx->event_err;
	vmx_load(vmx);
	intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	/* A handler that moved RIP on ended the shadow (vmx_load_guest()). */
	if (vcpu->rip != vmx->vmcs_rip)
		intr &= ~(VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS);
	vmx_put(vmx);
	st->shadow = (intr & VMX_INTR_BLOCK_STI ? KVM_X86_SHADOW_INT_STI : 0) |
		     (intr & VMX_INTR_BLOCK_MOV_SS ? KVM_X86_SHADOW_INT_MOV_SS : 0);
	st->nmi_masked = intr & VMX_INTR_BLOCK_NMI;
}

void vmx_set_event_state(struct kvisor_vcpu *vcpu,
			 const struct kvisor_event_state *st)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 intr;

	vmx->event = st->event;
	vmx->event_err = st->error;
	/* A software interrupt is pushed with the length of its INT n. */
	vmx->event_insn_len = KVISOR_EVT_TYPE(st->event) == KVISOR_EVT_SOFTINT ?
			      2 : 0;
	vmx_load(vmx);
	intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
	       ~(VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS | VMX_INTR_BLOCK_NMI);
	if (st->shadow & KVM_X86_SHADOW_INT_STI)
		intr |= VMX_INTR_BLOCK_STI;
	else if (st->shadow & KVM_X86_SHADOW_INT_MOV_SS)
		intr |= VMX_INTR_BLOCK_MOV_SS;
	if (st->nmi_masked)
		intr |= VMX_INTR_BLOCK_NMI;
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr);
	/* The shadow holds while RIP stays where it is now. */
	vmx->vmcs_rip = vcpu->rip;
	vmcs_writel(VMCS_GUEST_RIP, vmx->vmcs_rip);
	vmx_put(vmx);
}
