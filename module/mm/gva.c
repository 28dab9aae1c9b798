// SPDX-License-Identifier: GPL-2.0
/*
 * Walking the guest's own page tables: guest-virtual (linear) to
 * guest-physical addresses.
 *
 * Only the emulator needs this, to fetch the instruction behind an MMIO
 * exit and to reach its memory operands.  The hardware does the walk for
 * everything else.  Four paging modes, chosen as the CPU chooses them:
 * none (CR0.PG = 0), 32-bit (2 levels, 4M pages with CR4.PSE), PAE
 * (4 PDPTEs, then 2 levels) and 4-level (EFER.LMA).  Accessed and dirty
 * bits are not set: the hardware set them when the instruction was
 * fetched and its operand translated the first time.
 */
#include <linux/bits.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "core/kvisor.h"

#define PTE_P		BIT_ULL(0)
#define PTE_W		BIT_ULL(1)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR	GENMASK_ULL(51, 12)

/* #PF error code bits */
#define PFERR_PRESENT	BIT(0)
#define PFERR_WRITE	BIT(1)
#define PFERR_FETCH	BIT(4)

struct walk {
	struct kvisor_vcpu *vcpu;
	u64 cr0, cr4, efer;
	bool write, fetch;
	u32 pf_error;
	/* The slot of the last entry read: a guest's tables share a few. */
	struct kvisor_memslot *slot;
};

/*
 * Read one paging-structure entry, under vm->srcu.  The slot of the entry
 * before is tried first, the slot tree only when the table lies elsewhere.
 * An entry is naturally aligned and so never straddles a page: one
 * get_user() reads it.
 */
static int walk_read_entry(struct walk *w, u64 gpa, bool wide, u64 *pte)
{
	struct kvisor_memslot *s = w->slot;
	u64 gfn = gpa >> PAGE_SHIFT;
	unsigned long hva;
	u32 narrow;

	if (!s || gfn - s->base_gfn >= s->npages) {
		s = kvisor_find_slot(w->vcpu->vm, gfn);
		if (!s)
			return -EFAULT;
		w->slot = s;
	}
	hva = s->hva + (gpa - (s->base_gfn << PAGE_SHIFT));
	if (wide)
		return get_user(*pte, (u64 __user *)hva) ? -EFAULT : 0;
	if (get_user(narrow, (u32 __user *)hva))
		return -EFAULT;
	*pte = narrow;
	return 0;
}

/* Check one entry's permission bits; false means a page fault. */
static bool walk_allows(struct walk *w, u64 pte)
{
	if (!(pte & PTE_P)) {
		w->pf_error &= ~PFERR_PRESENT;
		return false;
	}
	/* Supervisor writes honour R/W only with CR0.WP. */
	if (w->write && !(pte & PTE_W) && (w->cr0 & X86_CR0_WP))
		return false;
	if (w->fetch && (w->efer & EFER_NX) && (pte & PTE_NX))
		return false;
	return true;
}

/*
 * Walk @levels levels from the table at @table.  Entries are 8 bytes wide
 * except in 32-bit paging.  A large page ends the walk early at level 2
 * (2M or 4M) or, in 4-level paging, at level 3 (1G).
 */
static int walk_levels(struct walk *w, u64 table, u64 gva, int levels,
		       bool wide, u64 *gpa)
{
	int level, shift, bits = wide ? 9 : 10;
	u64 pte = 0;

	for (level = levels; level >= 1; level--) {
		shift = PAGE_SHIFT + bits * (level - 1);
		if (walk_read_entry(w, table + ((gva >> shift) &
				    ((1 << bits) - 1)) * (wide ? 8 : 4),
				    wide, &pte))
			return -EFAULT;
		if (!walk_allows(w, pte))
			return -EACCES;
		/* PS means a large page in 32-bit paging only with CR4.PSE */
		if (level > 1 && (pte & PTE_PS) &&
		    (wide || (w->cr4 & X86_CR4_PSE)) &&
		    (level == 2 || (level == 3 && wide))) {
			u64 base = pte & PTE_ADDR & ~((1ULL << shift) - 1);

			/* 4M pages keep address bits 39:32 in bits 20:13. */
			if (!wide)
				base = (pte & GENMASK_ULL(31, 22)) |
				       ((pte & GENMASK_ULL(20, 13)) << 19);
			*gpa = base | (gva & ((1ULL << shift) - 1));
			return 0;
		}
		table = pte & (wide ? PTE_ADDR : GENMASK_ULL(31, 12));
	}
	*gpa = table | (gva & ~PAGE_MASK);
	return 0;
}

/*
 * Translate @gva as an access of the given kind would.  Returns 0 with
 * @gpa, -EACCES with @pf_error set to the #PF error code the CPU would
 * report, or -EFAULT when a table lies outside guest RAM.
 */
int kvisor_gva_to_gpa(struct kvisor_vcpu *vcpu, u64 gva, bool write,
		      bool fetch, u64 *gpa, u32 *pf_error)
{
	struct walk w = { .vcpu = vcpu, .write = write, .fetch = fetch };
	u64 cr3, pdpte;
	int r, idx;

	kvisor_ops->get_paging(vcpu, &w.cr0, &cr3, &w.cr4, &w.efer);
	w.pf_error = PFERR_PRESENT | (write ? PFERR_WRITE : 0) |
		     (fetch ? PFERR_FETCH : 0);

	if (!(w.cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xffffffff;
		return 0;
	}
	idx = srcu_read_lock(&vcpu->vm->srcu);
	if (w.efer & EFER_LMA) {
		r = walk_levels(&w, cr3 & PTE_ADDR, gva, 4, true, gpa);
	} else if (w.cr4 & X86_CR4_PAE) {
		/* The four PDPTEs sit at CR3, 32-byte aligned. */
		gva &= 0xffffffff;
		r = walk_read_entry(&w, (cr3 & GENMASK_ULL(31, 5)) +
				    (gva >> 30) * 8, true, &pdpte);
		if (!r && !(pdpte & PTE_P)) {
			w.pf_error &= ~PFERR_PRESENT;
			r = -EACCES;
		}
		if (!r)
			r = walk_levels(&w, pdpte & PTE_ADDR, gva, 2, true, gpa);
	} else {
		r = walk_levels(&w, cr3 & GENMASK_ULL(31, 12), gva & 0xffffffff,
				2, false, gpa);
	}
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (r == -EACCES)
		*pf_error = w.pf_error;
	return r;
}
