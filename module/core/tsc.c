// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's TSC: the host's plus an offset per vCPU, which core owns
 * (vcpu->tsc_offset) and the backend puts in the VMCS ("TSC offset",
 * SDM Vol. 3, "Timing and Time-Stamp Counters in VMX Non-Root
 * Operation") or the VMCB (TSC_OFFSET, APM Vol. 2, "TSC Offset").
 * There is no TSC scaling: the guest's TSC runs at the host's rate.
 *
 * Guests want their CPUs' TSCs in step (Linux measures the warp between
 * CPUs when one comes online and stops trusting the TSC at the first
 * cycle of it), but userspace sets each vCPU's TSC on its own: QEMU
 * writes 0 to every vCPU at each reset, including a hot-plugged one's,
 * and after a migration the value each vCPU had, all read at slightly
 * different times.  So, as KVM's kvm_synchronize_tsc() does, a write of
 * userspace that lands within a second of where the VM's last one would
 * be by now, or any write of 0 (a vCPU being reset), is taken as "the
 * same TSC as the others": the vCPU gets the offset the VM's vCPUs share.
 * Any other write starts a new shared offset.  A new vCPU is written 0,
 * so the first one's TSC starts at 0 and every later one, hot-plugged
 * or not, joins it.  The guest's own writes (WRMSR) set its vCPU alone.
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/timekeeping.h>
#include <asm/tsc.h>

#include "kvisor.h"

/*
 * The guest's kvmclock pairs a TSC reading with a time: a new offset
 * makes it rewrite the pair before the next entry, or the guest's clock
 * would jump by the change (KVM requests the same update).
 */
static int kvisor_tsc_set_offset(struct kvisor_vcpu *vcpu, u64 offset)
{
	/* (VMX without TSC offsetting refuses all but 0: the host's TSC) */
	int r = kvisor_ops->set_tsc_offset(vcpu, offset);

	if (!r && offset != vcpu->tsc_offset) {
		vcpu->tsc_offset = offset;
		kvisor_kvmclock_request(vcpu);
	}
	return r;
}

/*
 * Record @vcpu's new @offset, at guest TSC @tsc and host time @ns, as the
 * VM's last write; unless it @matched the shared one, it becomes that.
 * Called with vm->tsc_lock held.
 */
static void kvisor_tsc_record(struct kvisor_vm *vm, u64 offset, u64 tsc,
			      u64 ns, bool matched)
{
	vm->tsc_last_write = tsc;
	vm->tsc_last_ns = ns;
	vm->tsc_last_offset = offset;
	vm->tsc_written = true;
	if (!matched)
		vm->tsc_offset = offset;
}

/*
 * Userspace set @vcpu's TSC to @data (KVM_SET_MSRS, or 0 at creation).
 * The offset is worked out under vm->tsc_lock, written by the backend
 * (which may have to load the VMCS) without it, and recorded only once
 * it took.  Two vCPUs' writes at the same moment may record in either
 * order; each vCPU keeps the offset worked out for it.
 */
int kvisor_tsc_sync(struct kvisor_vcpu *vcpu, u64 data)
{
	struct kvisor_vm *vm = vcpu->vm;
	u64 offset, ns, elapsed, expected, hz = (u64)tsc_khz * 1000;
	bool matched = false;
	int r;

	spin_lock(&vm->tsc_lock);
	ns = ktime_get_boottime_ns();
	offset = data - rdtsc();
	/* the TSC cycles since the VM's last write */
	elapsed = mul_u64_u32_div(ns - vm->tsc_last_ns, tsc_khz, NSEC_PER_MSEC);
	if (vm->tsc_written && tsc_khz) {
		expected = vm->tsc_last_write + elapsed;
		matched = !data ||
			  (data < expected + hz && data + hz > expected);
	}
	if (matched && !check_tsc_unstable()) {
		offset = vm->tsc_offset;
	} else if (matched) {
		/* The host's TSCs disagree: keep time, not the offset. */
		data += elapsed;
		offset = data - rdtsc();
	}
	spin_unlock(&vm->tsc_lock);
	r = kvisor_tsc_set_offset(vcpu, offset);
	if (r)
		return r;
	spin_lock(&vm->tsc_lock);
	kvisor_tsc_record(vm, offset, data, ns, matched);
	spin_unlock(&vm->tsc_lock);
	return 0;
}

/*
 * KVM_SET_DEVICE_ATTR's KVM_VCPU_TSC_OFFSET: the offset itself, which
 * joins the shared one if it is the VM's last (KVM's rule); IA32_TSC_ADJUST
 * stays as it was.
 */
int kvisor_tsc_set_attr_offset(struct kvisor_vcpu *vcpu, u64 offset)
{
	struct kvisor_vm *vm = vcpu->vm;
	int r = kvisor_tsc_set_offset(vcpu, offset);

	if (r)
		return r;
	spin_lock(&vm->tsc_lock);
	kvisor_tsc_record(vm, offset, rdtsc() + offset, ktime_get_boottime_ns(),
			  vm->tsc_written && offset == vm->tsc_last_offset);
	spin_unlock(&vm->tsc_lock);
	return 0;
}

/* TSC_ADJUST exists for the guest only if its CPUID says so, as in KVM. */
static bool kvisor_guest_has_tsc_adjust(struct kvisor_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = kvisor_vcpu_cpuid_find(vcpu, 7, 0,
								  false);

	return e && (e->ebx & BIT(X86_FEATURE_TSC_ADJUST & 31));
}

/*
 * The guest's TSC and IA32_TSC_ADJUST move together, as on hardware: a
 * guest write to either changes both by the same amount.  Userspace's
 * writes (@host) set one without the other, so that restoring a saved
 * pair gives back the pair; its TSC writes go through kvisor_tsc_sync().
 */
int kvisor_set_tsc_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	u64 delta;
	int r;

	if (msr == MSR_IA32_TSC_ADJUST && host) {
		vcpu->tsc_adjust = val;
		return 0;
	}
	if (msr == MSR_IA32_TSC_ADJUST && !kvisor_guest_has_tsc_adjust(vcpu))
		return -EINVAL;
	if (msr == MSR_IA32_TSC && host)
		return kvisor_tsc_sync(vcpu, val);
	/* One reading of the TSC: both MSRs move by the same @delta. */
	if (msr == MSR_IA32_TSC)
		delta = val - kvisor_guest_tsc(vcpu);
	else
		delta = val - vcpu->tsc_adjust;
	r = kvisor_tsc_set_offset(vcpu, vcpu->tsc_offset + delta);
	if (!r)
		vcpu->tsc_adjust += delta;
	return r;
}
