// SPDX-License-Identifier: GPL-2.0
/*
 * The two-dimensional paging core: nested page tables that translate
 * guest-physical to host-physical addresses, for AMD's NPT and Intel's EPT
 * alike.
 *
 * Both are 4-level radix trees of 4K tables holding 512 8-byte entries,
 * indexed by guest-physical address bits 47:39, 38:30, 29:21 and 20:12.
 * They differ only in the bits of an entry, which the backend supplies
 * through struct kvisor_tdp_format.  A leaf maps 4K at level 1, and 2M
 * at level 2 or 1G at level 3 where the host maps the memory that large
 * (fault.c decides).
 *
 * A mapping is either writable or not: read-only slots, pages the host
 * gave only for reading (KSM, the zero page), and the pages of a
 * dirty-logging slot not yet written since the log was last read, are
 * mapped read-only, so a guest write faults and kvisor can act on it.
 *
 * The hardware walks these tables while guests run, on any CPU, without
 * taking tdp->lock.  So an entry is only ever written whole (a single
 * aligned 8-byte store), a table is linked into its parent only after it
 * is zeroed, and a table unlinked by a zap is freed only after every vCPU
 * was made to leave the guest and flush (kvisor_tdp_zap_finish()).
 *
 * Every range walk works in guest frames below tdp->max_phys_gfn (slots
 * are refused beyond it), skips absent subtrees whole, and gives up the
 * lock every 1G so that a large range neither wraps nor hogs a CPU.
 *
 * A huge leaf that an operation covers only in part, or that must become
 * 4K (dirty logging), is split: replaced, in one store, by a table of 512
 * leaves one level down that map the same memory with the same rights,
 * which the operation then works on.  Replacing a translation by smaller
 * ones of the same frames and attributes is what the SDM's "Details of
 * TLB Use" allows without invalidating first; the rights are reduced only
 * afterwards, on the small leaves, and flushed as any other change.
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/processor.h>

#include "core/kvisor.h"

#define TDP_ENTRIES		512
#define TDP_ADDR_MASK		GENMASK_ULL(51, 12)

/* Guest frames one entry at @level covers: 1, 512, 512^2, 512^3. */
static u64 tdp_span(int level)
{
	return 1ULL << (9 * (level - 1));
}

static unsigned int tdp_index(u64 gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (TDP_ENTRIES - 1);
}

static bool tdp_is_leaf(u64 pte, int level)
{
	return level == 1 || (pte & kvisor_ops->tdp->huge);
}

static u64 *tdp_table_of(u64 pte)
{
	return phys_to_virt(pte & TDP_ADDR_MASK);
}

static u64 *tdp_alloc_table(struct kvisor_tdp *tdp, gfp_t gfp)
{
	struct page *page = alloc_page(gfp | __GFP_ZERO | __GFP_ACCOUNT);

	if (!page)
		return NULL;
	list_add(&page->lru, &tdp->pages);
	return page_address(page);
}

int kvisor_tdp_init(struct kvisor_tdp *tdp)
{
	/* The tables map 48 bits; the CPU's physical address width may be less. */
	u64 bits = min_t(u64, boot_cpu_data.x86_phys_bits, 48);

	spin_lock_init(&tdp->lock);
	INIT_LIST_HEAD(&tdp->pages);
	tdp->max_phys_gfn = 1ULL << (bits - PAGE_SHIFT);
	tdp->root = tdp_alloc_table(tdp, GFP_KERNEL);
	if (!tdp->root)
		return -ENOMEM;
	tdp->hw_root = tdp->root;
	if (kvisor_ops->tdp->five_levels) {
		tdp->hw_root = tdp_alloc_table(tdp, GFP_KERNEL);
		if (!tdp->hw_root) {
			kvisor_tdp_destroy(tdp);
			return -ENOMEM;
		}
		tdp->hw_root[0] = kvisor_ops->tdp->table(virt_to_phys(tdp->root));
	}
	return 0;
}

void kvisor_tdp_destroy(struct kvisor_tdp *tdp)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &tdp->pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	tdp->root = NULL;
	tdp->hw_root = NULL;
}

static void tdp_count(struct kvisor_tdp *tdp, int level, long n)
{
	tdp->nr_leaves[level - 1] += n;
}

/*
 * Map @gfn to @hpa with a leaf at @level, creating the tables above it.
 * A huge leaf in the way of a smaller one is replaced by a table (the
 * host split what it maps); a table in the way of a huge leaf makes the
 * mapping 4K instead, since its entries may still be in use.  Called by
 * fault.c with tdp->lock held, @flags KVISOR_TDP_*; -ENOMEM when a table
 * cannot be had.
 */
int kvisor_tdp_map(struct kvisor_tdp *tdp, u64 gfn, phys_addr_t hpa,
		   unsigned int flags, int level)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;
	u64 *table = tdp->root, *entry, pte;
	int l;

	lockdep_assert_held(&tdp->lock);
	for (l = KVISOR_TDP_LEVELS; l > level; l--) {
		entry = &table[tdp_index(gfn, l)];
		pte = READ_ONCE(*entry);
		if (f->present(pte) && tdp_is_leaf(pte, l)) {
			WRITE_ONCE(*entry, 0);
			tdp_count(tdp, l, -1);
			pte = 0;
		}
		if (!f->present(pte)) {
			u64 *next = tdp_alloc_table(tdp, GFP_ATOMIC);

			if (!next)
				return -ENOMEM;
			WRITE_ONCE(*entry, f->table(virt_to_phys(next)));
			table = next;
			continue;
		}
		table = tdp_table_of(pte);
	}
	entry = &table[tdp_index(gfn, level)];
	pte = READ_ONCE(*entry);
	if (level > 1 && f->present(pte) && !tdp_is_leaf(pte, level)) {
		hpa += (gfn & (tdp_span(level) - 1)) << PAGE_SHIFT;
		return kvisor_tdp_map(tdp, gfn, hpa & PAGE_MASK, flags, 1);
	}
	if (!f->present(pte))
		tdp_count(tdp, level, 1);
	WRITE_ONCE(*entry, f->leaf(hpa, flags, level));
	return 0;
}

enum tdp_op { TDP_ZAP, TDP_WRITE_PROTECT, TDP_SPLIT, TDP_YOUNG };

struct tdp_walk {
	struct kvisor_tdp *tdp;
	enum tdp_op op;
	u64 start, end;			/* guest frames, end exclusive */
	struct kvisor_tdp_zap *z;
	bool split_partial;		/* a zap splits what it covers in part */
	bool found;			/* a mapping was there */
};

/*
 * Whether the huge leaf covering [@first, @first + span) is split before
 * @w's operation: always where the slot must map 4K (write protection for
 * dirty logging, TDP_SPLIT), and for a zap that covers only part of it
 * when the caller asked (an MMU notifier invalidation: the rest of the
 * host's huge page is still mapped as it was).
 */
static bool tdp_wants_split(struct tdp_walk *w, u64 first, u64 span)
{
	bool whole = w->start <= first && first + span <= w->end;

	switch (w->op) {
	case TDP_WRITE_PROTECT:
	case TDP_SPLIT:
		return true;
	case TDP_ZAP:
		return w->split_partial && !whole;
	default:
		return false;
	}
}

/*
 * Replace the huge leaf @pte in @entry (at @level) by a table of leaves
 * one level down that map the same memory with the same rights.  The
 * table comes without waiting, since tdp->lock is held: when there is
 * none, false, and the caller removes the leaf instead (it faults back
 * in, at the size the slot then allows).
 */
static bool tdp_split_leaf(struct tdp_walk *w, u64 *entry, u64 pte, int level)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;
	unsigned int flags = pte & f->writable ? KVISOR_TDP_WRITABLE : 0;
	u64 bytes = tdp_span(level - 1) << PAGE_SHIFT;
	phys_addr_t hpa = pte & TDP_ADDR_MASK & ~(bytes * TDP_ENTRIES - 1);
	u64 *table = tdp_alloc_table(w->tdp, GFP_NOWAIT | __GFP_NOWARN);
	unsigned int i;

	if (!table)
		return false;
	/* Huge leaves are only ever RAM, mapped write-back (fault.c). */
	for (i = 0; i < TDP_ENTRIES; i++)
		table[i] = f->leaf(hpa + i * bytes, flags, level - 1);
	WRITE_ONCE(*entry, f->table(virt_to_phys(table)));
	tdp_count(w->tdp, level, -1);
	tdp_count(w->tdp, level - 1, TDP_ENTRIES);
	w->tdp->nr_splits++;
	return true;
}

static void tdp_leaf_op(struct tdp_walk *w, u64 *entry, u64 pte, int level)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;

	w->found = true;
	if (w->op == TDP_YOUNG || (w->op == TDP_SPLIT && level == 1))
		return;
	if (w->op == TDP_WRITE_PROTECT && level == 1) {
		if (!(pte & f->writable))
			return;
		WRITE_ONCE(*entry, pte & ~f->writable);
	} else {
		/* A zap, or a huge leaf that could not be split: it goes. */
		WRITE_ONCE(*entry, 0);
		tdp_count(w->tdp, level, -1);
	}
	w->z->flush = true;
}

/*
 * Apply @w's operation to the entries of @table (at @level, mapping from
 * guest frame @base on) that overlap [w->start, w->end).  A zap that
 * covers a table's whole range unlinks the table too, to be freed after
 * the flush.
 */
static void tdp_walk_table(struct tdp_walk *w, u64 *table, int level, u64 base)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;
	u64 span = tdp_span(level);
	unsigned int i = 0;

	if (w->start > base)
		i = (w->start - base) / span;
	for (; i < TDP_ENTRIES && base + i * span < w->end; i++) {
		u64 first = base + i * span, *entry = &table[i];
		u64 pte = READ_ONCE(*entry);
		bool whole = w->start <= first && first + span <= w->end;

		if (!f->present(pte))
			continue;
		if (tdp_is_leaf(pte, level)) {
			if (level == 1 || !tdp_wants_split(w, first, span) ||
			    !tdp_split_leaf(w, entry, pte, level)) {
				tdp_leaf_op(w, entry, pte, level);
				continue;
			}
			/* Now a table: the operation goes on in it. */
			pte = READ_ONCE(*entry);
		}
		tdp_walk_table(w, tdp_table_of(pte), level - 1, first);
		if (w->op == TDP_ZAP && whole) {
			struct page *page = virt_to_page(tdp_table_of(pte));

			WRITE_ONCE(*entry, 0);
			list_move(&page->lru, &w->z->tables);
			w->z->flush = true;
		}
	}
}

/*
 * Walk [w->start, w->end) in 1G pieces, each from the root under the
 * lock, with the lock given up in between (@may_resched) so that a huge
 * range cannot hog the CPU.  Nothing holds a table pointer across that
 * gap, so a concurrent zap may free what it unlinks.
 */
static void tdp_walk_range(struct tdp_walk *w, bool may_resched)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;
	struct kvisor_tdp *tdp = w->tdp;
	u64 gfn = w->start, end = min(w->end, tdp->max_phys_gfn);

	spin_lock(&tdp->lock);
	while (gfn < end && !(w->op == TDP_YOUNG && w->found)) {
		u64 pml4e = READ_ONCE(tdp->root[tdp_index(gfn, 4)]);
		u64 next;

		if (!f->present(pml4e)) {
			/* Nothing in this 512G: on to the next one. */
			next = ALIGN(gfn + 1, tdp_span(4));
		} else {
			next = min(ALIGN(gfn + 1, tdp_span(3)), end);
			w->start = gfn;
			w->end = next;
			tdp_walk_table(w, tdp_table_of(pml4e), 3,
				       gfn & ~(tdp_span(4) - 1));
		}
		gfn = next;
		if (may_resched)
			cond_resched_lock(&tdp->lock);
	}
	spin_unlock(&tdp->lock);
}

void kvisor_tdp_zap_init(struct kvisor_tdp_zap *z)
{
	INIT_LIST_HEAD(&z->tables);
	z->flush = false;
}

/*
 * Remove every mapping in [@gfn, @end), and the tables wholly inside it;
 * whether there was a mapping.  KVISOR_ZAP_RESCHED where the caller may
 * sleep (not an MMU notifier that must not block); KVISOR_ZAP_SPLIT to
 * keep the part of a huge leaf outside the range, mapped smaller.
 */
bool kvisor_tdp_zap(struct kvisor_tdp *tdp, u64 gfn, u64 end,
		    struct kvisor_tdp_zap *z, unsigned int how)
{
	struct tdp_walk w = { .tdp = tdp, .op = TDP_ZAP, .start = gfn,
			      .end = end, .z = z,
			      .split_partial = how & KVISOR_ZAP_SPLIT };

	tdp_walk_range(&w, how & KVISOR_ZAP_RESCHED);
	return w.found;
}

/*
 * Map [@gfn, @end) with 4K leaves only, keeping every mapping's rights:
 * a slot that starts logging with every page dirty
 * (KVM_DIRTY_LOG_INITIALLY_SET) stays writable, but must be protectable
 * 4K at a time.
 */
void kvisor_tdp_split(struct kvisor_tdp *tdp, u64 gfn, u64 end,
		      struct kvisor_tdp_zap *z)
{
	struct tdp_walk w = { .tdp = tdp, .op = TDP_SPLIT, .start = gfn,
			      .end = end, .z = z };

	tdp_walk_range(&w, true);
	/* Same frames and rights: the old translations may stay cached. */
}

/*
 * Make the mappings in [@gfn, @end) read-only, so that the next guest
 * write to each faults; huge ones are split to 4K first, so that guest
 * reads go on without faults (KVM's eager page split).
 */
void kvisor_tdp_write_protect(struct kvisor_tdp *tdp, u64 gfn, u64 end,
			      struct kvisor_tdp_zap *z)
{
	struct tdp_walk w = { .tdp = tdp, .op = TDP_WRITE_PROTECT,
			      .start = gfn, .end = end, .z = z };

	tdp_walk_range(&w, true);
}

/* Whether anything in [@gfn, @end) is mapped (notifier.c's "young"). */
bool kvisor_tdp_young(struct kvisor_tdp *tdp, u64 gfn, u64 end)
{
	struct tdp_walk w = { .tdp = tdp, .op = TDP_YOUNG, .start = gfn,
			      .end = end };

	tdp_walk_range(&w, false);
	return w.found;
}

/* The top-level table, for the backend's EPTP or nCR3. */
phys_addr_t kvisor_tdp_root(struct kvisor_vm *vm)
{
	return __pa(vm->tdp.hw_root);
}

static void kvisor_nop(void *unused)
{
}

/*
 * After mappings were removed or write-protected: a vCPU may be in guest
 * mode on another CPU, using a translation it cached before.  Make every
 * vCPU flush before it next enters, then interrupt the CPUs that run one
 * of this VM's vCPUs in guest mode now, and wait for each: the interrupt
 * forces the guest out, and its next entry flushes.  CPUs that run no
 * vCPU of this VM are left alone.
 *
 * The backend reads its flush request after it has set vcpu->in_guest
 * and issued a full barrier (kvisor_enter_guest_irqoff()), and the
 * barrier here orders the request before the read of in_guest: either
 * the entry sees the request, or this sees the vCPU in the guest.
 */
void kvisor_flush_guest_tlbs(struct kvisor_vm *vm)
{
	/* Pairs with the release in kvisor_create_vcpu(). */
	int nr_vcpus = smp_load_acquire(&vm->nr_vcpus);
	bool kicked = false;
	int i;

	atomic_long_inc(&vm->remote_tlb_flush_requests);
	for (i = 0; i < nr_vcpus; i++)
		kvisor_ops->request_tlb_flush(vm->vcpus[i]);
	/* The requests before the reads of in_guest; see above. */
	smp_mb();
	for (i = 0; i < nr_vcpus; i++) {
		struct kvisor_vcpu *vcpu = vm->vcpus[i];
		int cpu = READ_ONCE(vcpu->cpu);

		if (READ_ONCE(vcpu->in_guest) && cpu >= 0) {
			smp_call_function_single(cpu, kvisor_nop, NULL, 1);
			kicked = true;
		}
	}
	/* KVM counts a flush only when it had to interrupt a vCPU. */
	if (kicked)
		atomic_long_inc(&vm->remote_tlb_flush);
}

/* After a zap: flush if anything changed, then free unlinked tables. */
void kvisor_tdp_zap_finish(struct kvisor_vm *vm, struct kvisor_tdp_zap *z)
{
	struct page *page, *tmp;

	if (z->flush)
		kvisor_flush_guest_tlbs(vm);
	list_for_each_entry_safe(page, tmp, &z->tables, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	kvisor_tdp_zap_init(z);
}
