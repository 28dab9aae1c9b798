// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: the slots userspace declares with KVM_SET_USER_MEMORY_REGION,
 * and access to guest memory through them.
 *
 * A slot only says where guest memory lies in the VMM's address space:
 * kvisor keeps no per-page state and holds no page.  The nested tables are
 * filled lazily by fault.c, and emptied when the host changes the VMM's
 * mappings (notifier.c) or when a slot goes away or moves, here.
 *
 * Slots are found by number in an xarray (under slots_lock), by guest
 * frame in a maple tree of their ranges, and by userspace address in an
 * interval tree, all O(log n): QEMU's DIMMs, virtio-mem and vhost use
 * many slots, and KVM offers 32764.  The fault path, guest accesses and
 * the MMU notifier read the last two without slots_lock, under vm->srcu,
 * so a slot is never changed in place: a change makes a new slot, and
 * the old one is freed only after synchronize_srcu().
 *
 * Two slot flags change how a page is mapped.  A KVM_MEM_READONLY slot is
 * never mapped writable: a guest write to it faults, and is then emulated
 * as an MMIO write that userspace sees (kvisor_write_guest() treats the
 * slot as absent for writes).  A KVM_MEM_LOG_DIRTY_PAGES slot maps a page
 * writable only once the guest wrote it and dirty.c recorded that.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "core/kvisor.h"

/* KVM's limit on one slot, which keeps page counts within 31 bits. */
#define KVISOR_MAX_SLOT_PAGES	((1ULL << 31) - 1)

int kvisor_memslots_init(struct kvisor_vm *vm)
{
	int r = init_srcu_struct(&vm->srcu);

	if (r)
		return r;
	xa_init(&vm->slot_ids);
	mt_init_flags(&vm->memslots, MT_FLAGS_USE_RCU);
	vm->hva_trees[0] = RB_ROOT_CACHED;
	vm->hva_trees[1] = RB_ROOT_CACHED;
	return 0;
}

/* The slot holding @gfn; slots_lock or vm->srcu held. */
struct kvisor_memslot *kvisor_find_slot(struct kvisor_vm *vm, u64 gfn)
{
	return mtree_load(&vm->memslots, gfn);
}

/* Whether [@base, @base + @npages) meets a slot other than @self. */
static bool kvisor_slot_overlaps(struct kvisor_vm *vm,
				 struct kvisor_memslot *self, u64 base,
				 u64 npages)
{
	unsigned long gfn = base;
	struct kvisor_memslot *s;

	mt_for_each(&vm->memslots, s, gfn, base + npages - 1)
		if (s != self)
			return true;
	return false;
}

/*
 * The slots by userspace address, for the MMU notifier, which is told of
 * changes to ranges of the VMM's memory: an interval tree (slots may
 * overlap there, two slots backed by the same memory), read under
 * vm->srcu without a lock.  A reader must never see one being changed,
 * so there are two: readers walk the active one while a change is made
 * to the other, which then becomes active; once no reader can still be
 * in the first (synchronize_srcu()), the change is made there too.
 */
#define HVA_START(n)	((n)->start)
#define HVA_LAST(n)	((n)->last)
INTERVAL_TREE_DEFINE(struct kvisor_hva_node, rb, unsigned long, subtree_last,
		     HVA_START, HVA_LAST, static, kvisor_hva_tree)

static struct kvisor_memslot *kvisor_hva_slot(struct kvisor_hva_node *n,
					      int tree)
{
	if (!n)
		return NULL;
	return tree ? container_of(n, struct kvisor_memslot, hva_node[1]) :
		      container_of(n, struct kvisor_memslot, hva_node[0]);
}

/* The tree readers use now; under vm->srcu. */
int kvisor_hva_tree_active(struct kvisor_vm *vm)
{
	/* Pairs with the release in kvisor_hva_trees_switch(). */
	return smp_load_acquire(&vm->hva_active);
}

/*
 * The slots that back any of [@start, @last] of the VMM's memory, in
 * @tree (kvisor_hva_tree_active()): the first, then the next after @s.
 */
struct kvisor_memslot *kvisor_hva_first(struct kvisor_vm *vm, int tree,
					unsigned long start, unsigned long last)
{
	return kvisor_hva_slot(kvisor_hva_tree_iter_first(&vm->hva_trees[tree],
							  start, last), tree);
}

struct kvisor_memslot *kvisor_hva_next(struct kvisor_memslot *s, int tree,
				       unsigned long start, unsigned long last)
{
	return kvisor_hva_slot(kvisor_hva_tree_iter_next(&s->hva_node[tree],
							 start, last), tree);
}

static void kvisor_hva_tree_change(struct kvisor_vm *vm, int tree,
				   struct kvisor_memslot *old,
				   struct kvisor_memslot *new)
{
	if (old)
		kvisor_hva_tree_remove(&old->hva_node[tree],
				       &vm->hva_trees[tree]);
	if (new) {
		new->hva_node[tree].start = new->hva;
		new->hva_node[tree].last = new->hva +
					   (new->npages << PAGE_SHIFT) - 1;
		kvisor_hva_tree_insert(&new->hva_node[tree],
				       &vm->hva_trees[tree]);
	}
}

/* Replace @old by @new (either may be NULL) in both trees. */
static void kvisor_hva_trees_switch(struct kvisor_vm *vm,
				    struct kvisor_memslot *old,
				    struct kvisor_memslot *new)
{
	int inactive = vm->hva_active ^ 1;

	kvisor_hva_tree_change(vm, inactive, old, new);
	/* The tree complete before readers go to it; see tree_active(). */
	smp_store_release(&vm->hva_active, inactive);
	synchronize_srcu_expedited(&vm->srcu);
	kvisor_hva_tree_change(vm, inactive ^ 1, old, new);
}

/*
 * Remove @s's mappings from the nested tables and make every vCPU flush.
 * After that, no guest access can reach the memory through @s.
 */
static void kvisor_slot_unmap(struct kvisor_vm *vm, struct kvisor_memslot *s)
{
	struct kvisor_tdp_zap z;

	kvisor_tdp_zap_init(&z);
	kvisor_tdp_zap(&vm->tdp, s->base_gfn, s->base_gfn + s->npages, &z,
		       KVISOR_ZAP_RESCHED);
	kvisor_tdp_zap_finish(vm, &z);
}

/*
 * Dirty logging switched on or off (the only flag that can change).  On,
 * the slot's mappings become read-only 4K ones (huge ones are split, so
 * that reads go on without faults), unless every page starts dirty: then
 * they are only split, and stay writable until userspace clears them.
 * Off, the mappings go, to fault back in writable, and huge where the
 * host's pages are.
 */
static void kvisor_slot_relog(struct kvisor_vm *vm, struct kvisor_memslot *s)
{
	struct kvisor_tdp_zap z;
	u64 end = s->base_gfn + s->npages;

	if (!s->dirty_bitmap) {
		kvisor_slot_unmap(vm, s);
		return;
	}
	kvisor_tdp_zap_init(&z);
	if (vm->dirty_log_manual & KVM_DIRTY_LOG_INITIALLY_SET)
		kvisor_tdp_split(&vm->tdp, s->base_gfn, end, &z);
	else
		kvisor_tdp_write_protect(&vm->tdp, s->base_gfn, end, &z);
	kvisor_tdp_zap_finish(vm, &z);
}

/*
 * A slot change keeps faults from installing mappings from its beginning
 * to its end, as an MMU notifier invalidation does, so that no fault can
 * map a page through a slot the notifier does not see (fault.c): a fault
 * that looked up a slot before the change retries after it.
 */
static void kvisor_slots_begin(struct kvisor_vm *vm)
{
	spin_lock(&vm->tdp.lock);
	vm->tdp.invalidating++;
	spin_unlock(&vm->tdp.lock);
}

static void kvisor_slots_end(struct kvisor_vm *vm)
{
	spin_lock(&vm->tdp.lock);
	vm->tdp.seq++;
	vm->tdp.invalidating--;
	spin_unlock(&vm->tdp.lock);
}

/*
 * Put @new in @old's place (either may be NULL): a create, a delete, a
 * move, or a change of flags (same place, @new a copy of @old).  When it
 * returns 0, no fault, notifier or guest access uses @old any more, none
 * of its mappings is left unless @new maps the same, and the caller frees
 * @old.  Storing first can only fail for memory, and changes nothing.
 */
static int kvisor_slots_switch(struct kvisor_vm *vm,
			       struct kvisor_memslot *old,
			       struct kvisor_memslot *new)
{
	int r = 0;

	kvisor_slots_begin(vm);
	if (new) {
		r = mtree_store_range(&vm->memslots, new->base_gfn,
				      new->base_gfn + new->npages - 1, new,
				      GFP_KERNEL_ACCOUNT);
		if (r)
			goto out;
		vm->nr_memslots++;
	}
	if (old) {
		/* Only where @new did not overwrite it already. */
		unsigned long gfn = old->base_gfn;
		struct kvisor_memslot *s;

		mt_for_each(&vm->memslots, s, gfn,
			    old->base_gfn + old->npages - 1) {
			if (s == old)
				mtree_erase(&vm->memslots, gfn - 1);
		}
		vm->nr_memslots--;
	}
	/* No fault installs anything now: what goes stays gone. */
	if (old && (!new || new->base_gfn != old->base_gfn))
		kvisor_slot_unmap(vm, old);
	else if (old)
		kvisor_slot_relog(vm, new);
	/* The notifier still saw @old until @old's mappings were gone. */
	kvisor_hva_trees_switch(vm, old, new);
out:
	kvisor_slots_end(vm);
	return r;
}

static void kvisor_slot_free(struct kvisor_memslot *s)
{
	kvisor_dirty_bitmap_free(s);
	kfree(s);
}

static int kvisor_check_region(struct kvisor_vm *vm,
			       const struct kvm_userspace_memory_region *mr)
{
	u64 end_gfn = (mr->guest_phys_addr + mr->memory_size) >> PAGE_SHIFT;

	if (mr->flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
		return -EINVAL;
	if ((mr->memory_size | mr->guest_phys_addr | mr->userspace_addr) &
	    ~PAGE_MASK)
		return -EINVAL;
	if (mr->memory_size != (unsigned long)mr->memory_size ||
	    !access_ok((void __user *)(unsigned long)mr->userspace_addr,
		       mr->memory_size))
		return -EINVAL;
	if ((mr->slot >> 16) || (u16)mr->slot >= KVISOR_MAX_MEMSLOTS)
		return -EINVAL;
	if (mr->guest_phys_addr + mr->memory_size < mr->guest_phys_addr)
		return -EINVAL;
	if ((mr->memory_size >> PAGE_SHIFT) > KVISOR_MAX_SLOT_PAGES)
		return -EINVAL;
	/* As KVM: nothing beyond what the nested tables can map. */
	if (mr->memory_size && end_gfn > vm->tdp.max_phys_gfn)
		return -EINVAL;
	return 0;
}

/*
 * Create a slot, or replace @old by a slot at a new address (a move) or
 * with dirty logging switched (the only flag that may change).
 */
static int kvisor_slot_create(struct kvisor_vm *vm,
			      const struct kvm_userspace_memory_region *mr,
			      struct kvisor_memslot *old)
{
	struct kvisor_memslot *new;
	int r;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	new->base_gfn = mr->guest_phys_addr >> PAGE_SHIFT;
	new->npages = mr->memory_size >> PAGE_SHIFT;
	new->hva = mr->userspace_addr;
	new->flags = mr->flags;
	new->id = (u16)mr->slot;
	/* A moved slot that keeps logging keeps its log, as in KVM. */
	if (mr->flags & KVM_MEM_LOG_DIRTY_PAGES) {
		if (old && old->dirty_bitmap) {
			new->dirty_bitmap = old->dirty_bitmap;
		} else if (kvisor_dirty_bitmap_alloc(vm, new)) {
			kfree(new);
			return -ENOMEM;
		}
	}
	r = xa_err(xa_store(&vm->slot_ids, new->id, new, GFP_KERNEL_ACCOUNT));
	if (!r)
		r = kvisor_slots_switch(vm, old, new);
	if (r) {
		if (old)
			xa_store(&vm->slot_ids, old->id, old, GFP_KERNEL);
		else
			xa_erase(&vm->slot_ids, new->id);
		if (!old || new->dirty_bitmap != old->dirty_bitmap)
			kvisor_dirty_bitmap_free(new);
		kfree(new);
		return r;
	}
	if (old) {
		if (old->dirty_bitmap == new->dirty_bitmap)
			old->dirty_bitmap = NULL;
		kvisor_slot_free(old);
	}
	return 0;
}

static int kvisor_slot_delete(struct kvisor_vm *vm, struct kvisor_memslot *s)
{
	/* Without a new slot, nothing to allocate: it cannot fail. */
	int r = kvisor_slots_switch(vm, s, NULL);

	if (r)
		return r;
	xa_erase(&vm->slot_ids, s->id);
	kvisor_slot_free(s);
	return 0;
}

/*
 * Create, delete or move a slot, or change its flags, with the rules and
 * errno values of KVM: a slot's size, userspace address and read-only
 * flag never change; only its guest address (a move) or its dirty logging.
 */
int kvisor_set_memory_region(struct kvisor_vm *vm,
			     const struct kvm_userspace_memory_region *mr)
{
	u64 base = mr->guest_phys_addr >> PAGE_SHIFT;
	u64 npages = mr->memory_size >> PAGE_SHIFT;
	struct kvisor_memslot *s;
	int r;

	r = kvisor_check_region(vm, mr);
	if (r)
		return r;

	mutex_lock(&vm->slots_lock);
	s = kvisor_slot_by_id(vm, (u16)mr->slot);
	r = -EINVAL;
	if (!npages) {
		if (s)
			r = kvisor_slot_delete(vm, s);
		goto out;
	}
	if (s) {
		if (mr->userspace_addr != s->hva || npages != s->npages ||
		    ((mr->flags ^ s->flags) & KVM_MEM_READONLY))
			goto out;
		if (base == s->base_gfn) {
			r = mr->flags == s->flags ? 0 :
			    kvisor_slot_create(vm, mr, s);
			goto out;
		}
	}
	r = -EEXIST;
	if (kvisor_slot_overlaps(vm, s, base, npages))
		goto out;
	r = kvisor_slot_create(vm, mr, s);
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/* At VM destruction, after the MMU notifier is gone. */
void kvisor_free_memslots(struct kvisor_vm *vm)
{
	struct kvisor_memslot *s;
	unsigned long id;

	mutex_lock(&vm->slots_lock);
	xa_for_each(&vm->slot_ids, id, s)
		kvisor_slot_free(s);
	mutex_unlock(&vm->slots_lock);
	/*
	 * No reader is left: destroy the tree at once, not through RCU
	 * callbacks, which would still walk it after the VM is freed.
	 */
	mt_clear_in_rcu(&vm->memslots);
	mtree_destroy(&vm->memslots);
	xa_destroy(&vm->slot_ids);
	cleanup_srcu_struct(&vm->srcu);
}

void __user *kvisor_gpa_to_hva(struct kvisor_vm *vm, u64 gpa, bool write,
			       struct kvisor_memslot **slot)
{
	struct kvisor_memslot *s = kvisor_find_slot(vm, gpa >> PAGE_SHIFT);

	if (!s || (write && (s->flags & KVM_MEM_READONLY)))
		return NULL;
	*slot = s;
	return (void __user *)(s->hva + gpa - (s->base_gfn << PAGE_SHIFT));
}

/*
 * Guest memory through its slots' userspace mappings, under vm->srcu.  A
 * write to a read-only slot finds no memory (-ENOENT: the emulator makes
 * it MMIO); one to a logging slot is logged after the data landed, so
 * that a KVM_GET_DIRTY_LOG that misses the bit has not yet been given the
 * data either: the write shows up in the next log.
 */
static int kvisor_guest_access(struct kvisor_vm *vm, u64 gpa, void *buf,
			       unsigned int len, bool write)
{
	while (len) {
		unsigned int n = min_t(u64, len, PAGE_SIZE - offset_in_page(gpa));
		struct kvisor_memslot *s;
		void __user *hva;
		int r, idx;

		idx = srcu_read_lock(&vm->srcu);
		hva = kvisor_gpa_to_hva(vm, gpa, write, &s);
		if (!hva) {
			srcu_read_unlock(&vm->srcu, idx);
			return -ENOENT;
		}
		if (write) {
			r = copy_to_user(hva, buf, n);
			if (!r)
				kvisor_mark_dirty(s, gpa >> PAGE_SHIFT);
		} else {
			r = copy_from_user(buf, hva, n);
		}
		srcu_read_unlock(&vm->srcu, idx);
		if (r)
			return -EFAULT;
		buf += n;
		gpa += n;
		len -= n;
	}
	return 0;
}

int kvisor_read_guest(struct kvisor_vm *vm, u64 gpa, void *buf,
		      unsigned int len)
{
	return kvisor_guest_access(vm, gpa, buf, len, false);
}

int kvisor_write_guest(struct kvisor_vm *vm, u64 gpa, const void *buf,
		       unsigned int len)
{
	return kvisor_guest_access(vm, gpa, (void *)buf, len, true);
}
