// SPDX-License-Identifier: GPL-2.0
/*
 * Nested paging and ASIDs: the format of the nested page table entries
 * core/tdp.c builds (APM Vol. 2, "Nested Paging"), and the ASIDs that tag
 * a vCPU's translations, with the TLB flushes that recycle them (APM
 * Vol. 2, "TLB Control").  The nested root itself is the VMCB's N_CR3,
 * set in vcpu.c.
 */
#include <linux/percpu.h>

#include "svm.h"

/* Each CPU's ASID generation and host save area (set up by svm.c). */
DEFINE_PER_CPU(struct svm_cpu, svm_cpu);

/*
 * Give the vCPU an ASID that no stale translation on this CPU can carry:
 * a fresh one when it moved here, when the CPU's ASID space was recycled,
 * or when its nested tables lost entries.  Running out of ASIDs starts a
 * new generation, with one flush of every ASID.
 *
 * That flush is owed by the CPU, not by the vCPU that began the
 * generation: until a VMRUN with it has run (one refused with
 * VMEXIT_INVALID may not have flushed), every VMCB entering on this CPU
 * carries it, so no vCPU can be given a recycled ASID without it.
 * svm_asid_entered() settles the debt.  Interrupts are off throughout.
 */
void svm_pick_asid(struct svm_vcpu *svm, int cpu)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct vmcb_control *c = &svm->vmcb->control;

	if (svm->asid_cpu != cpu || svm->asid_gen != sc->asid_gen ||
	    READ_ONCE(svm->flush)) {
		/* A fresh ASID is this vCPU's flush (KVM's tlb_flush). */
		if (READ_ONCE(svm->flush))
			svm->vcpu.stat.tlb_flush++;
		WRITE_ONCE(svm->flush, false);
		if (sc->next_asid > sc->max_asid) {
			sc->asid_gen++;
			sc->next_asid = 1;
			sc->flush_pending = true;
		}
		svm->asid = sc->next_asid++;
		svm->asid_gen = sc->asid_gen;
		svm->asid_cpu = cpu;
		c->asid = svm->asid;
	}
	if (sc->flush_pending)
		c->tlb_ctl = SVM_TLB_FLUSH_ALL;
}

/* After VMRUN, on the same CPU: a flush of every ASID that ran is done. */
void svm_asid_entered(struct svm_vcpu *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;

	if ((u32)c->exit_code != (u32)SVM_EXIT_INVALID &&
	    c->tlb_ctl == SVM_TLB_FLUSH_ALL)
		this_cpu_ptr(&svm_cpu)->flush_pending = false;
}

/*
 * The nested tables lost entries, or the guest's paging changed under
 * it: svm_pick_asid() gives the vCPU a fresh ASID before the next VMRUN.
 */
void svm_request_tlb_flush(struct kvisor_vcpu *vcpu)
{
	WRITE_ONCE(to_svm(vcpu)->flush, true);
}

/*
 * NPT entries are ordinary x86-64 page-table entries.  The guest's accesses
 * count as user accesses, so U/S must be set at every level.  Accessed and
 * dirty are preset so the hardware never has to write them back.  PAT,
 * PCD and PWT are 0: the page is write-back in the host's PAT.
 */
#define NPT_P		BIT_ULL(0)
#define NPT_RW		BIT_ULL(1)
#define NPT_US		BIT_ULL(2)
#define NPT_A		BIT_ULL(5)
#define NPT_D		BIT_ULL(6)

static u64 npt_table(phys_addr_t table)
{
	return table | NPT_P | NPT_RW | NPT_US | NPT_A;
}

#define NPT_PS		BIT_ULL(7)

/*
 * Memory that is not RAM (a device's) is uncached: PCD and PWT select
 * the host PAT's UC entry, and the nested entry's type combines with the
 * guest's own so that UC wins ("Combining Guest and Host PAT Types").
 */
#define NPT_PWT		BIT_ULL(3)
#define NPT_PCD		BIT_ULL(4)

static u64 npt_leaf(phys_addr_t page, unsigned int flags, int level)
{
	return page | NPT_P | NPT_US | NPT_A |
	       (flags & KVISOR_TDP_WRITABLE ? NPT_RW | NPT_D : 0) |
	       (flags & KVISOR_TDP_UNCACHED ? NPT_PCD | NPT_PWT : 0) |
	       (level > 1 ? NPT_PS : 0);
}

static bool npt_present(u64 pte)
{
	return pte & NPT_P;
}

/*
 * Nested paging walks the same formats as the host's paging: 2M leaves
 * always, 1G ones where the CPU has 1G pages (svm_probe() sets it).
 */
struct kvisor_tdp_format svm_npt_format = {
	.table		= npt_table,
	.leaf		= npt_leaf,
	.present	= npt_present,
	.huge		= NPT_PS,
	.writable	= NPT_RW | NPT_D,
	.max_level	= 2,
};
