// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU notifier on the VMM's address space: the host tells kvisor
 * before it changes what a range of the VMM's memory maps to (reclaim and
 * swap, page migration and compaction, KSM merging, THP splits and
 * collapses, munmap, MADV_DONTNEED, mremap, fork's write protection), and
 * kvisor removes the nested mappings of the guest frames that range
 * backs, so the guest can never reach a page the VMM no longer maps.
 *
 * invalidate_range_start() zaps and makes every vCPU flush before it
 * returns; until the matching invalidate_range_end(), tdp->invalidating
 * keeps faults from installing anything, and the end bumps tdp->seq so
 * that a fault which looked a page up before it does not install it
 * either (fault.c).
 *
 * Page aging (reclaim's "was this page used lately?") sees guest use of
 * a page through the nested mapping: a page is young while it is mapped.
 * clear_young() and clear_flush_young() unmap it, so that a guest use
 * faults it in again and makes it young again; this needs no accessed
 * bits in the nested tables, which EPT may not have.
 *
 * Slots are looked up by userspace address in an interval tree, under
 * vm->srcu, never slots_lock: a slot change holds slots_lock while it
 * waits for vm->srcu's readers, among them faults that may invalidate.
 */
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include "core/kvisor.h"

enum kvisor_hva_op { HVA_ZAP, HVA_AGE, HVA_TEST_AGE };

/*
 * Apply @op to the guest frames that [@start, @end) of the VMM backs, in
 * every slot that overlaps it.  Returns whether any of them was mapped
 * (for the aging hooks).  @how: KVISOR_ZAP_RESCHED where the caller may
 * sleep, KVISOR_ZAP_SPLIT where only the range changes (an invalidation),
 * so that the rest of a huge mapping stays.
 */
static bool kvisor_hva_range(struct kvisor_vm *vm, unsigned long start,
			     unsigned long end, enum kvisor_hva_op op,
			     unsigned int how, bool flush)
{
	struct kvisor_memslot *s;
	struct kvisor_tdp_zap z;
	bool young = false;
	int idx, tree;

	if (start >= end)
		return false;
	kvisor_tdp_zap_init(&z);
	idx = srcu_read_lock(&vm->srcu);
	tree = kvisor_hva_tree_active(vm);
	for (s = kvisor_hva_first(vm, tree, start, end - 1); s;
	     s = kvisor_hva_next(s, tree, start, end - 1)) {
		unsigned long s_end = s->hva + (s->npages << PAGE_SHIFT);
		unsigned long from = max(start, s->hva), to = min(end, s_end);
		u64 gfn, gfn_end;

		gfn = s->base_gfn + ((from - s->hva) >> PAGE_SHIFT);
		gfn_end = s->base_gfn + ((to - s->hva + PAGE_SIZE - 1) >>
					 PAGE_SHIFT);
		if (op == HVA_TEST_AGE) {
			young |= kvisor_tdp_young(&vm->tdp, gfn, gfn_end);
			continue;
		}
		/* Aging: what the zap found mapped was young. */
		young |= kvisor_tdp_zap(&vm->tdp, gfn, gfn_end, &z, how);
	}
	srcu_read_unlock(&vm->srcu, idx);
	/*
	 * Aging without a flush may let a vCPU use a stale translation a
	 * little longer: the page then just looks older than it is, as with
	 * the hardware's own clear_young.  Unlinked tables need the flush.
	 */
	if (!flush && list_empty(&z.tables))
		z.flush = false;
	kvisor_tdp_zap_finish(vm, &z);
	return young;
}

static struct kvisor_vm *mn_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvisor_vm, mmu_notifier);
}

static int kvisor_mn_invalidate_range_start(struct mmu_notifier *mn,
					    const struct mmu_notifier_range *range)
{
	struct kvisor_vm *vm = mn_vm(mn);

	spin_lock(&vm->tdp.lock);
	vm->tdp.invalidating++;
	spin_unlock(&vm->tdp.lock);
	kvisor_hva_range(vm, range->start, range->end, HVA_ZAP,
			 KVISOR_ZAP_SPLIT | (mmu_notifier_range_blockable(range) ?
					     KVISOR_ZAP_RESCHED : 0), true);
	return 0;
}

static void kvisor_mn_invalidate_range_end(struct mmu_notifier *mn,
					   const struct mmu_notifier_range *range)
{
	struct kvisor_vm *vm = mn_vm(mn);

	spin_lock(&vm->tdp.lock);
	/* A fault that read the old value retries (fault.c). */
	vm->tdp.seq++;
	vm->tdp.invalidating--;
	spin_unlock(&vm->tdp.lock);
}

static int kvisor_mn_clear_flush_young(struct mmu_notifier *mn,
				       struct mm_struct *mm,
				       unsigned long start, unsigned long end)
{
	return kvisor_hva_range(mn_vm(mn), start, end, HVA_AGE, 0, true);
}

static int kvisor_mn_clear_young(struct mmu_notifier *mn,
				 struct mm_struct *mm,
				 unsigned long start, unsigned long end)
{
	return kvisor_hva_range(mn_vm(mn), start, end, HVA_AGE, 0, false);
}

static int kvisor_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long address)
{
	return kvisor_hva_range(mn_vm(mn), address, address + 1, HVA_TEST_AGE,
				0, false);
}

/*
 * The address space is going away (the VMM exited; a VM fd passed to
 * another process outlives it).  Nothing of it may stay mapped.
 */
static void kvisor_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	kvisor_hva_range(mn_vm(mn), 0, ULONG_MAX, HVA_ZAP, KVISOR_ZAP_RESCHED,
			 true);
}

static const struct mmu_notifier_ops kvisor_mmu_notifier_ops = {
	.invalidate_range_start	= kvisor_mn_invalidate_range_start,
	.invalidate_range_end	= kvisor_mn_invalidate_range_end,
	.clear_flush_young	= kvisor_mn_clear_flush_young,
	.clear_young		= kvisor_mn_clear_young,
	.test_young		= kvisor_mn_test_young,
	.release		= kvisor_mn_release,
};

/* At VM creation, on the creator's address space (current->mm). */
int kvisor_mmu_notifier_register(struct kvisor_vm *vm)
{
	vm->mmu_notifier.ops = &kvisor_mmu_notifier_ops;
	return mmu_notifier_register(&vm->mmu_notifier, vm->mm);
}

/* At VM destruction: on return, no callback runs or will run. */
void kvisor_mmu_notifier_unregister(struct kvisor_vm *vm)
{
	mmu_notifier_unregister(&vm->mmu_notifier, vm->mm);
}
