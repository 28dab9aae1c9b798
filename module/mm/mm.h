/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory: the memory slots userspace gives (memslot.c), the nested
 * page tables the hardware walks (tdp.c, NPT and EPT alike), the nested
 * page fault that fills them from the VMM's own page tables (fault.c),
 * the MMU notifier that keeps them coherent with those (notifier.c),
 * dirty page logging (dirty.c) and the guest's own page tables (gva.c).
 *
 * Guest memory is ordinary memory of the VMM process, as with KVM: kvisor
 * holds no reference to a guest page beyond the fault that maps it.  The
 * host may swap, migrate, merge (KSM) or free any page at any time; it
 * tells kvisor first, through the MMU notifier, which removes the nested
 * mappings and makes every vCPU flush before it goes on.
 *
 * Locking, outermost first:
 *  - vm->slots_lock (mutex): slot changes, and collecting dirty logs.
 *  - vm->srcu: the readers of the slots, which never take slots_lock:
 *    the fault path (which sleeps in the host's page fault, and may wait
 *    there on userfaultfd), guest accesses and the MMU notifier.  Slot
 *    changes wait for them before they free a slot.
 *  - tdp->lock (spinlock): the tables, and the invalidation count and
 *    sequence that tell a fault whether what it looked up is still true
 *    (bumped by MMU notifier invalidations and by slot changes alike).
 *  A dirty bit is set atomically by the fault path, under tdp->lock just
 *  before it maps a page writable, and collected with xchg (dirty.c).
 */
#ifndef KVISOR_MM_H
#define KVISOR_MM_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/mmu_notifier.h>
#include <linux/xarray.h>
#include <linux/maple_tree.h>
#include <linux/kvm.h>

struct page;
struct kvisor_vm;
struct kvisor_vcpu;

/* KVM's number of user memory slots on x86 (KVM_USER_MEM_SLOTS). */
#define KVISOR_MAX_MEMSLOTS	32764

/* Mapping sizes: level 1 maps 4K, level 2 2M, level 3 1G. */
#define KVISOR_TDP_LEVELS	4
#define KVISOR_MAX_MAP_LEVEL	3

/* A slot's place in one of the VM's trees by userspace address */
struct kvisor_hva_node {
	struct rb_node rb;
	unsigned long start, last;	/* the slot's bytes, @last included */
	unsigned long subtree_last;	/* the largest @last under this node */
};

/**
 * struct kvisor_memslot - one KVM_SET_USER_MEMORY_REGION slot
 * @base_gfn:	first guest frame
 * @npages:	size in pages, at least 1
 * @hva:	userspace address backing @base_gfn
 * @flags:	KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY
 * @id:		the slot number userspace gave
 * @dirty_bitmap: with KVM_MEM_LOG_DIRTY_PAGES, a bit per page the guest
 *		wrote since userspace last collected it, followed by as
 *		much room again for KVM_GET/CLEAR_DIRTY_LOG to work in
 *		(dirty.c); NULL without logging
 * @hva_node:	its place in each of the VM's two trees by userspace
 *		address (memslot.c)
 *
 * Nothing in a slot grows with its size until dirty logging asks for the
 * bitmap (which KVM allocates the same way, charged to the caller).  A
 * slot never changes once other threads can see it: a change replaces it.
 */
struct kvisor_memslot {
	u64 base_gfn;
	u64 npages;
	unsigned long hva;
	u32 flags;
	u16 id;
	unsigned long *dirty_bitmap;
	struct kvisor_hva_node hva_node[2];
};

/**
 * struct kvisor_tdp - a VM's nested page tables (NPT or EPT)
 * @root:	the PML4, where every walk here starts
 * @hw_root:	the table whose physical address goes into the VMCB or
 *		EPTP: @root, or a PML5 above it whose entry 0 points to it
 *		(guest-physical addresses have at most 48 bits)
 * @lock:	serializes changes to the tables; the hardware walks them
 *		concurrently, so entries are only ever written whole
 * @pages:	every table page, for freeing
 * @invalidating: MMU notifier invalidations under way: no fault may
 *		install a mapping until it drops to 0
 * @seq:	bumped as each invalidation ends; a fault that saw another
 *		value before it looked the page up retries
 * @nr_leaves:	mappings by size (4K, 2M, 1G), for debugfs
 * @nr_splits:	huge leaves split into smaller ones, for debugfs
 * @max_phys_gfn: the first guest frame the tables cannot map
 */
struct kvisor_tdp {
	u64 *root;
	u64 *hw_root;
	/* the tables, @invalidating, @seq, @nr_leaves */
	spinlock_t lock;
	struct list_head pages;
	long invalidating;
	unsigned long seq;
	unsigned long nr_leaves[KVISOR_MAX_MAP_LEVEL];
	unsigned long nr_splits;
	u64 max_phys_gfn;
};

/* What a zap collected: tables to free once no CPU can walk them. */
struct kvisor_tdp_zap {
	struct list_head tables;
	bool flush;
};

/* memslot.c */
int kvisor_memslots_init(struct kvisor_vm *vm);
int kvisor_set_memory_region(struct kvisor_vm *vm,
			     const struct kvm_userspace_memory_region *mr);
void kvisor_free_memslots(struct kvisor_vm *vm);
struct kvisor_memslot *kvisor_find_slot(struct kvisor_vm *vm, u64 gfn);
int kvisor_hva_tree_active(struct kvisor_vm *vm);
struct kvisor_memslot *kvisor_hva_first(struct kvisor_vm *vm, int tree,
					unsigned long start,
					unsigned long last);
struct kvisor_memslot *kvisor_hva_next(struct kvisor_memslot *s, int tree,
				       unsigned long start, unsigned long last);
/*
 * Where the VMM maps guest-physical @gpa (a write: not in a read-only
 * slot), and its slot; NULL where no slot has it.  Under vm->srcu, also
 * with interrupts off (the scheduler's preempt notifier).
 */
void __user *kvisor_gpa_to_hva(struct kvisor_vm *vm, u64 gpa, bool write,
			       struct kvisor_memslot **slot);
int kvisor_read_guest(struct kvisor_vm *vm, u64 gpa, void *buf,
		      unsigned int len);
int kvisor_write_guest(struct kvisor_vm *vm, u64 gpa, const void *buf,
		       unsigned int len);

/* fault.c: a nested page fault */
int kvisor_map_gfn(struct kvisor_vm *vm, u64 gfn, bool write);

/* notifier.c: the MMU notifier on the VMM's address space */
int kvisor_mmu_notifier_register(struct kvisor_vm *vm);
void kvisor_mmu_notifier_unregister(struct kvisor_vm *vm);

/* dirty.c: dirty page logging */
int kvisor_dirty_bitmap_alloc(struct kvisor_vm *vm, struct kvisor_memslot *s);
void kvisor_dirty_bitmap_free(struct kvisor_memslot *s);
void kvisor_mark_dirty(struct kvisor_memslot *s, u64 gfn);
long kvisor_dirty_log_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			    void __user *argp);
int kvisor_enable_dirty_log_manual(struct kvisor_vm *vm, u64 flags);

/*
 * tdp.c: the nested page tables, and flushing what the CPUs cached.
 * Ranges are in guest frames, [@gfn, @end).  A zap or write-protect fills
 * @z; kvisor_tdp_zap_finish() then flushes every vCPU if anything changed
 * and frees the tables that were unlinked.
 */
int kvisor_tdp_init(struct kvisor_tdp *tdp);
void kvisor_tdp_destroy(struct kvisor_tdp *tdp);
int kvisor_tdp_map(struct kvisor_tdp *tdp, u64 gfn, phys_addr_t hpa,
		   unsigned int flags, int level);
void kvisor_tdp_zap_init(struct kvisor_tdp_zap *z);
#define KVISOR_ZAP_RESCHED	BIT(0)	/* the caller may sleep */
#define KVISOR_ZAP_SPLIT	BIT(1)	/* split huge leaves it covers in part */
bool kvisor_tdp_zap(struct kvisor_tdp *tdp, u64 gfn, u64 end,
		    struct kvisor_tdp_zap *z, unsigned int how);
void kvisor_tdp_split(struct kvisor_tdp *tdp, u64 gfn, u64 end,
		      struct kvisor_tdp_zap *z);
void kvisor_tdp_write_protect(struct kvisor_tdp *tdp, u64 gfn, u64 end,
			      struct kvisor_tdp_zap *z);
bool kvisor_tdp_young(struct kvisor_tdp *tdp, u64 gfn, u64 end);
void kvisor_tdp_zap_finish(struct kvisor_vm *vm, struct kvisor_tdp_zap *z);
phys_addr_t kvisor_tdp_root(struct kvisor_vm *vm);
void kvisor_flush_guest_tlbs(struct kvisor_vm *vm);

/* gva.c: the guest's own page tables */
int kvisor_gva_to_gpa(struct kvisor_vcpu *vcpu, u64 gva, bool write,
		      bool fetch, u64 *gpa, u32 *pf_error);

#endif /* KVISOR_MM_H */
