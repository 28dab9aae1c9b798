/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory: the memory slots userspace gives (memslot.c), dirty page
 * logging over them (dirty.c), the nested page tables the hardware walks
 * (tdp.c, NPT and EPT alike) and the guest's own page tables (gva.c).
 *
 * Locking: vm->slots_lock (a mutex) protects the slots, their pinned
 * pages and dirty bitmaps; tdp->lock (a spinlock) the table pages, which
 * the hardware reads concurrently, so entries are written whole.  The
 * order is slots_lock, then tdp->lock.
 */
#ifndef KVISOR_MM_H
#define KVISOR_MM_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/kvm.h>

struct page;
struct kvisor_vm;
struct kvisor_vcpu;

#define KVISOR_MAX_MEMSLOTS	32

/**
 * struct kvisor_memslot - one KVM_SET_USER_MEMORY_REGION slot
 * @base_gfn:	first guest frame
 * @npages:	size in pages; 0 means the slot is unused
 * @hva:	userspace address backing @base_gfn
 * @flags:	KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY
 * @pages:	the host page pinned for each guest frame once the guest
 *		touched it (NULL until then); all are released when the
 *		slot goes away
 * @dirty_bitmap: with KVM_MEM_LOG_DIRTY_PAGES, a bit per page the guest
 *		wrote since userspace last collected it, followed by as
 *		much room again for KVM_GET/CLEAR_DIRTY_LOG to work in
 *		(dirty.c); NULL without logging
 */
struct kvisor_memslot {
	u64 base_gfn;
	u64 npages;
	unsigned long hva;
	u32 flags;
	struct page **pages;
	unsigned long *dirty_bitmap;
};

/**
 * struct kvisor_tdp - a VM's nested page tables (NPT or EPT)
 * @root:	the top-level table (PML4); its physical address goes into
 *		the VMCB or EPTP
 * @lock:	serializes changes to the tables; the hardware walks them
 *		concurrently, so entries are only ever written whole
 * @pages:	every table page, for freeing
 */
struct kvisor_tdp {
	u64 *root;
	/* every change to the tables; the hardware reads them unlocked */
	spinlock_t lock;
	struct list_head pages;
};

/* memslot.c */
int kvisor_set_memory_region(struct kvisor_vm *vm,
			     const struct kvm_userspace_memory_region *mr);
void kvisor_free_memslots(struct kvisor_vm *vm);
struct kvisor_memslot *kvisor_find_slot(struct kvisor_vm *vm, u64 gfn);
int kvisor_map_gfn(struct kvisor_vm *vm, u64 gfn, bool write);
int kvisor_read_guest(struct kvisor_vm *vm, u64 gpa, void *buf,
		      unsigned int len);
int kvisor_write_guest(struct kvisor_vm *vm, u64 gpa, const void *buf,
		       unsigned int len);

/* dirty.c: dirty page logging */
int kvisor_dirty_bitmap_alloc(struct kvisor_vm *vm, struct kvisor_memslot *s);
void kvisor_dirty_bitmap_free(struct kvisor_memslot *s);
void kvisor_mark_dirty(struct kvisor_memslot *s, u64 gfn);
long kvisor_dirty_log_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			    void __user *argp);
int kvisor_enable_dirty_log_manual(struct kvisor_vm *vm, u64 flags);

/* tdp.c: the nested page tables, and flushing what the CPUs cached */
int kvisor_tdp_init(struct kvisor_tdp *tdp);
void kvisor_tdp_destroy(struct kvisor_tdp *tdp);
int kvisor_tdp_map(struct kvisor_tdp *tdp, u64 gpa, phys_addr_t hpa,
		   bool writable);
void kvisor_tdp_unmap_range(struct kvisor_tdp *tdp, u64 gpa, u64 size);
void kvisor_tdp_write_protect(struct kvisor_tdp *tdp, u64 gpa, u64 size);
phys_addr_t kvisor_tdp_root(struct kvisor_vm *vm);
void kvisor_flush_guest_tlbs(struct kvisor_vm *vm);

/* gva.c: the guest's own page tables */
int kvisor_gva_to_gpa(struct kvisor_vcpu *vcpu, u64 gva, bool write,
		      bool fetch, u64 *gpa, u32 *pf_error);

#endif /* KVISOR_MM_H */
