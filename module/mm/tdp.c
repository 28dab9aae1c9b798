// SPDX-License-Identifier: GPL-2.0
/*
 * The two-dimensional paging core: nested page tables that translate
 * guest-physical to host-physical addresses, for AMD's NPT and Intel's EPT
 * alike.
 *
 * Both are 4-level radix trees of 4K tables holding 512 8-byte entries,
 * indexed by guest-physical address bits 47:39, 38:30, 29:21 and 20:12.
 * They differ only in the bits of an entry, which the backend supplies
 * through struct kvisor_tdp_format.  kvisor maps 4K pages only.
 *
 * A mapping is either writable or not: read-only slots, and the pages of a
 * dirty-logging slot not yet written since the log was last read, are
 * mapped read-only, so a guest write faults and kvisor can act on it.
 *
 * The hardware walks these tables while guests run, on any CPU, without
 * taking tdp->lock.  So an entry is only ever written whole (a single
 * aligned 8-byte store), a table is linked into its parent only after it
 * is zeroed, and tables are freed only when the VM is gone.
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "core/kvisor.h"

#define TDP_LEVELS		4
#define TDP_ENTRIES		512
#define TDP_ADDR_MASK		GENMASK_ULL(51, 12)

static unsigned int tdp_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (TDP_ENTRIES - 1);
}

static u64 *tdp_alloc_table(struct kvisor_tdp *tdp)
{
	struct page *page = alloc_page(GFP_ATOMIC | __GFP_ZERO |
				       __GFP_ACCOUNT);

	if (!page)
		return NULL;
	list_add(&page->lru, &tdp->pages);
	return page_address(page);
}

int kvisor_tdp_init(struct kvisor_tdp *tdp)
{
	spin_lock_init(&tdp->lock);
	INIT_LIST_HEAD(&tdp->pages);
	tdp->root = tdp_alloc_table(tdp);
	return tdp->root ? 0 : -ENOMEM;
}

void kvisor_tdp_destroy(struct kvisor_tdp *tdp)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &tdp->pages, lru) {
		list_del(&page->lru);
		__free_page(page);
	}
	tdp->root = NULL;
}

/*
 * Find the last-level table for @gpa, creating the tables on the way when
 * @create is set.  Called with tdp->lock held.
 */
static u64 *tdp_walk(struct kvisor_tdp *tdp, u64 gpa, bool create)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;
	u64 *table = tdp->root;
	int level;

	for (level = TDP_LEVELS; level > 1; level--) {
		u64 *entry = &table[tdp_index(gpa, level)];

		if (!f->present(READ_ONCE(*entry))) {
			u64 *next;

			if (!create)
				return NULL;
			next = tdp_alloc_table(tdp);
			if (!next)
				return NULL;
			WRITE_ONCE(*entry, f->table(virt_to_phys(next)));
		}
		table = phys_to_virt(READ_ONCE(*entry) & TDP_ADDR_MASK);
	}
	return table;
}

int kvisor_tdp_map(struct kvisor_tdp *tdp, u64 gpa, phys_addr_t hpa,
		   bool writable)
{
	u64 *table;

	spin_lock(&tdp->lock);
	table = tdp_walk(tdp, gpa, true);
	if (table)
		WRITE_ONCE(table[tdp_index(gpa, 1)],
			   kvisor_ops->tdp->leaf(hpa, writable));
	spin_unlock(&tdp->lock);
	return table ? 0 : -ENOMEM;
}

/*
 * Clear the 4K mappings of [@gpa, @gpa + @size).  The tables themselves
 * stay: they cost little and the range is likely to be mapped again.
 * The caller flushes the guests' TLBs.
 */
void kvisor_tdp_unmap_range(struct kvisor_tdp *tdp, u64 gpa, u64 size)
{
	u64 end = gpa + size;

	spin_lock(&tdp->lock);
	while (gpa < end) {
		u64 *table = tdp_walk(tdp, gpa, false);
		u64 next = (gpa | (SZ_2M - 1)) + 1;

		if (table) {
			for (; gpa < end && gpa < next; gpa += PAGE_SIZE)
				WRITE_ONCE(table[tdp_index(gpa, 1)], 0);
		}
		gpa = next;
		cond_resched_lock(&tdp->lock);
	}
	spin_unlock(&tdp->lock);
}

/*
 * Make the 4K mappings present in [@gpa, @gpa + @size) read-only, so that
 * the next guest write to each faults.  The caller flushes the guests'
 * TLBs, which may still hold the writable translations.
 */
void kvisor_tdp_write_protect(struct kvisor_tdp *tdp, u64 gpa, u64 size)
{
	const struct kvisor_tdp_format *f = kvisor_ops->tdp;
	u64 end = gpa + size;

	spin_lock(&tdp->lock);
	while (gpa < end) {
		u64 *table = tdp_walk(tdp, gpa, false);
		u64 next = (gpa | (SZ_2M - 1)) + 1;

		for (; table && gpa < end && gpa < next; gpa += PAGE_SIZE) {
			u64 *entry = &table[tdp_index(gpa, 1)];
			u64 pte = READ_ONCE(*entry);

			if (f->present(pte))
				WRITE_ONCE(*entry,
					   f->leaf(pte & TDP_ADDR_MASK, false));
		}
		gpa = next;
		cond_resched_lock(&tdp->lock);
	}
	spin_unlock(&tdp->lock);
}

/* The top-level table, for the backend's EPTP or nCR3. */
phys_addr_t kvisor_tdp_root(struct kvisor_vm *vm)
{
	return __pa(vm->tdp.root);
}

static void kvisor_nop(void *unused)
{
}

/*
 * After mappings were removed or write-protected: a vCPU may be in guest
 * mode on another CPU, using a translation it cached before.  Make every
 * vCPU flush before it next enters, then interrupt every CPU and wait.  An
 * interrupt forces a running guest out, so once each CPU has answered, no
 * guest can still be using the old translations.
 */
void kvisor_flush_guest_tlbs(struct kvisor_vm *vm)
{
	/* Pairs with the release in kvisor_create_vcpu(). */
	int nr_vcpus = smp_load_acquire(&vm->nr_vcpus);
	int i;

	for (i = 0; i < nr_vcpus; i++)
		kvisor_ops->request_tlb_flush(vm->vcpus[i]);
	on_each_cpu(kvisor_nop, NULL, 1);
	/* KVM_GET_STATS_FD's remote_tlb_flush; slots_lock serializes it. */
	WRITE_ONCE(vm->remote_tlb_flush, vm->remote_tlb_flush + 1);
}
