// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace's say over the guest's RDMSR and WRMSR, as KVM gives it:
 *
 * - KVM_X86_SET_MSR_FILTER: up to 16 ranges of MSRs, each with a bitmap
 *   that allows (1) or denies (0) the guest's reads, writes or both, and
 *   a default for the MSRs no range covers.  A denied access fails as an
 *   MSR nobody models does: #GP, or an exit to userspace.
 * - KVM_CAP_X86_USER_SPACE_MSR: an RDMSR or WRMSR that would raise #GP
 *   goes to userspace instead (KVM_EXIT_X86_RDMSR, KVM_EXIT_X86_WRMSR),
 *   for the reasons userspace chose: an MSR kvisor does not know, one
 *   it refused (a reserved bit, a read-only MSR), or the filter.  The
 *   answer comes with the next KVM_RUN: data for an RDMSR, or a #GP.
 *
 * The filter is the guest's only: KVM_GET/SET_MSRS are never filtered,
 * and neither are the x2APIC MSRs (0x800-0x8ff), as in KVM.  Some MSRs
 * the guest reaches without exits (the FS/GS bases, the SYSCALL and
 * SYSENTER MSRs, and SPEC_CTRL once the guest uses it); a new filter
 * makes every vCPU redo those intercepts before its next entry
 * (kvisor_msr_filter_update()), so that what it denies exits again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/trapnr.h>

#include "core/kvisor.h"

#define KVISOR_MSR_EXIT_REASONS	(KVM_MSR_EXIT_REASON_INVAL | \
				 KVM_MSR_EXIT_REASON_UNKNOWN | \
				 KVM_MSR_EXIT_REASON_FILTER)
#define KVISOR_MSR_FILTER_RW	(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

/* One range, with the VM's own copy of userspace's bitmap. */
struct kvisor_msr_range {
	u32 flags;	/* KVM_MSR_FILTER_READ, _WRITE */
	u32 base;
	u32 nmsrs;
	unsigned long *bitmap;
};

/* Never changed once published: a new filter replaces the whole. */
struct kvisor_msr_filter {
	bool default_allow;
	u32 count;
	struct kvisor_msr_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static bool kvisor_msr_range_decides(const struct kvisor_msr_range *r,
				     u32 msr, u32 type)
{
	/* KVM's arithmetic: a range that wraps past 0xffffffff covers none. */
	u32 end = r->base + r->nmsrs;

	return (r->flags & type) && msr >= r->base && msr < end;
}

bool kvisor_msr_allowed(struct kvisor_vcpu *vcpu, u32 msr, bool write)
{
	u32 type = write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ;
	struct kvisor_vm *vm = vcpu->vm;
	struct kvisor_msr_filter *f;
	bool allowed = true;
	int idx;
	u32 i;

	/* x2APIC MSRs follow the APIC's mode, never the filter. */
	if (msr >= 0x800 && msr <= 0x8ff)
		return true;
	idx = srcu_read_lock(&vm->srcu);
	f = srcu_dereference(vm->msr_filter, &vm->srcu);
	if (f) {
		allowed = f->default_allow;
		/* The first range that covers the MSR for this access decides. */
		for (i = 0; i < f->count; i++) {
			if (kvisor_msr_range_decides(&f->ranges[i], msr, type)) {
				allowed = test_bit(msr - f->ranges[i].base,
						   f->ranges[i].bitmap);
				break;
			}
		}
	}
	srcu_read_unlock(&vm->srcu, idx);
	return allowed;
}

static void kvisor_msr_filter_free(struct kvisor_msr_filter *f)
{
	u32 i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/*
 * KVM's checks, in its order: a range without MSRs is skipped whatever
 * its flags; otherwise it needs known flags, at least one, and a bitmap
 * of at most KVM_MSR_FILTER_MAX_BITMAP_SIZE bytes.  The copy is whole
 * longs, as KVM's, so a bitmap must be readable up to that.
 */
static int kvisor_msr_range_add(struct kvisor_msr_filter *f,
				const struct kvm_msr_filter_range *ur)
{
	struct kvisor_msr_range *r = &f->ranges[f->count];
	unsigned long *bitmap;
	u64 size;

	if (!ur->nmsrs)
		return 0;
	if ((ur->flags & ~KVISOR_MSR_FILTER_RW) || !ur->flags)
		return -EINVAL;
	size = BITS_TO_LONGS((u64)ur->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = memdup_user((const void __user *)ur->bitmap, size);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	r->flags = ur->flags;
	r->base = ur->base;
	r->nmsrs = ur->nmsrs;
	r->bitmap = bitmap;
	f->count++;
	return 0;
}

/*
 * Publish @f and make every vCPU redo its pass-through before its next
 * entry.  vm->lock orders this with vCPU creation: a vCPU created after
 * it finds the new filter (kvisor_msr_filter_vcpu_init()), one created
 * before is in vm->vcpus[].  The old filter goes once no reader is left
 * in it; so a vCPU sees the old filter or the new one, never a mix.
 */
static void kvisor_msr_filter_install(struct kvisor_vm *vm,
				      struct kvisor_msr_filter *f)
{
	struct kvisor_msr_filter *old;
	int i;

	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->msr_filter,
					lockdep_is_held(&vm->lock));
	rcu_assign_pointer(vm->msr_filter, f);
	for (i = 0; i < vm->nr_vcpus; i++) {
		set_bit(KVISOR_REQ_MSR_FILTER, &vm->vcpus[i]->requests);
		kvisor_vcpu_kick(vm->vcpus[i]);
	}
	mutex_unlock(&vm->lock);
	synchronize_srcu(&vm->srcu);
	kvisor_msr_filter_free(old);
}

/* KVM_X86_SET_MSR_FILTER, with KVM 6.1's checks and errnos. */
long kvisor_set_msr_filter(struct kvisor_vm *vm, void __user *argp)
{
	struct kvm_msr_filter *uf;
	struct kvisor_msr_filter *f;
	bool empty = true;
	long r;
	u32 i;

	uf = memdup_user(argp, sizeof(*uf));
	if (IS_ERR(uf))
		return PTR_ERR(uf);
	r = -EINVAL;
	if (uf->flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		goto out;
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		empty &= !uf->ranges[i].nmsrs;
	/* No ranges means no filter, which cannot deny by default. */
	if (empty && (uf->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		goto out;
	r = -ENOMEM;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		goto out;
	f->default_allow = !(uf->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		r = kvisor_msr_range_add(f, &uf->ranges[i]);
		if (r) {
			kvisor_msr_filter_free(f);
			goto out;
		}
	}
	kvisor_msr_filter_install(vm, f);
	r = 0;
out:
	kfree(uf);
	return r;
}

/* VM teardown: no vCPU is left to read it. */
void kvisor_msr_filter_vm_free(struct kvisor_vm *vm)
{
	kvisor_msr_filter_free(rcu_dereference_protected(vm->msr_filter, 1));
}

/* A new vCPU, under vm->lock: its pass-through must obey the filter too. */
void kvisor_msr_filter_vcpu_init(struct kvisor_vcpu *vcpu)
{
	if (rcu_access_pointer(vcpu->vm->msr_filter))
		set_bit(KVISOR_REQ_MSR_FILTER, &vcpu->requests);
}

/*
 * Before an entry, and while a halted vCPU waits (so that the request
 * does not keep waking it): the backend redoes its intercepts.  1, or
 * -ENOMEM for KVM_RUN, with the request kept for the next one.
 */
int kvisor_msr_filter_update(struct kvisor_vcpu *vcpu)
{
	int r;

	if (!test_and_clear_bit(KVISOR_REQ_MSR_FILTER, &vcpu->requests))
		return 1;
	r = kvisor_ops->msr_filter_changed(vcpu);
	if (!r)
		r = kvisor_spec_redo_passthrough(vcpu);
	if (r) {
		set_bit(KVISOR_REQ_MSR_FILTER, &vcpu->requests);
		return r;
	}
	return 1;
}

/* KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): which failures exit. */
int kvisor_enable_user_msr_exits(struct kvisor_vm *vm, u64 reasons)
{
	if (reasons & ~(u64)KVISOR_MSR_EXIT_REASONS)
		return -EINVAL;
	WRITE_ONCE(vm->user_msr_exits, reasons);
	return 0;
}

/*
 * An RDMSR or WRMSR of @msr failed with @err: -EPERM when the filter
 * denied it, -ENOENT when no one models the MSR, anything else when the
 * access or the value was refused.  If userspace asked to see failures
 * of that kind, the exit is filled in and 0 returned (the instruction,
 * @len bytes, completes at the next KVM_RUN); else 1: the guest takes
 * its #GP.
 */
int kvisor_msr_user_exit(struct kvisor_vcpu *vcpu, u32 msr, bool write,
			 u64 data, int err, unsigned int len)
{
	struct kvm_run *run = vcpu->run;
	u32 reason;

	if (err == -EPERM)
		reason = KVM_MSR_EXIT_REASON_FILTER;
	else if (err == -ENOENT)
		reason = KVM_MSR_EXIT_REASON_UNKNOWN;
	else
		reason = KVM_MSR_EXIT_REASON_INVAL;
	if (!(READ_ONCE(vcpu->vm->user_msr_exits) & reason))
		return 1;
	run->exit_reason = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = msr;
	run->msr.data = data;
	vcpu->pending = write ? KVISOR_PENDING_WRMSR : KVISOR_PENDING_RDMSR;
	vcpu->msr_len = len;
	return 0;
}

/*
 * The next KVM_RUN after such an exit: a non-zero msr.error is a #GP at
 * the instruction; otherwise it completes, an RDMSR with msr.data in
 * EDX:EAX.
 */
int kvisor_complete_msr(struct kvisor_vcpu *vcpu, bool write)
{
	struct kvm_run *run = vcpu->run;
	u64 data;

	if (READ_ONCE(run->msr.error)) {
		kvisor_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return 1;
	}
	if (!write) {
		data = READ_ONCE(run->msr.data);
		vcpu->regs[EMU_RAX] = (u32)data;
		vcpu->regs[EMU_RDX] = data >> 32;
	}
	kvisor_skip_insn(vcpu, vcpu->msr_len);
	return 1;
}
