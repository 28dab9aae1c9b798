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
 *
 * The access rights are checked as the CPU checks them, for the guest's
 * CPL, CR0.WP, CR4.SMEP, CR4.SMAP, RFLAGS.AC and EFER.NXE (walk_permitted()):
 * the hardware checked only the access that caused the exit, and MOVS,
 * CMPS and INS/OUTS reach their other operand through this walk alone.
 * Not checked: protection keys (CR4.PKE), reserved bits, 5-level paging.
 */
#include <linux/bits.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "core/kvisor.h"

#define PTE_P		BIT_ULL(0)
#define PTE_W		BIT_ULL(1)
#define PTE_U		BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR	GENMASK_ULL(51, 12)

/* #PF error code bits */
#define PFERR_PRESENT	BIT(0)
#define PFERR_WRITE	BIT(1)
#define PFERR_USER	BIT(2)
#define PFERR_FETCH	BIT(4)

/*
 * One translation.  @user: a user-mode access (CPL 3; the emulator makes
 * no implicit supervisor accesses).  @rights: the AND of the R/W and U/S
 * bits of the entries walked, @nx the OR of their XD bits: a page is
 * writable, or a user-mode page, only if every level says so.
 */
struct walk {
	struct kvisor_vcpu *vcpu;
	u64 cr0, cr4, efer;
	bool write, fetch, user;
	u64 rights, nx;
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

/*
 * The access rights of the finished walk, as the SDM's "Access Rights"
 * (Vol. 3A 4.6) and the APM's "Page-Protection Checks" (Vol. 2 5.6) give
 * them; false means a page fault.  A user-mode access needs U/S set at
 * every level, and a write R/W at every level whatever CR0.WP.  A
 * supervisor write honours R/W only with CR0.WP; with CR4.SMAP a
 * supervisor data access to a user-mode page faults unless RFLAGS.AC is
 * set; with CR4.SMEP a supervisor fetch from one faults.  XD forbids
 * fetches where EFER.NXE makes it a bit.  Protection keys (CR4.PKE) are
 * not checked.
 */
static bool walk_permitted(const struct walk *w)
{
	bool user_page = w->rights & PTE_U;
	bool writable = w->rights & PTE_W;

	if (w->fetch) {
		if ((w->efer & EFER_NX) && w->nx)
			return false;
		if (w->user)
			return user_page;
		return !(user_page && (w->cr4 & X86_CR4_SMEP));
	}
	if (w->user)
		return user_page && (writable || !w->write);
	if (user_page && (w->cr4 & X86_CR4_SMAP) &&
	    !(w->vcpu->rflags & X86_EFLAGS_AC))
		return false;
	return writable || !w->write || !(w->cr0 & X86_CR0_WP);
}

/*
 * The #PF error code the CPU would push: P for a protection violation
 * (clear when an entry was not present), W/R, U/S for a CPL 3 access, and
 * I/D for a fetch only where SMEP, or NX in PAE or 4-level paging, makes
 * fetches special (SDM Vol. 3A 4.7, "Page-Fault Exceptions").
 */
static u32 walk_pf_error(const struct walk *w, bool present)
{
	u32 e = (present ? PFERR_PRESENT : 0) |
		(w->write ? PFERR_WRITE : 0) | (w->user ? PFERR_USER : 0);

	if (w->fetch && ((w->cr4 & X86_CR4_SMEP) ||
			 ((w->cr4 & X86_CR4_PAE) && (w->efer & EFER_NX))))
		e |= PFERR_FETCH;
	return e;
}

/*
 * Walk @levels levels from the table at @table.  Entries are 8 bytes wide
 * except in 32-bit paging.  A large page ends the walk early at level 2
 * (2M or 4M) or, in 4-level paging, at level 3 (1G).  Each entry's rights
 * go into @w; -ENOENT when one is not present.
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
		if (!(pte & PTE_P))
			return -ENOENT;
		w->rights &= pte;
		w->nx |= pte & PTE_NX;
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
 * Translate @gva as an access of the given kind by the guest, at its
 * current CPL, would.  Returns 0 with @gpa, -EACCES with @pf_error set to
 * the #PF error code the CPU would report, or -EFAULT when a table lies
 * outside guest RAM.
 */
int kvisor_gva_to_gpa(struct kvisor_vcpu *vcpu, u64 gva, bool write,
		      bool fetch, u64 *gpa, u32 *pf_error)
{
	struct walk w = { .vcpu = vcpu, .write = write, .fetch = fetch,
			  .rights = PTE_U | PTE_W };
	u64 cr3, pdpte;
	int r, idx;

	kvisor_ops->get_paging(vcpu, &w.cr0, &cr3, &w.cr4, &w.efer);
	if (!(w.cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xffffffff;
		return 0;
	}
	w.user = kvisor_ops->get_cpl(vcpu) == 3;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	if (w.efer & EFER_LMA) {
		r = walk_levels(&w, cr3 & PTE_ADDR, gva, 4, true, gpa);
	} else if (w.cr4 & X86_CR4_PAE) {
		/*
		 * The four PDPTEs sit at CR3, 32-byte aligned.  They have no
		 * R/W, U/S or XD bit: they allow everything.
		 */
		gva &= 0xffffffff;
		r = walk_read_entry(&w, (cr3 & GENMASK_ULL(31, 5)) +
				    (gva >> 30) * 8, true, &pdpte);
		if (!r && !(pdpte & PTE_P))
			r = -ENOENT;
		if (!r)
			r = walk_levels(&w, pdpte & PTE_ADDR, gva, 2, true, gpa);
	} else {
		r = walk_levels(&w, cr3 & GENMASK_ULL(31, 12), gva & 0xffffffff,
				2, false, gpa);
	}
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	if (r == -ENOENT || (!r && !walk_permitted(&w))) {
		*pf_error = walk_pf_error(&w, r == 0);
		return -EACCES;
	}
	return r;
}
