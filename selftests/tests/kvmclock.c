// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock: the VM's clock (KVM_GET_CLOCK, KVM_SET_CLOCK) and the
 * paravirtual clock a guest reads from memory with RDTSC.
 *
 * The guest enables its pvclock structure with MSR_KVM_SYSTEM_TIME_NEW
 * and computes the time from it as Linux does; each value it reports must
 * lie between the VM clock read by the host just before KVM_RUN and just
 * after, also after KVM_SET_CLOCK moved the clock to 1000 s, and with
 * KVM_CLOCK_REALTIME (a realtime in the past adds the time since).  The
 * wall-clock MSR gives the epoch the clock counts from.  Unknown
 * KVM_SET_CLOCK flags are EINVAL.  The guest's own WRMSR of its TSC,
 * 2^36 cycles back, must not take the clock back with it: the pvclock
 * structure pairs a TSC value with a time, and is rewritten for the new
 * TSC before the guest runs again (KVM's KVM_REQ_CLOCK_UPDATE there).
 *
 * The pvclock page is written when the vCPU next enters the guest, as
 * KVM's KVM_REQ_CLOCK_UPDATE, not when userspace sets the MSR nor at a
 * KVM_RUN that returns at once: a VMM restoring a VM (QEMU's incoming
 * migration) reads the structure and asserts that its tsc_timestamp is
 * not later than the guest TSC it restored.  After the entry, the
 * tsc_timestamp is not later than the TSC KVM_GET_MSRS reads.
 *
 * Host-safety finding 6: a TSC rate of 0 once made enabling kvmclock
 * loop forever in the kernel.  Userspace's only way towards it is
 * KVM_SET_TSC_KHZ 0 (KVM takes it for "the host's rate"; a hypervisor
 * without TSC scaling may refuse it): whatever the answer, the rate
 * KVM_GET_TSC_KHZ reports is not 0, and the guest enables its clock
 * afterwards and reads it (a hang fails the test by its time limit).
 */
#include <sys/ioctl.h>
#include <time.h>

#include "kvm_util.h"

#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01
#define MSR_IA32_TSC		0x10
#define NSEC			1000000000ULL

struct pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
};

static struct pvclock pvti __attribute__((aligned(64)));
static struct wall_clock wc;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The guest's side of the ABI, as Linux's pvclock_clocksource_read(). */
static uint64_t pvclock_read(void)
{
	uint32_t version;
	uint64_t delta, ns;

	do {
		version = __atomic_load_n(&pvti.version, __ATOMIC_ACQUIRE);
		delta = rdtsc() - pvti.tsc_timestamp;
		if (pvti.tsc_shift < 0)
			delta >>= -pvti.tsc_shift;
		else
			delta <<= pvti.tsc_shift;
		ns = pvti.system_time +
		     (uint64_t)(((unsigned __int128)delta *
				 pvti.tsc_to_system_mul) >> 32);
	} while ((version & 1) ||
		 version != __atomic_load_n(&pvti.version, __ATOMIC_ACQUIRE));
	return ns;
}

static void guest_code(void)
{
	int i;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)&pvti | 1);
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)&wc);
	GUEST_ASSERT(pvti.version && !(pvti.version & 1));
	GUEST_ASSERT(wc.sec > 1600000000);	/* after 2020 */
	for (i = 0; i < 4; i++)
		GUEST_SYNC(pvclock_read());
	wrmsr(MSR_IA32_TSC, rdtsc() - (1ULL << 36));
	GUEST_SYNC(pvclock_read());
	GUEST_DONE();
}

static uint64_t get_clock(struct kvm_vm *vm)
{
	struct kvm_clock_data d;

	vm_ioctl(vm, KVM_GET_CLOCK, &d);
	/* KVM gives realtime and host TSC only with its master clock. */
	TEST_ASSERT(!(d.flags & KVM_CLOCK_REALTIME) ||
		    d.realtime > 1600000000ULL * NSEC, "realtime %llu",
		    d.realtime);
	return d.clock;
}

/* One guest reading, between two host ones. */
static uint64_t check_round(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	uint64_t lo, hi;
	struct ucall uc;

	lo = get_clock(vm);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	hi = get_clock(vm);
	TEST_ASSERT(lo <= uc.args[0] && uc.args[0] <= hi,
		    "guest kvmclock %lu outside [%lu, %lu]", uc.args[0], lo, hi);
	return uc.args[0];
}

static void msr_io(struct kvm_vcpu *vcpu, unsigned long nr, uint32_t index,
		   uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = index, .e.data = *val };

	TEST_ASSERT_EQ(ioctl(vcpu->fd, nr, &b), 1);
	*val = b.e.data;
}

/* The QEMU restore sequence: MSR from userspace, then KVM_RUN. */
static void check_deferred_write(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct pvclock *p = addr_gva2hva(vm, (uint64_t)&pvti);
	uint64_t msr = (uint64_t)&pvti | 1, tsc = 0;
	struct ucall uc;

	memset(p, 0, sizeof(*p));
	msr_io(vcpu, KVM_SET_MSRS, MSR_KVM_SYSTEM_TIME_NEW, &msr);
	TEST_ASSERT(!p->version, "pvclock written by KVM_SET_MSRS");
	vcpu->run->immediate_exit = 1;
	TEST_ASSERT(ioctl(vcpu->fd, KVM_RUN, NULL) == -1 && errno == EINTR,
		    "KVM_RUN with immediate_exit");
	vcpu->run->immediate_exit = 0;
	TEST_ASSERT(!p->version, "pvclock written by a KVM_RUN that did not enter");
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	msr_io(vcpu, KVM_GET_MSRS, 0x10, &tsc);	/* IA32_TSC */
	TEST_ASSERT(p->version && !(p->version & 1) && p->tsc_timestamp <= tsc,
		    "pvclock version %u, tsc_timestamp %lu, guest TSC after %lu",
		    p->version, (unsigned long)p->tsc_timestamp,
		    (unsigned long)tsc);
	ksft_print_msg("pvclock written at the entry, not by KVM_SET_MSRS or an immediate exit; tsc_timestamp %lu <= TSC %lu: ok\n",
		       (unsigned long)p->tsc_timestamp, (unsigned long)tsc);
}

int main(void)
{
	struct kvm_clock_data d = { 0 };
	struct kvm_vcpu *vcpu;
	struct timespec ts;
	struct kvm_vm *vm;
	int r, khz;
	uint64_t t;

	if (!(kvm_check_cap(KVM_CAP_ADJUST_CLOCK) & KVM_CLOCK_REALTIME))
		ksft_exit_skip("KVM_CAP_ADJUST_CLOCK without KVM_CLOCK_REALTIME\n");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	r = ioctl(vcpu->fd, KVM_SET_TSC_KHZ, 0UL);
	TEST_ASSERT(!r || errno == EINVAL, "KVM_SET_TSC_KHZ 0: %s",
		    strerror(errno));
	khz = vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ after KVM_SET_TSC_KHZ 0: %d", khz);
	ksft_print_msg("KVM_SET_TSC_KHZ 0: %s; TSC at %d kHz\n",
		       r ? "EINVAL" : "accepted", khz);
	t = get_clock(vm);
	TEST_ASSERT(t < 60 * NSEC, "a new VM's clock reads %lu ns", t);

	t = check_round(vm, vcpu);
	ksft_print_msg("pvclock %lu ns, within the host's readings: ok\n", t);

	d.clock = 1000 * NSEC;
	vm_ioctl(vm, KVM_SET_CLOCK, &d);
	t = check_round(vm, vcpu);
	TEST_ASSERT(t >= 1000 * NSEC, "after KVM_SET_CLOCK: %lu", t);
	ksft_print_msg("KVM_SET_CLOCK 1000 s: guest reads %lu: ok\n", t);

	clock_gettime(CLOCK_REALTIME, &ts);
	d.clock = 2000 * NSEC;
	d.flags = KVM_CLOCK_REALTIME;
	d.realtime = ts.tv_sec * NSEC + ts.tv_nsec - 100 * NSEC;
	vm_ioctl(vm, KVM_SET_CLOCK, &d);
	t = check_round(vm, vcpu);
	TEST_ASSERT(t >= 2100 * NSEC, "KVM_CLOCK_REALTIME 100 s ago: %lu", t);
	ksft_print_msg("KVM_CLOCK_REALTIME adds the 100 s since: ok\n");

	d.flags = 1 << 7;
	TEST_ASSERT(ioctl(vm->fd, KVM_SET_CLOCK, &d) == -1 && errno == EINVAL,
		    "KVM_SET_CLOCK with an unknown flag");

	check_deferred_write(vm, vcpu);
	t = check_round(vm, vcpu);
	ksft_print_msg("the guest's TSC 2^36 cycles back: its clock reads %lu, within the host's readings: ok\n",
		       t);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
