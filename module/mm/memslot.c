// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: the slots userspace declares with KVM_SET_USER_MEMORY_REGION,
 * and the host pages behind them.
 *
 * Nested page tables are built lazily.  The first guest access to a frame
 * faults (a nested page fault or EPT violation); kvisor_map_gfn() then pins
 * the page of the userspace mapping behind the frame and maps it in the
 * nested tables.  A pinned page stays pinned, and mapped, until its slot is
 * deleted or moved or the VM dies; only then is it unmapped, every CPU made
 * to leave guest mode (so no stale translation can still be in use), and
 * the page released.
 *
 * Two slot flags change how a page is mapped.  A KVM_MEM_READONLY slot is
 * never mapped writable: a guest write to it faults, and is then emulated
 * as an MMIO write that userspace sees (kvisor_write_guest() treats the
 * slot as absent for writes).  A KVM_MEM_LOG_DIRTY_PAGES slot maps a page
 * writable only once the guest wrote it and dirty.c recorded that.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "core/kvisor.h"

/* KVM's limit on one slot, which keeps page counts within 31 bits. */
#define KVISOR_MAX_SLOT_PAGES	((1ULL << 31) - 1)

struct kvisor_memslot *kvisor_find_slot(struct kvisor_vm *vm, u64 gfn)
{
	int i;

	lockdep_assert_held(&vm->slots_lock);
	for (i = 0; i < KVISOR_MAX_MEMSLOTS; i++) {
		struct kvisor_memslot *s = &vm->slots[i];

		if (s->npages && gfn >= s->base_gfn &&
		    gfn < s->base_gfn + s->npages)
			return s;
	}
	return NULL;
}

static bool kvisor_slot_overlaps(struct kvisor_vm *vm, int id, u64 base,
				 u64 npages)
{
	int i;

	for (i = 0; i < KVISOR_MAX_MEMSLOTS; i++) {
		struct kvisor_memslot *s = &vm->slots[i];

		if (i != id && s->npages && base < s->base_gfn + s->npages &&
		    s->base_gfn < base + npages)
			return true;
	}
	return false;
}

/* Unmap a slot from the nested tables and release its pages. */
static void kvisor_slot_release(struct kvisor_vm *vm, struct kvisor_memslot *s)
{
	unsigned long pinned = 0;
	u64 i;

	kvisor_tdp_unmap_range(&vm->tdp, s->base_gfn << PAGE_SHIFT,
			       s->npages << PAGE_SHIFT);
	kvisor_flush_guest_tlbs(vm);

	for (i = 0; i < s->npages; i++) {
		if (s->pages[i]) {
			unpin_user_page(s->pages[i]);
			pinned++;
		}
	}
	/* Give the pages back to the owner's locked-memory count, if alive. */
	if (pinned && mmget_not_zero(vm->mm)) {
		account_locked_vm(vm->mm, pinned, false);
		mmput(vm->mm);
	}
	vfree(s->pages);
	kvisor_dirty_bitmap_free(s);
	memset(s, 0, sizeof(*s));
}

static int kvisor_check_region(const struct kvm_userspace_memory_region *mr)
{
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
	return 0;
}

/*
 * A flags-only change, which can only switch dirty logging on or off (KVM
 * refuses to change KVM_MEM_READONLY).  Switched on, the slot's pages are
 * write-protected, unless they all start dirty; switched off, pages stay
 * read-only until their next write fault maps them writable for good.
 */
static int kvisor_slot_set_flags(struct kvisor_vm *vm,
				 struct kvisor_memslot *s, u32 flags)
{
	int r;

	if (!(flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		kvisor_dirty_bitmap_free(s);
	} else if (!s->dirty_bitmap) {
		r = kvisor_dirty_bitmap_alloc(vm, s);
		if (r)
			return r;
		if (!(vm->dirty_log_manual & KVM_DIRTY_LOG_INITIALLY_SET)) {
			kvisor_tdp_write_protect(&vm->tdp,
						 s->base_gfn << PAGE_SHIFT,
						 s->npages << PAGE_SHIFT);
			kvisor_flush_guest_tlbs(vm);
		}
	}
	s->flags = flags;
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
	struct kvisor_memslot *s;
	u64 base = mr->guest_phys_addr >> PAGE_SHIFT;
	u64 npages = mr->memory_size >> PAGE_SHIFT;
	struct kvisor_memslot new = {};
	int r;

	r = kvisor_check_region(mr);
	if (r)
		return r;

	mutex_lock(&vm->slots_lock);
	s = &vm->slots[(u16)mr->slot];
	r = -EINVAL;
	if (!npages) {
		if (s->npages) {
			kvisor_slot_release(vm, s);
			r = 0;
		}
		goto out;
	}
	if (s->npages) {
		if (mr->userspace_addr != s->hva || npages != s->npages ||
		    ((mr->flags ^ s->flags) & KVM_MEM_READONLY))
			goto out;
		if (base == s->base_gfn) {
			r = mr->flags == s->flags ? 0 :
			    kvisor_slot_set_flags(vm, s, mr->flags);
			goto out;
		}
	}
	r = -EEXIST;
	if (kvisor_slot_overlaps(vm, (u16)mr->slot, base, npages))
		goto out;

	r = -ENOMEM;
	new.base_gfn = base;
	new.npages = npages;
	new.hva = mr->userspace_addr;
	new.flags = mr->flags;
	new.pages = vzalloc(array_size(npages, sizeof(*new.pages)));
	if (!new.pages)
		goto out;
	/* A moved slot that keeps logging keeps its log, as in KVM. */
	if (mr->flags & KVM_MEM_LOG_DIRTY_PAGES) {
		if (s->dirty_bitmap) {
			new.dirty_bitmap = s->dirty_bitmap;
			s->dirty_bitmap = NULL;
		} else if (kvisor_dirty_bitmap_alloc(vm, &new)) {
			vfree(new.pages);
			goto out;
		}
	}
	/* A move is a delete and a create: the pages are faulted in again. */
	if (s->npages)
		kvisor_slot_release(vm, s);
	*s = new;
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

void kvisor_free_memslots(struct kvisor_vm *vm)
{
	int i;

	mutex_lock(&vm->slots_lock);
	for (i = 0; i < KVISOR_MAX_MEMSLOTS; i++)
		if (vm->slots[i].npages)
			kvisor_slot_release(vm, &vm->slots[i]);
	mutex_unlock(&vm->slots_lock);
}

/*
 * Pin the page behind @gfn and map it in the nested tables, after a guest
 * access (a write if @write) faulted.  Returns 0, -ENOENT when no slot
 * holds @gfn or it is a write to a read-only slot (the access is MMIO),
 * or -EFAULT when the userspace mapping cannot provide the page, which
 * KVM_RUN reports as -EFAULT just as KVM does.
 */
int kvisor_map_gfn(struct kvisor_vm *vm, u64 gfn, bool write)
{
	bool readonly, writable;
	struct kvisor_memslot *s;
	struct page *page;
	u64 idx;
	int r;

	mutex_lock(&vm->slots_lock);
	s = kvisor_find_slot(vm, gfn);
	r = -ENOENT;
	readonly = s && (s->flags & KVM_MEM_READONLY);
	if (!s || (write && readonly))
		goto out;
	idx = gfn - s->base_gfn;
	page = s->pages[idx];
	if (!page) {
		/*
		 * A pinned page cannot be reclaimed: it counts against the
		 * owner's RLIMIT_MEMLOCK (CAP_IPC_LOCK lifts it), as for any
		 * long-term pin.  KVM_RUN reports -ENOMEM past the limit.
		 */
		r = account_locked_vm(vm->mm, 1, true);
		if (r)
			goto out;
		/* The VM's mm is current's: a VM is only run by its owner. */
		/* A read-only slot may sit on a read-only mapping. */
		r = pin_user_pages_fast(s->hva + idx * PAGE_SIZE, 1,
					(readonly ? 0 : FOLL_WRITE) |
					FOLL_LONGTERM, &page);
		if (r != 1) {
			account_locked_vm(vm->mm, 1, false);
			pr_warn_ratelimited("gfn %#llx: cannot pin the page at hva %#llx (%d)\n",
					    gfn, s->hva + idx * PAGE_SIZE, r);
			r = -EFAULT;
			goto out;
		}
		s->pages[idx] = page;
	}
	/* A logging slot's page turns writable once its write is logged. */
	writable = !readonly && (!s->dirty_bitmap || write ||
				 test_bit(idx, s->dirty_bitmap));
	if (write)
		kvisor_mark_dirty(s, gfn);
	r = kvisor_tdp_map(&vm->tdp, gfn << PAGE_SHIFT, page_to_phys(page),
			   writable);
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/*
 * Guest memory through its slots' userspace mappings.  A write to a
 * read-only slot finds no memory (-ENOENT: the emulator makes it MMIO);
 * one to a logging slot is logged, after the data landed, under
 * slots_lock so that a concurrent KVM_GET_DIRTY_LOG cannot miss it.
 */
static int kvisor_guest_access(struct kvisor_vm *vm, u64 gpa, void *buf,
			       unsigned int len, bool write)
{
	while (len) {
		unsigned int n = min_t(u64, len, PAGE_SIZE - offset_in_page(gpa));
		struct kvisor_memslot *s;
		void __user *hva;
		int r;

		mutex_lock(&vm->slots_lock);
		s = kvisor_find_slot(vm, gpa >> PAGE_SHIFT);
		if (!s || (write && (s->flags & KVM_MEM_READONLY))) {
			mutex_unlock(&vm->slots_lock);
			return -ENOENT;
		}
		hva = (void __user *)(s->hva + gpa - (s->base_gfn << PAGE_SHIFT));
		if (write) {
			r = copy_to_user(hva, buf, n);
			if (!r)
				kvisor_mark_dirty(s, gpa >> PAGE_SHIFT);
			mutex_unlock(&vm->slots_lock);
		} else {
			mutex_unlock(&vm->slots_lock);
			r = copy_from_user(buf, hva, n);
		}
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
