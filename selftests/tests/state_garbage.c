// SPDX-License-Identifier: GPL-2.0
/*
 * state_garbage: random bytes into every ioctl that loads state, then
 * KVM_RUN.  Whatever the hypervisor makes of them (refuse with an errno,
 * accept and enter, fail the entry, shut the guest down), the host must
 * not notice: no oops, no warning, no hang (the test host's runner fails a
 * test after which the kernel log shows any of these).  Each round uses a
 * fresh VM with an in-kernel irqchip and PIT; the seed is printed so a
 * failing round can be replayed.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define ROUNDS		25

static unsigned int seed;

static void fill(void *p, size_t n)
{
	unsigned char *b = p;

	while (n--)
		*b++ = rand_r(&seed);
}

/* Random bytes, but sometimes a valid-looking header field. */
static void garbage(void *p, size_t n)
{
	fill(p, n);
	if (rand_r(&seed) & 1)
		memset(p, 0, n < 16 ? n : 16);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void guest_code(void)
{
	for (;;)
		asm volatile("sti; nop; cli");
}

static void load_state(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	static union {
		struct kvm_irqchip chip;
		struct kvm_pit_state2 pit;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events ev;
		struct kvm_debugregs dr;
		struct kvm_sregs sregs;
		struct kvm_regs regs;
		struct kvm_xsave xsave;
		struct kvm_xcrs xcrs;
		struct kvm_mp_state mp;
		struct kvm_guest_debug dbg;
		struct kvm_clock_data clock;
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e[16];
		} msrs;
	} u;
	int i;

	for (i = 0; i < 3; i++) {
		garbage(&u.chip, sizeof(u.chip));
		u.chip.chip_id = i;
		ioctl(vm->fd, KVM_SET_IRQCHIP, &u.chip);
	}
	garbage(&u.pit, sizeof(u.pit));
	ioctl(vm->fd, KVM_SET_PIT2, &u.pit);
	garbage(&u.clock, sizeof(u.clock));
	ioctl(vm->fd, KVM_SET_CLOCK, &u.clock);
	garbage(&u.lapic, sizeof(u.lapic));
	ioctl(vcpu->fd, KVM_SET_LAPIC, &u.lapic);
	garbage(&u.ev, sizeof(u.ev));
	ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &u.ev);
	garbage(&u.dr, sizeof(u.dr));
	ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &u.dr);
	if (rand_r(&seed) & 1) {
		garbage(&u.sregs, sizeof(u.sregs));
		ioctl(vcpu->fd, KVM_SET_SREGS, &u.sregs);
	}
	if (rand_r(&seed) & 1) {
		garbage(&u.regs, sizeof(u.regs));
		ioctl(vcpu->fd, KVM_SET_REGS, &u.regs);
	}
	garbage(&u.xsave, sizeof(u.xsave));
	ioctl(vcpu->fd, KVM_SET_XSAVE, &u.xsave);
	garbage(&u.xcrs, sizeof(u.xcrs));
	ioctl(vcpu->fd, KVM_SET_XCRS, &u.xcrs);
	garbage(&u.mp, sizeof(u.mp));
	u.mp.mp_state %= 8;
	ioctl(vcpu->fd, KVM_SET_MP_STATE, &u.mp);
	garbage(&u.dbg, sizeof(u.dbg));
	ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &u.dbg);
	fill(&u.msrs, sizeof(u.msrs));
	u.msrs.hdr.nmsrs = 16;
	for (i = 0; i < 16; i++)	/* MSRs that exist, with random values */
		u.msrs.e[i].index = (uint32_t[]){ 0x10, 0x1b, 0x3b, 0x6e0,
			0x277, 0xc0000080, 0xc0000100, 0x4b564d01, 0x4b564d00,
			0x8b, 0x174, 0x802, 0x808, 0x80b, 0x830, 0x838 }[i];
	ioctl(vcpu->fd, KVM_SET_MSRS, &u.msrs);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_pit_config pit = { .flags = 1 };
	struct itimerval it = { .it_value.tv_usec = 20000 };
	int round, runs = 0;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP) || !kvm_check_cap(KVM_CAP_PIT2))
		ksft_exit_skip("no in-kernel irqchip or PIT\n");
	seed = argc > 1 ? strtoul(argv[1], NULL, 0) : (unsigned int)time(NULL);
	ksft_print_msg("seed %u\n", seed);
	sigaction(SIGALRM, &sa, NULL);

	for (round = 0; round < ROUNDS; round++) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm;
		int i;

		vm = vm_create(VM_MODE_LONG_4K);
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
		vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
		vcpu = vm_vcpu_add(vm, 0, guest_code);
		load_state(vm, vcpu);
		/* A few runs: each ends in some exit or the 20 ms alarm. */
		for (i = 0; i < 3; i++) {
			setitimer(ITIMER_REAL, &it, NULL);
			ioctl(vcpu->fd, KVM_RUN, NULL);
			/*
			 * Disarmed once KVM_RUN is back: an alarm left to fire
			 * in the next round's KVM_CREATE_VM fails it with EINTR
			 * (registering the MMU notifier stops for a pending
			 * signal, under KVM as under kvisor).
			 */
			setitimer(ITIMER_REAL, &(struct itimerval){ 0 }, NULL);
			runs++;
		}
		kvm_vm_free(vm);
	}
	ksft_print_msg("%d rounds, %d KVM_RUNs on random state: host intact\n",
		       ROUNDS, runs);
	ksft_exit_pass();
}
