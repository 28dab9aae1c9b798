// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page logging: KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG and, with
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_CLEAR_DIRTY_LOG.
 *
 * A page of a logging slot is mapped read-only, and at 4K, in the nested
 * tables until the guest writes it; that write faults, kvisor_map_gfn()
 * sets the page's bit and maps it writable.  Collecting the log (GET, or
 * CLEAR in manual mode) clears bits, makes those pages read-only again
 * and flushes every vCPU's TLB, so the next write is seen again.  Runs of
 * set bits are protected with one walk each, not one per page, and a
 * fatal signal ends a long CLEAR early.
 *
 * Collecting runs under vm->slots_lock; the fault path does not take it.
 * It sets a page's bit atomically, under tdp->lock, just before it maps
 * the page writable, and collecting clears bits with atomic exchanges
 * before it write-protects their pages under tdp->lock.  So a page whose
 * bit was cleared is either write-protected after it was mapped writable,
 * or mapped writable after its bit was set again: no write is lost, at
 * worst a page shows up once more in the next log.  kvisor_guest_access()
 * sets the bit after it wrote, which a log taken in between misses but
 * the next one has.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kvisor.h"

/* KVM's x86 number of address spaces (the second is SMM's). */
#define KVISOR_ADDRESS_SPACES	2

#define KVISOR_DIRTY_LOG_MANUAL_CAPS	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | \
					 KVM_DIRTY_LOG_INITIALLY_SET)

static unsigned long kvisor_dirty_bitmap_bytes(const struct kvisor_memslot *s)
{
	return ALIGN(s->npages, BITS_PER_LONG) / 8;
}

/* The room after the bitmap proper, for GET and CLEAR to work in. */
static unsigned long *kvisor_dirty_buffer(const struct kvisor_memslot *s)
{
	return s->dirty_bitmap + kvisor_dirty_bitmap_bytes(s) / sizeof(long);
}

/*
 * A slot starts logging with every page clean, unless userspace asked for
 * KVM_DIRTY_LOG_INITIALLY_SET: then all are dirty and stay writable until
 * it clears them.  The caller write-protects the slot in the first case.
 */
int kvisor_dirty_bitmap_alloc(struct kvisor_vm *vm, struct kvisor_memslot *s)
{
	unsigned long bytes = kvisor_dirty_bitmap_bytes(s);

	lockdep_assert_held(&vm->slots_lock);
	s->dirty_bitmap = kvzalloc(2 * bytes, GFP_KERNEL_ACCOUNT);
	if (!s->dirty_bitmap)
		return -ENOMEM;
	if ((vm->dirty_log_manual & KVISOR_DIRTY_LOG_MANUAL_CAPS) ==
	    KVISOR_DIRTY_LOG_MANUAL_CAPS)
		bitmap_set(s->dirty_bitmap, 0, s->npages);
	return 0;
}

void kvisor_dirty_bitmap_free(struct kvisor_memslot *s)
{
	kvfree(s->dirty_bitmap);
	s->dirty_bitmap = NULL;
}

void kvisor_mark_dirty(struct kvisor_memslot *s, u64 gfn)
{
	if (s->dirty_bitmap && gfn >= s->base_gfn &&
	    gfn - s->base_gfn < s->npages)
		set_bit(gfn - s->base_gfn, s->dirty_bitmap);
}

/*
 * Write-protect the pages of @mask, the bits of the slot's page @first
 * on: one range walk for each run of set bits.
 */
static void kvisor_dirty_protect(struct kvisor_vm *vm,
				 struct kvisor_memslot *s, u64 first,
				 unsigned long mask, struct kvisor_tdp_zap *z)
{
	while (mask) {
		unsigned int bit = __ffs(mask);
		unsigned long rest = ~(mask >> bit);
		/* Zeros shift in at the top: all ones only for a full word. */
		unsigned int len = rest ? __ffs(rest) : BITS_PER_LONG;
		u64 gfn = s->base_gfn + first + bit;

		kvisor_tdp_write_protect(&vm->tdp, gfn, gfn + len, z);
		mask &= ~(GENMASK(bit + len - 1, bit));
	}
}

/*
 * The slot KVM_GET/CLEAR_DIRTY_LOG name, with KVM's errnos: -EINVAL for a
 * number no slot could have, -ENOENT for a slot that does not log.
 */
static int kvisor_dirty_slot(struct kvisor_vm *vm, u32 slot,
			     struct kvisor_memslot **out)
{
	u16 as_id = slot >> 16, id = (u16)slot;
	struct kvisor_memslot *s;

	if (as_id >= KVISOR_ADDRESS_SPACES || id >= KVISOR_MAX_MEMSLOTS)
		return -EINVAL;
	/* kvisor has no SMM, so its address space 1 holds no slot. */
	if (as_id)
		return -ENOENT;
	s = kvisor_slot_by_id(vm, id);
	if (!s || !s->dirty_bitmap)
		return -ENOENT;
	*out = s;
	return 0;
}

/*
 * Copy the slot's log to userspace.  Without manual protection the bits
 * are cleared and their pages write-protected at the same time; the copy
 * is a snapshot, so a write after it shows up in the next log.
 */
static int kvisor_get_dirty_log(struct kvisor_vm *vm, struct kvm_dirty_log *log)
{
	struct kvisor_memslot *s;
	unsigned long *buf, n, i;
	struct kvisor_tdp_zap z;
	int r;

	mutex_lock(&vm->slots_lock);
	r = kvisor_dirty_slot(vm, log->slot, &s);
	if (r)
		goto out;
	n = kvisor_dirty_bitmap_bytes(s);
	buf = s->dirty_bitmap;
	kvisor_tdp_zap_init(&z);
	if (!(vm->dirty_log_manual & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		buf = kvisor_dirty_buffer(s);
		for (i = 0; i < n / sizeof(long); i++) {
			buf[i] = xchg(&s->dirty_bitmap[i], 0);
			if (!buf[i])
				continue;
			kvisor_dirty_protect(vm, s, i * BITS_PER_LONG, buf[i],
					     &z);
		}
	}
	kvisor_tdp_zap_finish(vm, &z);
	if (copy_to_user(log->dirty_bitmap, buf, n))
		r = -EFAULT;
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/*
 * Clear the bits userspace names, in whole 64-page words: @first_page
 * must be a multiple of 64, and so must @num_pages unless the range runs
 * to the end of the slot.  Only pages whose bit was set are protected.
 */
static int kvisor_clear_dirty_log(struct kvisor_vm *vm,
				  struct kvm_clear_dirty_log *log)
{
	struct kvisor_memslot *s;
	unsigned long *buf, i, words;
	struct kvisor_tdp_zap z;
	int r;

	/* -EINVAL before the slot's -ENOENT, as in KVM */
	if (log->first_page & 63)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	r = kvisor_dirty_slot(vm, log->slot, &s);
	if (r)
		goto out;
	r = -EINVAL;
	if (log->first_page > s->npages ||
	    log->num_pages > s->npages - log->first_page ||
	    (log->num_pages < s->npages - log->first_page &&
	     (log->num_pages & 63)))
		goto out;
	words = DIV_ROUND_UP(log->num_pages, BITS_PER_LONG);
	buf = kvisor_dirty_buffer(s);
	r = -EFAULT;
	if (copy_from_user(buf, log->dirty_bitmap, words * sizeof(long)))
		goto out;
	kvisor_tdp_zap_init(&z);
	r = 0;
	for (i = 0; i < words; i++) {
		unsigned long idx = log->first_page / BITS_PER_LONG + i;
		unsigned long mask = buf[i];

		/* Bits cleared so far stay cleared, and protected. */
		if (fatal_signal_pending(current)) {
			r = -EINTR;
			break;
		}
		if (!mask)
			continue;
		/* Bits past the slot's end are never set, so never cleared. */
		mask &= atomic_long_fetch_andnot(mask,
				(atomic_long_t *)&s->dirty_bitmap[idx]);
		if (mask)
			kvisor_dirty_protect(vm, s, idx * BITS_PER_LONG, mask,
					     &z);
	}
	kvisor_tdp_zap_finish(vm, &z);
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

long kvisor_dirty_log_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			    void __user *argp)
{
	union {
		struct kvm_dirty_log get;
		struct kvm_clear_dirty_log clear;
	} u;

	switch (ioctl) {
	case KVM_GET_DIRTY_LOG:
		if (copy_from_user(&u.get, argp, sizeof(u.get)))
			return -EFAULT;
		return kvisor_get_dirty_log(vm, &u.get);
	case KVM_CLEAR_DIRTY_LOG:
		if (copy_from_user(&u.clear, argp, sizeof(u.clear)))
			return -EFAULT;
		return kvisor_clear_dirty_log(vm, &u.clear);
	default:
		return -ENOTTY;
	}
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): INITIALLY_SET is
 * accepted only together with ENABLE; 0 turns manual mode off again.
 */
int kvisor_enable_dirty_log_manual(struct kvisor_vm *vm, u64 flags)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	if (flags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed = KVISOR_DIRTY_LOG_MANUAL_CAPS;
	if (flags & ~allowed)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	vm->dirty_log_manual = flags;
	mutex_unlock(&vm->slots_lock);
	return 0;
}
