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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "kvisor.h"

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

static void kvisor_nop(void *unused)
{
}

/*
 * Unmap a slot from the nested tables and release its pages.  A vCPU may be
 * in guest mode on another CPU, using a translation it cached before the
 * unmap: make every vCPU flush before it next enters, then interrupt every
 * CPU and wait.  An interrupt forces a running guest out, so once each CPU
 * has answered, no guest can still be using the old pages.
 */
static void kvisor_slot_release(struct kvisor_vm *vm, struct kvisor_memslot *s)
{
	/* Pairs with the release in kvisor_create_vcpu(). */
	int nr_vcpus = smp_load_acquire(&vm->nr_vcpus);
	unsigned long pinned = 0;
	u64 i;

	kvisor_tdp_unmap_range(&vm->tdp, s->base_gfn << PAGE_SHIFT,
			       s->npages << PAGE_SHIFT);
	for (i = 0; i < nr_vcpus; i++)
		kvisor_ops->request_tlb_flush(vm->vcpus[i]);
	on_each_cpu(kvisor_nop, NULL, 1);
	/* KVM_GET_STATS_FD's remote_tlb_flush; slots_lock serializes it. */
	WRITE_ONCE(vm->remote_tlb_flush, vm->remote_tlb_flush + 1);

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
	memset(s, 0, sizeof(*s));
}

static int kvisor_check_region(const struct kvm_userspace_memory_region *mr)
{
	if (mr->flags)	/* neither dirty logging nor read-only slots yet */
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
 * Create, delete or move a slot, with the rules and errno values of KVM:
 * a slot's size and userspace address never change; only its guest address
 * (a move) or, later, its flags.
 */
int kvisor_set_memory_region(struct kvisor_vm *vm,
			     const struct kvm_userspace_memory_region *mr)
{
	struct kvisor_memslot *s;
	u64 base = mr->guest_phys_addr >> PAGE_SHIFT;
	u64 npages = mr->memory_size >> PAGE_SHIFT;
	struct page **pages;
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
		if (mr->userspace_addr != s->hva || npages != s->npages)
			goto out;
		r = 0;
		if (base == s->base_gfn)
			goto out;
	}
	r = -EEXIST;
	if (kvisor_slot_overlaps(vm, (u16)mr->slot, base, npages))
		goto out;

	r = -ENOMEM;
	pages = vzalloc(array_size(npages, sizeof(*pages)));
	if (!pages)
		goto out;
	/* A move is a delete and a create: the pages are faulted in again. */
	if (s->npages)
		kvisor_slot_release(vm, s);
	s->base_gfn = base;
	s->npages = npages;
	s->hva = mr->userspace_addr;
	s->flags = mr->flags;
	s->pages = pages;
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
 * Pin the page behind @gfn and map it in the nested tables.  Returns 0,
 * -ENOENT when no slot holds @gfn (the access is MMIO), or -EFAULT when the
 * userspace mapping cannot provide a writable page, which KVM_RUN reports
 * as -EFAULT just as KVM does.
 */
int kvisor_map_gfn(struct kvisor_vm *vm, u64 gfn)
{
	struct kvisor_memslot *s;
	struct page *page;
	u64 idx;
	int r;

	mutex_lock(&vm->slots_lock);
	s = kvisor_find_slot(vm, gfn);
	r = -ENOENT;
	if (!s)
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
		r = pin_user_pages_fast(s->hva + idx * PAGE_SIZE, 1,
					FOLL_WRITE | FOLL_LONGTERM, &page);
		if (r != 1) {
			account_locked_vm(vm->mm, 1, false);
			pr_warn_ratelimited("gfn %#llx: cannot pin the page at hva %#llx (%d)\n",
					    gfn, s->hva + idx * PAGE_SIZE, r);
			r = -EFAULT;
			goto out;
		}
		s->pages[idx] = page;
	}
	r = kvisor_tdp_map(&vm->tdp, gfn << PAGE_SHIFT, page_to_phys(page),
			   true);
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}

/* Guest memory through its slots' userspace mappings. */
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
		if (!s) {
			mutex_unlock(&vm->slots_lock);
			return -ENOENT;
		}
		hva = (void __user *)(s->hva + gpa - (s->base_gfn << PAGE_SHIFT));
		mutex_unlock(&vm->slots_lock);
		r = write ? copy_to_user(hva, buf, n) : copy_from_user(buf, hva, n);
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
