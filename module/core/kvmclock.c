// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock: the paravirtual clock KVM gives its guests, and the VM's clock
 * that KVM_GET_CLOCK and KVM_SET_CLOCK read and move.
 *
 * The VM's clock counts nanoseconds: the host's boot-time clock plus an
 * offset, which starts the clock at 0 with the VM and which KVM_SET_CLOCK
 * moves.  A guest that writes a guest-physical address to
 * MSR_KVM_SYSTEM_TIME(_NEW) gets there a struct pvclock_vcpu_time_info:
 * the clock's value at a TSC reading, and how to scale TSC ticks to
 * nanoseconds, from which it computes the time itself with RDTSC, without
 * exits.  kvisor rewrites the structure before the vCPU next runs whenever
 * it is enabled or the clock was set, and at every KVM_RUN, so that what
 * the guest extrapolates never strays from the host's clock.
 */
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

#include "core/kvisor.h"

/*
 * How a TSC delta becomes nanoseconds in the guest's pvclock code:
 * ns = ((delta << shift) * mul) >> 32, shift possibly negative.  Find the
 * shift that keeps the rate (tsc_hz) within 32 bits and above the target
 * rate (1e9), then the 32.32 fixed-point ratio between the two.
 */
static void kvisor_time_scale(u64 tsc_hz, s8 *shift, u32 *mul)
{
	u64 ns = NSEC_PER_SEC, hz = tsc_hz;
	int s = 0;

	/* No rate to scale (a TSC the host could not calibrate): no loop. */
	if (!hz) {
		*shift = 0;
		*mul = 0;
		return;
	}
	while (hz > ns * 2 || hz >> 32) {
		hz >>= 1;
		s--;
	}
	while (hz <= ns || ns >> 32) {
		if (ns >> 32 || hz & BIT(31))
			ns >>= 1;
		else
			hz <<= 1;
		s++;
	}
	*shift = s;
	*mul = div64_u64(ns << 32, hz);
}

/* The VM's clock now, with the host TSC and real time read alongside. */
static u64 kvisor_clock_now(struct kvisor_vm *vm, u64 *tsc, u64 *real)
{
	unsigned long flags;
	u64 boot;

	local_irq_save(flags);
	if (tsc)
		*tsc = rdtsc();
	boot = ktime_get_boottime_ns();
	if (real)
		*real = ktime_get_real_ns();
	local_irq_restore(flags);
	return boot + READ_ONCE(vm->kvmclock_offset);
}

void kvisor_kvmclock_vm_init(struct kvisor_vm *vm)
{
	vm->kvmclock_offset = -ktime_get_boottime_ns();
}

static int kvisor_get_clock(struct kvisor_vm *vm, void __user *argp)
{
	struct kvm_clock_data data = {
		.flags = KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC,
	};

	data.clock = kvisor_clock_now(vm, &data.host_tsc, &data.realtime);
	return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
}

/*
 * With KVM_CLOCK_REALTIME, the clock also counts the real time that passed
 * since userspace read it (a migration's downtime), never going back.
 */
static int kvisor_set_clock(struct kvisor_vm *vm, void __user *argp)
{
	struct kvm_clock_data data;
	u64 real, boot;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
			   KVM_CLOCK_HOST_TSC))
		return -EINVAL;
	boot = kvisor_clock_now(vm, NULL, &real) - READ_ONCE(vm->kvmclock_offset);
	if ((data.flags & KVM_CLOCK_REALTIME) && real > data.realtime)
		data.clock += real - data.realtime;
	WRITE_ONCE(vm->kvmclock_offset, data.clock - boot);
	/* Every vCPU's pvclock page is stale: kvisor_kvmclock_update(). */
	atomic_inc(&vm->kvmclock_gen);
	return 0;
}

long kvisor_kvmclock_vm_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			      void __user *argp)
{
	return ioctl == KVM_GET_CLOCK ? kvisor_get_clock(vm, argp) :
					kvisor_set_clock(vm, argp);
}

/* Write @vcpu's pvclock structure: the clock now, at the guest's TSC now. */
static void kvisor_kvmclock_write(struct kvisor_vcpu *vcpu)
{
	struct pvclock_vcpu_time_info pv = {};
	u64 gpa = vcpu->kvmclock_msr & ~1ULL, host_tsc;

	/*
	 * Without a known TSC rate there is nothing true to tell the guest;
	 * its clock waits, as KVM's does, rather than run at a wrong rate.
	 */
	if (!tsc_khz)
		return;
	pv.system_time = kvisor_clock_now(vcpu->vm, &host_tsc, NULL);
	/* The guest's TSC at the same instant as the host's */
	pv.tsc_timestamp = host_tsc + vcpu->tsc_offset;
	kvisor_time_scale((u64)tsc_khz * 1000, &pv.tsc_shift,
			  &pv.tsc_to_system_mul);
	/* An odd version tells a reader the structure is being written. */
	pv.version = vcpu->kvmclock_version + 1;
	kvisor_write_guest(vcpu->vm, gpa, &pv.version, sizeof(pv.version));
	kvisor_write_guest(vcpu->vm, gpa, &pv, sizeof(pv));
	vcpu->kvmclock_version += 2;
	pv.version = vcpu->kvmclock_version;
	kvisor_write_guest(vcpu->vm, gpa, &pv.version, sizeof(pv.version));
}

/* Before the vCPU runs: refresh an enabled pvclock page. */
void kvisor_kvmclock_update(struct kvisor_vcpu *vcpu)
{
	if (!(vcpu->kvmclock_msr & 1))
		return;
	vcpu->kvmclock_seen = atomic_read(&vcpu->vm->kvmclock_gen);
	kvisor_kvmclock_write(vcpu);
}

/*
 * The next entry rewrites the pvclock page, and nothing before it: KVM's
 * KVM_REQ_CLOCK_UPDATE.  Written any earlier (when userspace sets the MSR,
 * or at a KVM_RUN that returns before the guest runs), its tsc_timestamp
 * would be later than the guest TSC userspace has read or restored, which
 * QEMU's migration asserts against (kvmclock_current_nsec(), where
 * KVM_GET_CLOCK does not claim KVM_CLOCK_TSC_STABLE).
 */
void kvisor_kvmclock_request(struct kvisor_vcpu *vcpu)
{
	vcpu->kvmclock_seen = atomic_read(&vcpu->vm->kvmclock_gen) - 1;
}

/* Between two entries: the clock was set since this vCPU's last update. */
bool kvisor_kvmclock_stale(struct kvisor_vcpu *vcpu)
{
	return (vcpu->kvmclock_msr & 1) &&
	       vcpu->kvmclock_seen != atomic_read(&vcpu->vm->kvmclock_gen);
}

/* The wall-clock time at which the VM's clock read 0. */
static void kvisor_wall_clock_write(struct kvisor_vcpu *vcpu, u64 gpa)
{
	struct pvclock_wall_clock wc = {};
	u64 real, clock = kvisor_clock_now(vcpu->vm, NULL, &real);
	u32 rem;

	/* A clock set ahead of the real time started after the epoch. */
	wc.sec = div_u64_rem(real > clock ? real - clock : 0, NSEC_PER_SEC,
			     &rem);
	wc.nsec = rem;
	wc.version = 2;
	kvisor_write_guest(vcpu->vm, gpa, &wc, sizeof(wc));
}

/*
 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID: each pair of MSRs exists only where
 * the guest's CPUID offers its feature bit; KVM applies this to
 * KVM_GET/SET_MSRS too.  0 for an MSR not of kvmclock.
 */
static int kvisor_kvmclock_msr_offered(struct kvisor_vcpu *vcpu, u32 msr)
{
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK:
		return kvisor_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE) ? 0 : -EINVAL;
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_KVM_WALL_CLOCK_NEW:
		return kvisor_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE2) ? 0 : -EINVAL;
	default:
		return 0;
	}
}

/* The kvmclock MSRs, from the guest or userspace alike; -ENOENT: not one. */
int kvisor_kvmclock_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val)
{
	if (kvisor_kvmclock_msr_offered(vcpu, msr))
		return -EINVAL;
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*val = vcpu->kvmclock_msr;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		*val = vcpu->vm->wall_clock_msr;
		return 0;
	default:
		return -ENOENT;
	}
}

int kvisor_kvmclock_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	if (kvisor_kvmclock_msr_offered(vcpu, msr))
		return -EINVAL;
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		vcpu->kvmclock_msr = val;
		kvisor_kvmclock_request(vcpu);
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		vcpu->vm->wall_clock_msr = val;
		kvisor_wall_clock_write(vcpu, val);
		return 0;
	default:
		return -ENOENT;
	}
}
