// SPDX-License-Identifier: GPL-2.0
/*
 * The nested page fault: a guest access missed the nested tables, or
 * wrote through a read-only mapping.  Find the slot, ask the VMM's own
 * page tables for the page behind it (faulting it in as the VMM itself
 * would), map it, and drop the reference again: nothing stays pinned,
 * nothing is charged to RLIMIT_MEMLOCK.
 *
 * What makes that safe is the MMU notifier (notifier.c).  Before the host
 * changes a mapping of the VMM (swap, migration, KSM, munmap, a THP
 * split), it calls kvisor, which removes the nested mappings of that
 * range under tdp->lock.  A fault races with that: it looks the slot and
 * the page up without the lock, so it reads tdp->seq first, and installs
 * its mapping only if no invalidation is under way and none ended since
 * (the same rule as KVM's mmu_invalidate_seq).  Otherwise it maps nothing
 * and lets the guest fault again.  Slot changes count as invalidations
 * (memslot.c), so a fault never maps through a slot that is going away.
 *
 * The fault holds no mutex, only vm->srcu, which keeps the slot it found
 * alive: faults of many vCPUs run at once, and one that waits in the
 * host's page fault (on the disk, on userfaultfd) holds up nobody but a
 * slot change, which waits for it.
 *
 * A mapping is as large as the host maps the memory (a THP or hugetlbfs
 * page: 2M or 1G), where the slot's alignment allows and the CPU walks
 * such leaves; dirty logging maps 4K, to see each 4K page written.
 *
 * A VM_IO or VM_PFNMAP range of the VMM (a device's memory its driver
 * mapped, /dev/mem) has no struct page to look up: its pfn comes from the
 * VMM's page table, is mapped 4K and, unless it is RAM, uncached.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/version.h>
#include <linux/pgtable.h>
#include <linux/swap.h>
#include <linux/sched/mm.h>

#include "core/kvisor.h"

/*
 * How large the VMM's own page tables map @hva: level 3 (1G), 2 (2M) or
 * 1.  Read without mmap_lock, with interrupts off so that the tables are
 * not freed under the walk (the way GUP-fast walks them); a change after
 * the read is caught by the caller's sequence check.
 */
static int kvisor_host_level(struct mm_struct *mm, unsigned long hva)
{
	unsigned long flags;
	int level = 1;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		level = 3;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (!pmd_none(pmd) && pmd_present(pmd) && pmd_leaf(pmd))
		level = 2;
out:
	local_irq_restore(flags);
	return level;
}

/*
 * The largest leaf that may map @gfn: no larger than the host's mapping
 * or the CPU's largest, and only where the leaf's whole range lies in the
 * slot with guest and host addresses equally aligned within it.
 */
static int kvisor_map_level(struct kvisor_vm *vm, struct kvisor_memslot *s,
			    u64 gfn, unsigned long hva)
{
	int level = min(kvisor_host_level(vm->mm, hva),
			kvisor_ops->tdp->max_level);

	if (s->dirty_bitmap)
		return 1;
	for (; level > 1; level--) {
		u64 pages = 1ULL << (9 * (level - 1));
		u64 first = gfn & ~(pages - 1);

		if (((hva >> PAGE_SHIFT) & (pages - 1)) != (gfn & (pages - 1)))
			continue;
		if (first >= s->base_gfn &&
		    first + pages <= s->base_gfn + s->npages)
			break;
	}
	return level;
}

/* What is behind an hva: a page (with a reference), or a bare pfn */
struct kvisor_host_pfn {
	struct page *page;	/* NULL for a VM_IO/VM_PFNMAP range's pfn */
	unsigned long pfn;
	bool writable;		/* the VMM's mapping allows writes */
};

/*
 * The page behind @hva, with a reference, and whether it may be mapped
 * writable.  A write takes it for writing (breaking COW, as the VMM's own
 * write would); a read tries for a writable page without faulting (so a
 * later write does not fault again), else takes it read-only, so that a
 * read never breaks up a KSM page or the shared zero page.  -EFAULT also
 * for VM_IO and VM_PFNMAP ranges, which have no struct page.
 */
static int kvisor_hva_page(unsigned long hva, bool write, bool readonly,
			   struct kvisor_host_pfn *h)
{
	long n;

	h->writable = false;
	if (!readonly && get_user_page_fast_only(hva, FOLL_WRITE, &h->page)) {
		h->writable = true;
		goto found;
	}
	if (write)
		h->writable = true;
	n = get_user_pages_unlocked(hva, 1, &h->page, write ? FOLL_WRITE : 0);
	if (n != 1)
		return n == -EINTR || n == -EAGAIN ? (int)n : -EFAULT;
found:
	h->pfn = page_to_pfn(h->page);
	return 0;
}

/* The pfn the VMM's page table maps at @hva in @vma, under mmap_lock. */
static int kvisor_follow_pfn(struct vm_area_struct *vma, unsigned long hva,
			     struct kvisor_host_pfn *h)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct follow_pfnmap_args args = { .vma = vma, .address = hva };

	if (follow_pfnmap_start(&args))
		return -EFAULT;
	h->pfn = args.pfn;
	h->writable = args.writable;
	follow_pfnmap_end(&args);
#else
	spinlock_t *ptl;	/* the page table's lock, held by follow_pte() */
	pte_t *ptep;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	if (follow_pte(vma, hva, &ptep, &ptl))
#else
	if (follow_pte(vma->vm_mm, hva, &ptep, &ptl))
#endif
		return -EFAULT;
	h->pfn = pte_pfn(ptep_get(ptep));
	h->writable = pte_write(ptep_get(ptep));
	pte_unmap_unlock(ptep, ptl);
#endif
	return 0;
}

/*
 * The pfn behind @hva in a VM_IO or VM_PFNMAP range of @mm, without a
 * reference: nothing needs one, since the MMU notifier removes the nested
 * mapping before the VMM's changes.  A pfn not mapped yet is faulted in as
 * the VMM's own access would, once.  A write to a pfn the VMM maps
 * read-only is -ENOENT: the access is MMIO, as KVM emulates it.
 */
static int kvisor_hva_pfnmap(struct mm_struct *mm, unsigned long hva,
			     bool write, struct kvisor_host_pfn *h)
{
	struct vm_area_struct *vma;
	bool unlocked = false;
	int r, tries;

	h->page = NULL;
	mmap_read_lock(mm);
	for (tries = 0; tries < 2; tries++) {
		/* (again after fixup_user_fault, which may drop the lock) */
		vma = vma_lookup(mm, hva);
		r = -EFAULT;
		if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)))
			break;
		if (!kvisor_follow_pfn(vma, hva, h)) {
			r = write && !h->writable ? -ENOENT : 0;
			break;
		}
		if (tries)
			break;
		r = fixup_user_fault(mm, hva, write ? FAULT_FLAG_WRITE : 0,
				     &unlocked);
		if (r)
			break;
	}
	mmap_read_unlock(mm);
	return r == -EINTR || r == -EAGAIN || r == -ENOENT ? r : r ? -EFAULT : 0;
}

/*
 * Map the page behind @gfn in the nested tables, after a guest access (a
 * write if @write) faulted.  Returns 1 when it mapped it, 0 when it raced
 * with an invalidation (the guest faults again), -ENOENT when no slot holds @gfn
 * or it is a write to a read-only slot or to device memory the VMM maps
 * read-only (the access is MMIO), -EFAULT when
 * the VMM's mapping cannot provide the page (KVM_RUN fails with EFAULT,
 * as in KVM), or -EINTR when a fatal signal cut the host's fault short.
 */
int kvisor_map_gfn(struct kvisor_vm *vm, u64 gfn, bool write)
{
	struct kvisor_tdp *tdp = &vm->tdp;
	struct kvisor_host_pfn h;
	struct kvisor_memslot *s;
	unsigned long hva, seq, size;
	unsigned int flags = 0;
	phys_addr_t hpa;
	int level = 1, r, idx;
	bool readonly;

	idx = srcu_read_lock(&vm->srcu);
	seq = READ_ONCE(tdp->seq);
	/*
	 * The sequence before the slot and the page are looked up; pairs
	 * with the lock that notifier.c's and memslot.c's ends bump it under.
	 */
	smp_rmb();
	s = kvisor_find_slot(vm, gfn);
	readonly = s && (s->flags & KVM_MEM_READONLY);
	r = -ENOENT;
	if (!s || (write && readonly))
		goto out;
	hva = s->hva + ((gfn - s->base_gfn) << PAGE_SHIFT);

	r = kvisor_hva_page(hva, write, readonly, &h);
	if (r == -EFAULT)
		r = kvisor_hva_pfnmap(vm->mm, hva, write, &h);
	if (r) {
		if (r == -EFAULT)
			pr_warn_ratelimited("gfn %#llx: no page at hva %#lx\n",
					    gfn, hva);
		goto out;
	}
	if (h.page)
		level = kvisor_map_level(vm, s, gfn, hva);
	else if (!page_is_ram(h.pfn))
		flags |= KVISOR_TDP_UNCACHED;
	/* A logging slot's page turns writable once its write is logged. */
	if (readonly || (s->dirty_bitmap && !write &&
			 !test_bit(gfn - s->base_gfn, s->dirty_bitmap)))
		h.writable = false;
	/*
	 * Guest writes through the mapping bypass the host's dirty bits:
	 * the page must count as dirty before it can be written, so that
	 * reclaim and writeback save it (they invalidate the mapping before
	 * they clean the page, and the next write faults here again).
	 */
	if (h.writable) {
		flags |= KVISOR_TDP_WRITABLE;
		if (h.page)
			set_page_dirty_lock(h.page);
	}
	/* A huge leaf maps from the start of the host's huge page. */
	size = PAGE_SIZE << (9 * (level - 1));
	hpa = PFN_PHYS(h.pfn) - (hva & (size - 1) & PAGE_MASK);

	spin_lock(&tdp->lock);
	if (tdp->invalidating || tdp->seq != seq) {
		r = 0;	/* the host changed it meanwhile: fault again */
	} else {
		/*
		 * Logged before the guest can write: a KVM_GET_DIRTY_LOG
		 * that clears the bit before this write-protects after it,
		 * under this lock; one that clears it after reports it.
		 */
		if (flags & KVISOR_TDP_WRITABLE)
			kvisor_mark_dirty(s, gfn);
		r = kvisor_tdp_map(tdp, gfn, hpa, flags, level);
		if (!r)
			r = 1;
	}
	spin_unlock(&tdp->lock);
	if (h.page) {
		mark_page_accessed(h.page);
		put_page(h.page);
	}
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}
