// SPDX-License-Identifier: GPL-2.0
/*
 * tsc_sync: the vCPUs' TSCs stay in step when userspace sets them one
 * vCPU at a time, as KVM keeps them (its kvm_synchronize_tsc()): what a
 * guest sees, read with RDTSC on one vCPU after the other, never goes
 * back, and the vCPUs share one TSC offset (KVM_VCPU_TSC_OFFSET).
 *  1. Two vCPUs; userspace writes TSC 0 to the first, 50 ms later to the
 *     second (QEMU does at every reset): both are taken as "in step".
 *  2. A vCPU added 50 ms later (a hot-plugged CPU), and written 0 as
 *     QEMU writes it: it joins the others.
 *  3. A migration's restore: TSC X to one vCPU, X again 20 ms later to
 *     the others (within a second of where the first is by then): in
 *     step at X; a write minutes away from there is a new TSC, on its
 *     own.
 *  4. The guest's own WRMSR of its TSC moves its vCPU alone.
 * On in-tree KVM as on kvisor.
 */
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_util.h"

#define MSR_IA32_TSC	0x10
#define NR		3
#define FAR		(1ULL << 44)	/* a TSC the VM never had */

static inline uint64_t read_tsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Each vCPU reports its TSC, again and again. */
static void guest_code(void)
{
	for (;;)
		GUEST_SYNC(read_tsc());
}

/* Where vCPU 1 goes for step 4: its WRMSR of @val, then its TSC. */
static void guest_write_tsc(uint64_t val)
{
	wrmsr(MSR_IA32_TSC, val);
	GUEST_SYNC(read_tsc());
	GUEST_DONE();
}

static uint64_t guest_tsc(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	return uc.args[0];
}

static uint64_t offset(struct kvm_vcpu *vcpu)
{
	struct kvm_device_attr da = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
	};
	uint64_t off;

	da.addr = (uint64_t)(unsigned long)&off;
	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR, &da),
		    "KVM_GET_DEVICE_ATTR: %s", strerror(errno));
	return off;
}

/*
 * The guest's TSC read on each of the first @n vCPUs in turn, twice
 * round, never goes back, and they share one offset.
 */
static void expect_in_step(struct kvm_vcpu **vcpu, int n, const char *what)
{
	uint64_t last = 0, t;
	int i, round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++) {
			t = guest_tsc(vcpu[i]);
			TEST_ASSERT(t >= last,
				    "%s: vCPU %d's TSC %#lx is behind %#lx, read before it",
				    what, i, t, last);
			last = t;
		}
	}
	for (i = 1; i < n; i++)
		TEST_ASSERT(offset(vcpu[i]) == offset(vcpu[0]),
			    "%s: vCPU %d's offset %#lx, vCPU 0's %#lx", what,
			    i, offset(vcpu[i]), offset(vcpu[0]));
	ksft_print_msg("%s: %d vCPUs in step, offset %#lx\n", what, n,
		       offset(vcpu[0]));
}

int main(void)
{
	struct kvm_vcpu *vcpu[NR];
	struct kvm_regs regs;
	struct kvm_vm *vm;
	uint64_t t, x;
	int i;

	if (!kvm_check_cap(KVM_CAP_VCPU_ATTRIBUTES))
		ksft_exit_skip("no vCPU attributes (KVM_VCPU_TSC_OFFSET)\n");
	vm = vm_create_with_one_vcpu(&vcpu[0], guest_code, VM_MODE_LONG_4K);
	vcpu[1] = vm_vcpu_add(vm, 1, guest_code);

	/* 1. a reset's writes of 0, one vCPU after the other */
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu[0], MSR_IA32_TSC, 0), 1);
	usleep(50000);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu[1], MSR_IA32_TSC, 0), 1);
	expect_in_step(vcpu, 2, "reset");

	/* 2. a hot-plugged vCPU */
	usleep(50000);
	vcpu[2] = vm_vcpu_add(vm, 2, guest_code);
	expect_in_step(vcpu, 3, "vCPU added");
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu[2], MSR_IA32_TSC, 0), 1);
	expect_in_step(vcpu, 3, "vCPU added, then written 0");

	/* 3. a restore: X everywhere, 20 ms apart; then one 10 s away */
	x = FAR;
	for (i = 0; i < NR; i++) {
		TEST_ASSERT_EQ(vcpu_set_msr(vcpu[i], MSR_IA32_TSC, x), 1);
		usleep(20000);
	}
	expect_in_step(vcpu, NR, "restored");
	t = guest_tsc(vcpu[0]);
	TEST_ASSERT(t >= x && t < x + (1ULL << 40),
		    "restored at %#lx, the guest reads %#lx", x, t);
	/* 2^42 cycles: over 10 minutes at 5 GHz */
	t = vcpu_get_msr(vcpu[2], MSR_IA32_TSC);
	x = t + (1ULL << 42);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu[2], MSR_IA32_TSC, x), 1);
	TEST_ASSERT(offset(vcpu[2]) != offset(vcpu[0]),
		    "a TSC %#lx ahead was matched to the others'", x - t);
	t = guest_tsc(vcpu[2]);
	TEST_ASSERT(t >= x, "written %#lx, the guest reads %#lx", x, t);
	ksft_print_msg("a write 2^42 cycles ahead: that vCPU alone\n");

	/* 4. the guest's own write, on vCPU 1 */
	t = offset(vcpu[0]);
	vcpu_regs_get(vcpu[1], &regs);
	regs.rip = (uint64_t)guest_write_tsc;
	regs.rdi = 5000;
	/* below where it stopped, aligned as after a CALL */
	regs.rsp = ((regs.rsp - 256) & ~15ULL) - 8;
	vcpu_regs_set(vcpu[1], &regs);
	x = guest_tsc(vcpu[1]);
	TEST_ASSERT(x >= 5000 && x < FAR, "the guest wrote 5000, reads %#lx", x);
	TEST_ASSERT_EQ(offset(vcpu[0]), t);
	ksft_print_msg("the guest's WRMSR: its vCPU alone (reads %lu)\n", x);
	vcpu_run_ucall(vcpu[1], UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
