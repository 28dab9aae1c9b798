// SPDX-License-Identifier: GPL-2.0
/*
 * VMX guest state as KVM's ABI sees it: segments, control registers and
 * EFER in and out of the VMCS.  Every function here runs between
 * vmx_load() and vmx_put(), or is called by one that does.
 *
 * The guest's CR0 and CR4 are not what the hardware holds: VMX forces
 * some bits on (CR0.NE, CR4.VMXE), so the hardware value carries them and
 * the read shadow holds what the guest believes; for the bits in the
 * guest/host mask, reads return the shadow and writes exit.
 */
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "vmx.h"

static unsigned long vmx_guest_view(unsigned long hw, unsigned long shadow,
				    unsigned long mask)
{
	return (hw & ~mask) | (shadow & mask);
}

static unsigned long vmx_guest_cr0(void)
{
	return vmx_guest_view(vmcs_readl(VMCS_GUEST_CR0),
			      vmcs_readl(VMCS_CR0_READ_SHADOW),
			      vmcs_readl(VMCS_CR0_GUEST_HOST_MASK));
}

static unsigned long vmx_guest_cr4(void)
{
	return vmx_guest_view(vmcs_readl(VMCS_GUEST_CR4),
			      vmcs_readl(VMCS_CR4_READ_SHADOW),
			      vmcs_readl(VMCS_CR4_GUEST_HOST_MASK));
}

/* Long mode is active when EFER.LME and CR0.PG are both set. */
static void vmx_update_long_mode(u64 efer, unsigned long cr0)
{
	u32 entry = vmcs_read32(VMCS_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE;

	if ((efer & EFER_LME) && (cr0 & X86_CR0_PG))
		efer |= EFER_LMA;
	else
		efer &= ~EFER_LMA;
	vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
	vmcs_write32(VMCS_ENTRY_CONTROLS,
		     entry | (efer & EFER_LMA ? ENTRY_IA32E_MODE : 0));
}

void vmx_set_cr0(struct vmx_vcpu *vmx, unsigned long cr0)
{
	const struct vmx_config *c = &vmx_config;
	u64 fixed0 = c->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);

	vmcs_writel(VMCS_CR0_READ_SHADOW, cr0);
	vmcs_writel(VMCS_GUEST_CR0, (cr0 | fixed0) & c->cr0_fixed1);
	vmx_update_long_mode(vmcs_read64(VMCS_GUEST_IA32_EFER), cr0);
}

void vmx_set_cr4(struct vmx_vcpu *vmx, unsigned long cr4)
{
	const struct vmx_config *c = &vmx_config;

	vmcs_writel(VMCS_CR4_READ_SHADOW, cr4);
	vmcs_writel(VMCS_GUEST_CR4, (cr4 | c->cr4_fixed0) & c->cr4_fixed1);
}

void vmx_set_efer(struct vmx_vcpu *vmx, u64 efer)
{
	vmx_update_long_mode(efer, vmx_guest_cr0());
}

/*
 * PAE paging outside long mode keeps its four top-level entries in CPU
 * registers, loaded when CR3 is.  With EPT, VM entry takes them from the
 * VMCS, so when kvisor (not the guest's own MOV to CR3) sets up PAE paging
 * it must read them from guest memory first: before vmx_load(), since
 * reading guest memory may sleep.
 */
bool vmx_read_pdptrs(struct kvisor_vcpu *vcpu, u64 cr0, u64 cr3, u64 cr4,
		     u64 efer, u64 pdptrs[4])
{
	if (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE) || (efer & EFER_LMA))
		return false;
	if (kvisor_read_guest(vcpu->vm, cr3 & GENMASK_ULL(31, 5), pdptrs,
			      4 * sizeof(u64)))
		memset(pdptrs, 0, 4 * sizeof(u64));
	return true;
}

void vmx_write_pdptrs(const u64 pdptrs[4])
{
	int i;

	for (i = 0; i < 4; i++)
		vmcs_write64(VMCS_GUEST_PDPTR0 + i * 2, pdptrs[i]);
}

/* Segments ------------------------------------------------------------- */

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

/* Per segment, the selector, limit, AR and base fields are 2 apart. */
static void vmx_get_seg(int seg, struct kvm_segment *k)
{
	u32 ar = vmcs_read32(VMCS_GUEST_ES_AR + seg * 2);

	k->selector = vmcs_read16(VMCS_GUEST_ES_SELECTOR + seg * 2);
	k->limit = vmcs_read32(VMCS_GUEST_ES_LIMIT + seg * 2);
	k->base = vmcs_readl(VMCS_GUEST_ES_BASE + seg * 2);
	k->type = ar & VMX_AR_TYPE_MASK;
	k->s = !!(ar & VMX_AR_S);
	k->dpl = (ar >> VMX_AR_DPL_SHIFT) & 3;
	k->present = !!(ar & VMX_AR_P);
	k->avl = !!(ar & VMX_AR_AVL);
	k->l = !!(ar & VMX_AR_L);
	k->db = !!(ar & VMX_AR_DB);
	k->g = !!(ar & VMX_AR_G);
	k->unusable = !!(ar & VMX_AR_UNUSABLE);
	k->padding = 0;
}

static void vmx_set_seg(int seg, const struct kvm_segment *k)
{
	u32 ar;

	/* VMX marks a null or absent segment "unusable" instead. */
	if (k->unusable || !k->present)
		ar = VMX_AR_UNUSABLE;
	else
		ar = (k->type & VMX_AR_TYPE_MASK) | (k->s ? VMX_AR_S : 0) |
		     (k->dpl & 3) << VMX_AR_DPL_SHIFT | VMX_AR_P |
		     (k->avl ? VMX_AR_AVL : 0) | (k->l ? VMX_AR_L : 0) |
		     (k->db ? VMX_AR_DB : 0) | (k->g ? VMX_AR_G : 0);
	vmcs_write16(VMCS_GUEST_ES_SELECTOR + seg * 2, k->selector);
	vmcs_write32(VMCS_GUEST_ES_LIMIT + seg * 2, k->limit);
	vmcs_writel(VMCS_GUEST_ES_BASE + seg * 2, k->base);
	vmcs_write32(VMCS_GUEST_ES_AR + seg * 2, ar);
}

void vmx_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	memset(sregs, 0, sizeof(*sregs));
	vmx_load(vmx);
	vmx_get_seg(SEG_CS, &sregs->cs);
	vmx_get_seg(SEG_DS, &sregs->ds);
	vmx_get_seg(SEG_ES, &sregs->es);
	vmx_get_seg(SEG_FS, &sregs->fs);
	vmx_get_seg(SEG_GS, &sregs->gs);
	vmx_get_seg(SEG_SS, &sregs->ss);
	vmx_get_seg(SEG_TR, &sregs->tr);
	vmx_get_seg(SEG_LDTR, &sregs->ldt);
	sregs->gdt.base = vmcs_readl(VMCS_GUEST_GDTR_BASE);
	sregs->gdt.limit = vmcs_read32(VMCS_GUEST_GDTR_LIMIT);
	sregs->idt.base = vmcs_readl(VMCS_GUEST_IDTR_BASE);
	sregs->idt.limit = vmcs_read32(VMCS_GUEST_IDTR_LIMIT);
	sregs->cr0 = vmx_guest_cr0();
	sregs->cr3 = vmcs_readl(VMCS_GUEST_CR3);
	sregs->cr4 = vmx_guest_cr4();
	sregs->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	sregs->cr8 = vmx->cr8;
	vmx_put(vmx);
	sregs->cr2 = vmx->cr2;
	sregs->apic_base = vcpu->apic_base;
}

int vmx_set_sregs(struct kvisor_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool pae;
	u64 pdptrs[4];

	pae = vmx_read_pdptrs(vcpu, sregs->cr0, sregs->cr3, sregs->cr4,
			      sregs->efer, pdptrs);
	vmx_load(vmx);
	if (pae)
		vmx_write_pdptrs(pdptrs);
	vmx_set_seg(SEG_CS, &sregs->cs);
	vmx_set_seg(SEG_DS, &sregs->ds);
	vmx_set_seg(SEG_ES, &sregs->es);
	vmx_set_seg(SEG_FS, &sregs->fs);
	vmx_set_seg(SEG_GS, &sregs->gs);
	vmx_set_seg(SEG_SS, &sregs->ss);
	vmx_set_seg(SEG_TR, &sregs->tr);
	vmx_set_seg(SEG_LDTR, &sregs->ldt);
	vmcs_writel(VMCS_GUEST_GDTR_BASE, sregs->gdt.base);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, sregs->gdt.limit);
	vmcs_writel(VMCS_GUEST_IDTR_BASE, sregs->idt.base);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, sregs->idt.limit);
	vmcs_writel(VMCS_GUEST_CR3, sregs->cr3);
	vmx_set_cr4(vmx, sregs->cr4);
	vmcs_write64(VMCS_GUEST_IA32_EFER, sregs->efer);
	vmx_set_cr0(vmx, sregs->cr0);
	vmx_put(vmx);
	vmx->cr2 = sregs->cr2;
	vmx->cr8 = sregs->cr8 & 15;
	vcpu->apic_base = sregs->apic_base;
	/* New paging state: translations cached under the old one go. */
	vmx->flush = true;
	return 0;
}

void vmx_get_cpu_mode(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 cs_ar;
	int seg;

	vmx_load(vmx);
	cs_ar = vmcs_read32(VMCS_GUEST_CS_AR);
	if (!(vmx_guest_cr0() & X86_CR0_PE))
		ctxt->mode = EMU_MODE_REAL;
	else if ((vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) &&
		 (cs_ar & VMX_AR_L))
		ctxt->mode = EMU_MODE_LONG64;
	else if (cs_ar & VMX_AR_DB)
		ctxt->mode = EMU_MODE_PROT32;
	else
		ctxt->mode = EMU_MODE_PROT16;
	/* enum emu_seg and the VMCS order agree: ES, CS, SS, DS, FS, GS. */
	for (seg = 0; seg < EMU_NR_SEGS; seg++)
		ctxt->seg_base[seg] = vmcs_readl(VMCS_GUEST_ES_BASE + seg * 2);
	vmx_put(vmx);
}

void vmx_get_paging(struct kvisor_vcpu *vcpu, u64 *cr0, u64 *cr3, u64 *cr4,
		    u64 *efer)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_load(vmx);
	*cr0 = vmx_guest_cr0();
	*cr3 = vmcs_readl(VMCS_GUEST_CR3);
	*cr4 = vmx_guest_cr4();
	*efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	vmx_put(vmx);
}

void vmx_queue_exception(struct kvisor_vcpu *vcpu, int vector,
			 bool has_error, u32 error)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event = VMX_INTR_INFO_VALID | VMX_INTR_TYPE_HW_EXCEPTION |
		     (vector & VMX_INTR_INFO_VECTOR_MASK) |
		     (has_error ? VMX_INTR_INFO_ERROR_VALID : 0);
	vmx->event_err = error;
}

bool vmx_interrupt_allowed(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool shadow;

	if (!(vcpu->rflags & X86_EFLAGS_IF) || vmx->event)
		return false;
	vmx_load(vmx);
	/* A handler that moved RIP past the STI or MOV SS ended its shadow. */
	shadow = (vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		  (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS)) &&
		 vcpu->rip == vmcs_readl(VMCS_GUEST_RIP);
	vmx_put(vmx);
	return !shadow;
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
	if (vcpu->rip != vmcs_readl(VMCS_GUEST_RIP))
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
	if (vcpu->rip != vmcs_readl(VMCS_GUEST_RIP))
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
	vmcs_writel(VMCS_GUEST_RIP, vcpu->rip);
	vmx_put(vmx);
}

void vmx_inject_irq(struct kvisor_vcpu *vcpu, u8 vector)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event = VMX_INTR_INFO_VALID | VMX_INTR_TYPE_EXTERNAL | vector;
	vmx->event_insn_len = 0;
}

/* Interrupt-window exiting: exit as soon as the guest could take one. */
void vmx_set_irq_window(struct kvisor_vcpu *vcpu, bool on)
{
	vmx_proc_control(vcpu, PROC_INTR_WINDOW_EXITING, on);
}

void vmx_set_cr2(struct kvisor_vcpu *vcpu, u64 cr2)
{
	to_vmx(vcpu)->cr2 = cr2;	/* loaded into CR2 right before entry */
}

void vmx_request_tlb_flush(struct kvisor_vcpu *vcpu)
{
	WRITE_ONCE(to_vmx(vcpu)->flush, true);
}
