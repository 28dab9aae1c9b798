// SPDX-License-Identifier: GPL-2.0
/*
 * Naming VM-entry failures.
 *
 * When VM entry refuses the guest state, the CPU says only "invalid guest
 * state" (exit reason 33).  Which of the many rules of the SDM's "Checks on
 * the Guest State Area" was broken is left to the reader.  kvisor reads the
 * VMCS back and checks the rules a KVM client can break through the ABI
 * (KVM_SET_SREGS, KVM_SET_REGS), in the order the CPU checks them, and
 * names the first one broken, in dmesg and in kvm_run (see
 * <uapi/kvisor.h>).  It is a teaching aid, not a complete model: when
 * none of these rules is broken, it says so.
 */
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/page.h>
#include <asm/processor-flags.h>

#include "vmx.h"

/* The guest state the rules look at, read once from the VMCS. */
struct vmx_guest_state {
	unsigned long cr0, cr4, rflags, rip;
	u64 efer, link;
	u32 entry;
	bool ia32e, ug;
	struct {
		u16 sel;
		u32 limit, ar;
	} seg[8];		/* ES, CS, SS, DS, FS, GS, LDTR, TR */
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit, activity, intr, event;
	u64 pending_dbg, debugctl;
};

enum { ES, CS, SS, DS, FS, GS, LDTR, TR };

#define AR_TYPE(ar)	((ar) & VMX_AR_TYPE_MASK)
#define AR_DPL(ar)	(((ar) >> VMX_AR_DPL_SHIFT) & 3)
#define USABLE(ar)	(!((ar) & VMX_AR_UNUSABLE))

struct vmx_rule {
	const char *name;
	bool (*broken)(const struct vmx_guest_state *g);
};

static bool cr0_fixed0(const struct vmx_guest_state *g)
{
	u64 need = vmx_config.cr0_fixed0;

	if (g->ug)
		need &= ~(X86_CR0_PE | X86_CR0_PG);
	return (g->cr0 & need) != need;
}

static bool cr0_fixed1(const struct vmx_guest_state *g)
{
	return g->cr0 & ~vmx_config.cr0_fixed1;
}

static bool cr0_pg_without_pe(const struct vmx_guest_state *g)
{
	return (g->cr0 & X86_CR0_PG) && !(g->cr0 & X86_CR0_PE);
}

static bool cr4_fixed(const struct vmx_guest_state *g)
{
	return (g->cr4 & vmx_config.cr4_fixed0) != vmx_config.cr4_fixed0 ||
	       (g->cr4 & ~vmx_config.cr4_fixed1);
}

static bool ia32e_without_paging(const struct vmx_guest_state *g)
{
	return g->ia32e && (!(g->cr0 & X86_CR0_PG) || !(g->cr4 & X86_CR4_PAE));
}

static bool pcide_outside_ia32e(const struct vmx_guest_state *g)
{
	return !g->ia32e && (g->cr4 & X86_CR4_PCIDE);
}

/* With "load IA32_EFER", only SCE, LME, LMA and NXE may be set. */
static bool efer_reserved(const struct vmx_guest_state *g)
{
	return (g->entry & ENTRY_LOAD_IA32_EFER) &&
	       (g->efer & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX));
}

static bool efer_lma_vs_entry(const struct vmx_guest_state *g)
{
	return !!(g->efer & EFER_LMA) != g->ia32e;
}

static bool efer_lma_vs_lme(const struct vmx_guest_state *g)
{
	return (g->cr0 & X86_CR0_PG) &&
	       !!(g->efer & EFER_LMA) != !!(g->efer & EFER_LME);
}

static bool tr_ti(const struct vmx_guest_state *g)
{
	return g->seg[TR].sel & 4;
}

static bool tr_unusable(const struct vmx_guest_state *g)
{
	return !USABLE(g->seg[TR].ar);
}

static bool tr_type(const struct vmx_guest_state *g)
{
	u32 type = AR_TYPE(g->seg[TR].ar);

	return g->ia32e ? type != 11 : type != 3 && type != 11;
}

static bool tr_not_system(const struct vmx_guest_state *g)
{
	return (g->seg[TR].ar & VMX_AR_S) || !(g->seg[TR].ar & VMX_AR_P);
}

static bool ldtr_type(const struct vmx_guest_state *g)
{
	u32 ar = g->seg[LDTR].ar;

	return USABLE(ar) && (AR_TYPE(ar) != 2 || (ar & VMX_AR_S) ||
			      !(ar & VMX_AR_P));
}

static bool ss_rpl(const struct vmx_guest_state *g)
{
	return !g->ug && (g->seg[SS].sel & 3) != (g->seg[CS].sel & 3);
}

static bool cs_type(const struct vmx_guest_state *g)
{
	u32 type = AR_TYPE(g->seg[CS].ar);

	/* accessed code segments, or an accessed data one in real mode */
	return !(type == 9 || type == 11 || type == 13 || type == 15 ||
		 (g->ug && type == 3));
}

static bool cs_not_present(const struct vmx_guest_state *g)
{
	return !(g->seg[CS].ar & VMX_AR_S) || !(g->seg[CS].ar & VMX_AR_P);
}

static bool cs_l_and_d(const struct vmx_guest_state *g)
{
	return g->ia32e && (g->seg[CS].ar & VMX_AR_L) &&
	       (g->seg[CS].ar & VMX_AR_DB);
}

static bool cs_ss_dpl(const struct vmx_guest_state *g)
{
	u32 type = AR_TYPE(g->seg[CS].ar);

	/* Non-conforming code: the CPL is CS.DPL and must be SS.DPL. */
	return (type == 9 || type == 11) &&
	       AR_DPL(g->seg[CS].ar) != AR_DPL(g->seg[SS].ar);
}

static bool ss_dpl_real(const struct vmx_guest_state *g)
{
	return !(g->cr0 & X86_CR0_PE) && AR_DPL(g->seg[SS].ar) != 0;
}

/* With G=1 the low 12 bits of the limit are ones; with G=0, 31:20 zero. */
static bool seg_granularity(const struct vmx_guest_state *g)
{
	int i;

	for (i = ES; i <= TR; i++) {
		u32 ar = g->seg[i].ar, limit = g->seg[i].limit;

		if (!USABLE(ar))
			continue;
		if ((ar & VMX_AR_G) ? (limit & 0xfff) != 0xfff :
				      (limit & 0xfff00000))
			return true;
	}
	return false;
}

static bool rflags_reserved(const struct vmx_guest_state *g)
{
	return !(g->rflags & X86_EFLAGS_FIXED) ||
	       (g->rflags & (GENMASK_ULL(63, 22) | BIT(15) | BIT(5) | BIT(3)));
}

static bool rflags_vm_in_ia32e(const struct vmx_guest_state *g)
{
	return (g->ia32e || !(g->cr0 & X86_CR0_PE)) &&
	       (g->rflags & X86_EFLAGS_VM);
}

static bool rip_high(const struct vmx_guest_state *g)
{
	return !(g->ia32e && (g->seg[CS].ar & VMX_AR_L)) && (g->rip >> 32);
}

/* Canonical for 48-bit linear addresses: bits 63:47 all equal. */
static bool noncanonical(u64 addr)
{
	return !__is_canonical_address(addr, 48);
}

static bool dt_base(const struct vmx_guest_state *g)
{
	return noncanonical(g->gdtr_base) || noncanonical(g->idtr_base);
}

static bool dt_limit(const struct vmx_guest_state *g)
{
	return (g->gdtr_limit | g->idtr_limit) >> 16;
}

static bool activity(const struct vmx_guest_state *g)
{
	return g->activity > 3;
}

/*
 * In an STI or MOV SS shadow (or HLT), the pending single-step #DB (BS)
 * must be there exactly when RFLAGS.TF is set and DEBUGCTL.BTF clear.
 */
static bool pending_bs(const struct vmx_guest_state *g)
{
	bool step = (g->rflags & X86_EFLAGS_TF) && !(g->debugctl & BIT(1));

	if (!(g->intr & (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS)) &&
	    g->activity != 1)
		return false;
	return step != !!(g->pending_dbg & BIT(14));
}

static bool link_pointer(const struct vmx_guest_state *g)
{
	return g->link != ~0ULL;
}

static bool sti_without_if(const struct vmx_guest_state *g)
{
	return (g->intr & VMX_INTR_BLOCK_STI) && !(g->rflags & X86_EFLAGS_IF);
}

static bool sti_and_mov_ss(const struct vmx_guest_state *g)
{
	return (g->intr & VMX_INTR_BLOCK_STI) && (g->intr & VMX_INTR_BLOCK_MOV_SS);
}

static bool injecting(const struct vmx_guest_state *g, u32 type)
{
	return (g->event & VMX_INTR_INFO_VALID) &&
	       (g->event & VMX_INTR_TYPE_MASK) == type;
}

static bool extint_without_if(const struct vmx_guest_state *g)
{
	return injecting(g, VMX_INTR_TYPE_EXTERNAL) &&
	       !(g->rflags & X86_EFLAGS_IF);
}

static bool extint_in_shadow(const struct vmx_guest_state *g)
{
	return injecting(g, VMX_INTR_TYPE_EXTERNAL) &&
	       (g->intr & (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS));
}

static bool nmi_in_shadow(const struct vmx_guest_state *g)
{
	return injecting(g, VMX_INTR_TYPE_NMI) &&
	       (g->intr & (VMX_INTR_BLOCK_MOV_SS | VMX_INTR_BLOCK_NMI));
}

/* In the order of the SDM's checks on the guest-state area. */
static const struct vmx_rule vmx_guest_rules[] = {
	{ "guest CR0 clears a bit IA32_VMX_CR0_FIXED0 requires", cr0_fixed0 },
	{ "guest CR0 sets a bit IA32_VMX_CR0_FIXED1 forbids", cr0_fixed1 },
	{ "guest CR0.PG=1 with CR0.PE=0", cr0_pg_without_pe },
	{ "guest CR4 breaks IA32_VMX_CR4_FIXED0/FIXED1", cr4_fixed },
	{ "IA-32e mode guest with CR0.PG=0 or CR4.PAE=0", ia32e_without_paging },
	{ "guest CR4.PCIDE=1 outside IA-32e mode", pcide_outside_ia32e },
	{ "guest IA32_EFER reserved bits set", efer_reserved },
	{ "guest IA32_EFER.LMA differs from the IA-32e mode guest control",
	  efer_lma_vs_entry },
	{ "guest IA32_EFER.LMA differs from EFER.LME with CR0.PG=1",
	  efer_lma_vs_lme },
	{ "guest TR selector points into the LDT (TI=1)", tr_ti },
	{ "guest SS.RPL differs from CS.RPL", ss_rpl },
	{ "guest CS type is not an accessed code segment", cs_type },
	{ "guest CS is a system segment or not present", cs_not_present },
	{ "guest CS.L=1 with CS.D=1 in an IA-32e mode guest", cs_l_and_d },
	{ "guest CS.DPL differs from SS.DPL (non-conforming code)",
	  cs_ss_dpl },
	{ "guest SS.DPL is not 0 in real mode", ss_dpl_real },
	{ "guest TR is unusable", tr_unusable },
	{ "guest TR type is not a busy TSS (11, or 3 outside IA-32e mode)",
	  tr_type },
	{ "guest TR is a code/data segment or not present", tr_not_system },
	{ "guest LDTR is usable but not a present LDT descriptor", ldtr_type },
	{ "guest segment limit does not match its granularity (G)",
	  seg_granularity },
	{ "guest GDTR or IDTR base is not canonical", dt_base },
	{ "guest GDTR or IDTR limit above 0xffff", dt_limit },
	{ "guest RFLAGS reserved bits wrong (bit 1 clear or others set)",
	  rflags_reserved },
	{ "guest RFLAGS.VM=1 in IA-32e mode or real mode", rflags_vm_in_ia32e },
	{ "guest RIP bits 63:32 set outside 64-bit mode", rip_high },
	{ "guest activity state is not a valid one", activity },
	{ "blocking by STI with guest RFLAGS.IF=0", sti_without_if },
	{ "blocking by STI and by MOV SS at once", sti_and_mov_ss },
	{ "external interrupt injected with guest RFLAGS.IF=0",
	  extint_without_if },
	{ "external interrupt injected during STI or MOV SS blocking",
	  extint_in_shadow },
	{ "NMI injected during MOV SS or NMI blocking", nmi_in_shadow },
	{ "pending debug exception BS differs from RFLAGS.TF (BTF=0) in a shadow or HLT",
	  pending_bs },
	{ "VMCS link pointer is not all ones", link_pointer },
};

static void vmx_read_guest_state(struct vmx_guest_state *g)
{
	int i;

	g->cr0 = vmcs_readl(VMCS_GUEST_CR0);
	g->cr4 = vmcs_readl(VMCS_GUEST_CR4);
	g->rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	g->rip = vmcs_readl(VMCS_GUEST_RIP);
	g->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	g->link = vmcs_read64(VMCS_LINK_POINTER);
	g->entry = vmcs_read32(VMCS_ENTRY_CONTROLS);
	g->ia32e = g->entry & ENTRY_IA32E_MODE;
	g->ug = vmcs_read32(VMCS_PROC_CONTROLS2) & PROC2_UNRESTRICTED_GUEST;
	for (i = ES; i <= TR; i++) {
		g->seg[i].sel = vmcs_read16(VMCS_GUEST_ES_SELECTOR + i * 2);
		g->seg[i].limit = vmcs_read32(VMCS_GUEST_ES_LIMIT + i * 2);
		g->seg[i].ar = vmcs_read32(VMCS_GUEST_ES_AR + i * 2);
	}
	g->gdtr_base = vmcs_readl(VMCS_GUEST_GDTR_BASE);
	g->idtr_base = vmcs_readl(VMCS_GUEST_IDTR_BASE);
	g->gdtr_limit = vmcs_read32(VMCS_GUEST_GDTR_LIMIT);
	g->idtr_limit = vmcs_read32(VMCS_GUEST_IDTR_LIMIT);
	g->activity = vmcs_read32(VMCS_GUEST_ACTIVITY_STATE);
	g->intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	g->pending_dbg = vmcs_readl(VMCS_GUEST_PENDING_DBG);
	g->debugctl = vmcs_read64(VMCS_GUEST_IA32_DEBUGCTL);
}

/* The VM-instruction errors VMLAUNCH/VMRESUME can report, by number. */
static const char *const vmx_insn_errors[] = {
	[3] = "VMCLEAR with the VMXON pointer",
	[4] = "VMLAUNCH with a non-clear VMCS",
	[5] = "VMRESUME with a non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control fields",
	[8] = "VM entry with invalid host-state fields",
	[26] = "VM entry with events blocked by MOV SS",
};

/* Fill @buf with the name of what made entry fail; see the file comment. */
void vmx_explain_fail_entry(struct kvisor_vcpu *vcpu, char *buf, size_t len)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_guest_state g;
	int i;

	if (vmx->exit.vmfail) {
		u32 err = vmx->exit.insn_error;
		const char *name = err < ARRAY_SIZE(vmx_insn_errors) ?
				   vmx_insn_errors[err] : NULL;

		snprintf(buf, len, "VM-instruction error %u: %s", err,
			 name ? name : "(not named by kvisor)");
		return;
	}
	vmx_load(vmx);
	vmx_read_guest_state(&g);
	vmx_put(vmx);
	g.event = vmx->entry_event;
	for (i = 0; i < ARRAY_SIZE(vmx_guest_rules); i++) {
		if (vmx_guest_rules[i].broken(&g)) {
			strscpy(buf, vmx_guest_rules[i].name, len);
			return;
		}
	}
	strscpy(buf, "invalid guest state, but no rule kvisor checks is broken",
		len);
}
