// SPDX-License-Identifier: GPL-2.0
/*
 * VMX guest state as KVM's ABI sees it: segments, control registers and
 * EFER in and out of the VMCS's guest-state area (SDM Vol. 3, "Guest-State
 * Area"), the MSRs the guest reaches without exits, and the DR7 the guest
 * runs with.  Every function here runs between vmx_load() and vmx_put(),
 * or is called by one that does.
 *
 * The guest's CR0 and CR4 are not what the hardware holds: VMX forces
 * some bits on (CR0.NE, CR4.VMXE), so the hardware value carries them and
 * the read shadow holds what the guest believes; for the bits in the
 * guest/host mask, reads return the shadow and writes exit (SDM Vol. 3,
 * "Guest/Host Masks and Read Shadows for CR0 and CR4").
 */
#include <asm/msr.h>
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

/*
 * The privilege level is SS.DPL in protected mode (SDM Vol. 3, "Guest
 * Register State"), 0 in real mode and 3 in virtual-8086 mode.
 */
int vmx_get_cpl(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpl = 0;

	vmx_load(vmx);
	if (vmx->vcpu.rflags & X86_EFLAGS_VM)
		cpl = 3;
	else if (vmx_guest_cr0() & X86_CR0_PE)
		cpl = (vmcs_read32(VMCS_GUEST_SS_AR) >> VMX_AR_DPL_SHIFT) & 3;
	vmx_put(vmx);
	return cpl;
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

/*
 * With "enable RDTSCP" set, RDTSCP and RDPID run whatever the guest's
 * CPUID says, so it is set only where that offers one of them (as KVM
 * does): elsewhere they raise #UD, as on the CPU the CPUID describes.
 * "Enable XSAVES/XRSTORS" likewise, for XSAVES.
 */
void vmx_cpuid_update(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 proc2 = vmx_config.proc2;

	if (!kvisor_guest_has_tsc_aux(vcpu))
		proc2 &= ~PROC2_RDTSCP;
	if (!kvisor_guest_has_xsaves(vcpu))
		proc2 &= ~PROC2_XSAVES;
	vmx_load(vmx);
	vmcs_write32(VMCS_PROC_CONTROLS2, proc2);
	vmx_put(vmx);
}

void vmx_set_cr2(struct kvisor_vcpu *vcpu, u64 cr2)
{
	to_vmx(vcpu)->cr2 = cr2;	/* loaded into CR2 right before entry */
}

/* MSRs ----------------------------------------------------------------- */

/*
 * The guest's KERNEL_GS_BASE and SYSCALL MSRs: in vmx->guest_msrs[], or
 * in the CPU from vmx_prepare_switch_to_guest() to vmx_vcpu_put(), where
 * the guest reaches them without exits.  Only KVM_GET/SET_MSRS and the
 * MSR filter's exits look for them here, the latter during KVM_RUN:
 * with preemption off, vmx->host_state_loaded says which is true (a
 * preemption in between would have put the guest's back in the array).
 */
static int vmx_switched_msr(u32 msr)
{
	int i;

	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		if (vmx_switched_msrs[i] == msr)
			return i;
	return -1;
}

static void vmx_get_switched_msr(struct vmx_vcpu *vmx, int i, u64 *val)
{
	preempt_disable();
	if (vmx->host_state_loaded)
		rdmsrl(vmx_switched_msrs[i], *val);
	else
		*val = vmx->guest_msrs[i];
	preempt_enable();
}

/*
 * The CPU checks the value, as its WRMSR would for the guest (SFMASK's
 * reserved high half): where the guest's are not loaded, a trial write
 * with the host's value put straight back, which nothing between reads
 * (interrupts use none of these MSRs).
 */
static int vmx_set_switched_msr(struct vmx_vcpu *vmx, int i, u64 val)
{
	u32 msr = vmx_switched_msrs[i];
	int r;
	u64 cur;

	preempt_disable();
	if (vmx->host_state_loaded) {
		r = wrmsrl_safe(msr, val);
	} else {
		rdmsrl(msr, cur);
		r = wrmsrl_safe(msr, val);
		wrmsrl(msr, cur);
		if (!r)
			vmx->guest_msrs[i] = val;
	}
	preempt_enable();
	return r ? -EINVAL : 0;
}

/* The VMCS field of the other MSRs the guest reaches without exits. */
static unsigned long vmx_msr_field(u32 msr)
{
	switch (msr) {
	case MSR_FS_BASE:		return VMCS_GUEST_FS_BASE;
	case MSR_GS_BASE:		return VMCS_GUEST_GS_BASE;
	case MSR_IA32_SYSENTER_CS:	return VMCS_GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP:	return VMCS_GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP:	return VMCS_GUEST_SYSENTER_EIP;
	default:			return 0;
	}
}

int vmx_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long field = vmx_msr_field(msr);
	int i = vmx_switched_msr(msr), r = 0;

	if (i >= 0) {
		vmx_get_switched_msr(vmx, i, val);
		return 0;
	}
	vmx_load(vmx);
	switch (msr) {
	case MSR_EFER:
		*val = vmcs_read64(VMCS_GUEST_IA32_EFER);
		break;
	case MSR_IA32_CR_PAT:
		*val = vmcs_read64(VMCS_GUEST_IA32_PAT);
		break;
	case MSR_IA32_SYSENTER_CS:
		*val = vmcs_read32(field);
		break;
	default:
		if (field)
			*val = vmcs_readl(field);
		else
			r = -ENOENT;
	}
	vmx_put(vmx);
	return r;
}

int vmx_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long field = vmx_msr_field(msr);
	int i = vmx_switched_msr(msr), r = 0;

	if (i >= 0)
		return vmx_set_switched_msr(vmx, i, val);
	vmx_load(vmx);
	switch (msr) {
	case MSR_IA32_SYSENTER_CS:
		vmcs_write32(field, val);
		break;
	case MSR_EFER:
		if (val & ~KVISOR_EFER_GUEST_BITS)
			r = -EINVAL;
		else
			vmx_set_efer(vmx, val);
		break;
	case MSR_IA32_CR_PAT:
		vmcs_write64(VMCS_GUEST_IA32_PAT, val);
		break;
	default:
		if (field)
			vmcs_writel(field, val);
		else
			r = -ENOENT;
	}
	vmx_put(vmx);
	return r;
}

/*
 * The guest's TSC is the host's plus the VMCS's offset, which RDTSC in
 * the guest applies in hardware, when the CPU offers TSC offsetting;
 * without it the guest's TSC is the host's.
 */
int vmx_set_tsc_offset(struct kvisor_vcpu *vcpu, u64 offset)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (!(vmx_config.proc & PROC_USE_TSC_OFFSETTING))
		return offset ? -EINVAL : 0;
	vmx_load(vmx);
	vmcs_write64(VMCS_TSC_OFFSET, offset);
	vmx_put(vmx);
	return 0;
}

/* Debug ---------------------------------------------------------------- */

/* The effective DR7, and #BP interception for KVM_GUESTDBG_USE_SW_BP. */
void vmx_set_debug(struct kvisor_vcpu *vcpu, u64 dr7, bool intercept_bp)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 bitmap;

	vmx_load(vmx);
	vmcs_writel(VMCS_GUEST_DR7, dr7);
	bitmap = vmcs_read32(VMCS_EXCEPTION_BITMAP) & ~BIT(X86_TRAP_BP);
	vmcs_write32(VMCS_EXCEPTION_BITMAP,
		     bitmap | (intercept_bp ? BIT(X86_TRAP_BP) : 0));
	vmx_put(vmx);
}
