// SPDX-License-Identifier: GPL-2.0
/*
 * Naming VMRUN failures.
 *
 * VMRUN refuses a guest whose state breaks one of the consistency checks
 * of the AMD APM ("Canonicalization and Consistency Checks") and exits with
 * VMEXIT_INVALID (-1), without saying which.  kvisor checks the state it
 * gave VMRUN (svm->entry, copied before each VMRUN) against the rules a KVM
 * client can break through the ABI, and names the first one broken, in
 * dmesg and in kvm_run (see <uapi/linux/kvisor.h>).
 */
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "svm.h"

struct svm_rule {
	const char *name;
	bool (*broken)(const struct svm_entry_state *v);
};

#define LONG_PAGING(v)	(((v)->efer & EFER_LME) && ((v)->cr0 & X86_CR0_PG))

static bool efer_svme(const struct svm_entry_state *v)
{
	return !(v->efer & KV_EFER_SVME);
}

static bool cr0_cd_nw(const struct svm_entry_state *v)
{
	return (v->cr0 & X86_CR0_NW) && !(v->cr0 & X86_CR0_CD);
}

static bool cr0_high(const struct svm_entry_state *v)
{
	return v->cr0 >> 32;
}

static bool dr_high(const struct svm_entry_state *v)
{
	return (v->dr6 >> 32) || (v->dr7 >> 32);
}

static bool cr4_high(const struct svm_entry_state *v)
{
	return v->cr4 >> 32;
}

/* Long mode: CR3 bits from the CPU's physical address width on are MBZ. */
static bool cr3_mbz(const struct svm_entry_state *v)
{
	return LONG_PAGING(v) && (v->cr3 >> boot_cpu_data.x86_phys_bits);
}

/*
 * EFER bits the APM defines: SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE,
 * MCOMMIT, INTWB, UAIE, AutomaticIBRS; the rest are MBZ.
 */
#define SVM_EFER_DEFINED	(BIT_ULL(0) | BIT_ULL(8) | GENMASK_ULL(15, 10) | \
				 GENMASK_ULL(18, 17) | GENMASK_ULL(21, 20))

static bool efer_mbz(const struct svm_entry_state *v)
{
	return v->efer & ~SVM_EFER_DEFINED;
}

/*
 * "Event Injection": a reserved TYPE, or TYPE 3 (exception) with a vector
 * that is not an exception's (2, the NMI's, included).
 */
static bool eventinj_invalid(const struct svm_entry_state *v)
{
	u32 type = v->event_inj & SVM_EVT_TYPE_MASK;
	u32 vector = v->event_inj & SVM_EVT_VECTOR_MASK;

	if (!(v->event_inj & SVM_EVT_VALID))
		return false;
	if (type == SVM_EVT_TYPE_EXCEPTION)
		return vector == 2 || vector >= 32;
	return type != SVM_EVT_TYPE_INTR && type != SVM_EVT_TYPE_NMI &&
	       type != SVM_EVT_TYPE_SOFT_INTR;
}

/* The permission maps: 12K of I/O, 8K of MSR bits, below MAXPHYADDR. */
static bool maps_beyond_maxphyaddr(const struct svm_entry_state *v)
{
	u64 limit = 1ULL << boot_cpu_data.x86_phys_bits;

	return v->iopm_base_pa + 3 * PAGE_SIZE > limit ||
	       v->msrpm_base_pa + 2 * PAGE_SIZE > limit;
}

static bool long_without_pae(const struct svm_entry_state *v)
{
	return LONG_PAGING(v) && !(v->cr4 & X86_CR4_PAE);
}

static bool long_without_pe(const struct svm_entry_state *v)
{
	return LONG_PAGING(v) && !(v->cr0 & X86_CR0_PE);
}

static bool cs_l_and_d(const struct svm_entry_state *v)
{
	return LONG_PAGING(v) && (v->cr4 & X86_CR4_PAE) &&
	       (v->cs_attrib & BIT(SVM_SEG_L_SHIFT)) &&
	       (v->cs_attrib & BIT(SVM_SEG_DB_SHIFT));
}

static bool no_vmrun_intercept(const struct svm_entry_state *v)
{
	return !(v->intercept_misc2 & SVM_INTERCEPT2_VMRUN);
}

static bool asid_zero(const struct svm_entry_state *v)
{
	return !v->asid;
}

static const struct svm_rule svm_rules[] = {
	{ "EFER.SVME=0 in the guest", efer_svme },
	{ "guest CR0.NW=1 with CR0.CD=0", cr0_cd_nw },
	{ "guest CR0 bits 63:32 set", cr0_high },
	{ "guest DR6 or DR7 bits 63:32 set", dr_high },
	{ "guest CR4 bits 63:32 set", cr4_high },
	{ "guest CR3 bits beyond MAXPHYADDR set in long mode", cr3_mbz },
	{ "guest EFER reserved bits set", efer_mbz },
	{ "guest EFER.LME=1 and CR0.PG=1 with CR4.PAE=0", long_without_pae },
	{ "guest EFER.LME=1 and CR0.PG=1 with CR0.PE=0", long_without_pe },
	{ "guest CS.L=1 with CS.D=1 in long mode", cs_l_and_d },
	{ "VMRUN intercept not set", no_vmrun_intercept },
	{ "guest ASID is 0 (the host's)", asid_zero },
	{ "EVENTINJ with a reserved type or a non-exception vector",
	  eventinj_invalid },
	{ "IOPM or MSRPM reaches beyond MAXPHYADDR", maps_beyond_maxphyaddr },
};

void svm_explain_fail_entry(struct kvisor_vcpu *vcpu, char *buf, size_t len)
{
	const struct svm_entry_state *v = &to_svm(vcpu)->entry;
	int i;

	for (i = 0; i < ARRAY_SIZE(svm_rules); i++) {
		if (svm_rules[i].broken(v)) {
			strscpy(buf, svm_rules[i].name, len);
			return;
		}
	}
	strscpy(buf, "VMEXIT_INVALID, but no rule kvisor checks is broken",
		len);
}
