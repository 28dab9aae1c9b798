// SPDX-License-Identifier: GPL-2.0
/*
 * SVM guest state as KVM's ABI sees it: segments, control registers and
 * EFER in and out of the VMCB's state save area (APM Vol. 2, "Layout of
 * VMCB"), the MSRs the guest reaches without exits (VMRUN, VMLOAD and
 * VMSAVE switch them), and the DR7 the guest runs with.  The VMCB is
 * plain memory: nothing needs loading first.
 */
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "svm.h"

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

/*
 * The privilege level: the state save area keeps it in its own CPL field
 * (APM Vol. 2, Appendix B "Layout of VMCB"), which VMRUN loads and #VMEXIT
 * stores: 0 in real mode, 3 in virtual-8086 mode.
 */
int svm_get_cpl(struct kvisor_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cpl;
}

void svm_set_cr2(struct kvisor_vcpu *vcpu, u64 cr2)
{
	to_svm(vcpu)->vmcb->save.cr2 = cr2;
}

/* MSRs ----------------------------------------------------------------- */

/*
 * The VMCB slot of an MSR VMRUN/VMLOAD/VMSAVE switch: the guest reaches
 * these without exits, so only KVM_GET/SET_MSRS come here for them, and
 * the guest where the MSR filter has them intercepted.
 */
static u64 *svm_msr_slot(struct vmcb_save *s, u32 msr)
{
	switch (msr) {
	case MSR_FS_BASE:		return &s->fs.base;
	case MSR_GS_BASE:		return &s->gs.base;
	case MSR_KERNEL_GS_BASE:	return &s->kernel_gs_base;
	case MSR_STAR:			return &s->star;
	case MSR_LSTAR:			return &s->lstar;
	case MSR_CSTAR:			return &s->cstar;
	case MSR_SYSCALL_MASK:		return &s->sfmask;
	case MSR_IA32_SYSENTER_CS:	return &s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:	return &s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:	return &s->sysenter_eip;
	default:			return NULL;
	}
}

/* EFER and PAT live in the VMCB; EFER.SVME is kvisor's, never the guest's. */
int svm_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save *s = &vmcb->save;
	u64 *slot = svm_msr_slot(s, msr);

	if (slot) {
		*val = *slot;
		return 0;
	}
	switch (msr) {
	case MSR_EFER:
		*val = s->efer & ~KV_EFER_SVME;
		return 0;
	case MSR_IA32_CR_PAT:
		*val = s->g_pat;
		return 0;
	default:
		return -ENOENT;
	}
}

int svm_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save *s = &vmcb->save;
	u64 *slot = svm_msr_slot(s, msr);

	if (slot) {
		/* SYSENTER_CS is 32 bits wide, as in the VMCS. */
		if (msr == MSR_IA32_SYSENTER_CS)
			val = (u32)val;
		*slot = val;
		return 0;
	}
	switch (msr) {
	case MSR_EFER:
		if (val & ~KVISOR_EFER_GUEST_BITS)
			return -EINVAL;
		/* LMA is the CPU's to set: keep its value. */
		s->efer = (val & ~EFER_LMA) | (s->efer & EFER_LMA) |
			  KV_EFER_SVME;
		return 0;
	case MSR_IA32_CR_PAT:
		s->g_pat = val;
		return 0;
	default:
		return -ENOENT;
	}
}

/*
 * The guest's TSC is the host's plus the VMCB's offset, which RDTSC
 * applies in hardware.
 */
int svm_set_tsc_offset(struct kvisor_vcpu *vcpu, u64 offset)
{
	to_svm(vcpu)->vmcb->control.tsc_offset = offset;
	return 0;
}

/* Debug ---------------------------------------------------------------- */

/* The effective DR7, and #BP interception for KVM_GUESTDBG_USE_SW_BP. */
void svm_set_debug(struct kvisor_vcpu *vcpu, u64 dr7, bool intercept_bp)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	to_svm(vcpu)->vmcb->save.dr7 = dr7;
	if (intercept_bp) {
		c->intercept_exceptions |= BIT(X86_TRAP_BP);
		c->intercept_misc1 |= SVM_INTERCEPT1_INTN;
	} else {
		c->intercept_exceptions &= ~BIT(X86_TRAP_BP);
		c->intercept_misc1 &= ~SVM_INTERCEPT1_INTN;
	}
}
