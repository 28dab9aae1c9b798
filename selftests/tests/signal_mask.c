// SPDX-License-Identifier: GPL-2.0
/*
 * signal_mask: KVM_SET_SIGNAL_MASK.  A thread that blocks SIGUSR1 for
 * itself can still have KVM_RUN interrupted by it, when the vCPU's mask
 * (in force only while KVM_RUN runs) lets it through: KVM_RUN fails with
 * EINTR and KVM_EXIT_INTR, and the thread's own mask is back afterwards.
 * With the vCPU's mask blocking it too, the signal waits.  A mask of the
 * wrong size is EINVAL; NULL removes the mask.  The stats fd's
 * signal_exits counts the one KVM_RUN the signal ended.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_util.h"

static void guest_code(void)
{
	for (;;)
		asm volatile("outb %%al, $0x80" : : "a"(0));
}

static void on_usr1(int sig)
{
	(void)sig;
}

static int set_mask(struct kvm_vcpu *vcpu, const sigset_t *set, uint32_t len)
{
	struct {
		struct kvm_signal_mask hdr;
		uint8_t bytes[8];
	} m = { .hdr.len = len };

	if (!set)
		return ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, NULL);
	memcpy(m.bytes, set, 8);	/* the kernel's sigset_t: 64 bits */
	return ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, &m);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct kvm_vcpu *vcpu;
	sigset_t usr1, none, now;
	struct kvm_vm *vm;
	int r, i, fd;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD: %s", strerror(errno));
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&none);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);

	TEST_ASSERT(set_mask(vcpu, &none, 7) == -1 && errno == EINVAL,
		    "a 7-byte mask is not EINVAL");
	/* The thread blocks SIGUSR1; the vCPU's mask lets it in. */
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	TEST_ASSERT(!set_mask(vcpu, &none, 8), "KVM_SET_SIGNAL_MASK: %s",
		    strerror(errno));
	kill(getpid(), SIGUSR1);	/* pending, blocked for the thread */
	r = __vcpu_run(vcpu);
	TEST_ASSERT(r == -1 && errno == EINTR,
		    "KVM_RUN with a signal the vCPU mask lets in: %d (%s)", r,
		    strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_INTR);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	TEST_ASSERT(sigismember(&now, SIGUSR1), "the thread's mask is lost");
	TEST_ASSERT(stats_fd_value(fd, "signal_exits") == 1,
		    "signal_exits %lu after one", stats_fd_value(fd, "signal_exits"));
	ksft_print_msg("vCPU mask lets a blocked signal end KVM_RUN: ok\n");

	/* Both block it: KVM_RUN goes on (through a few port exits). */
	TEST_ASSERT(!set_mask(vcpu, &usr1, 8), "KVM_SET_SIGNAL_MASK");
	kill(getpid(), SIGUSR1);
	for (i = 0; i < 3; i++) {
		r = __vcpu_run(vcpu);
		TEST_ASSERT(!r, "KVM_RUN with the signal blocked: %s",
			    strerror(errno));
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	}
	ksft_print_msg("with the vCPU mask blocking it too, it waits: ok\n");
	TEST_ASSERT(stats_fd_value(fd, "signal_exits") == 1,
		    "signal_exits %lu, but no other signal exit",
		    stats_fd_value(fd, "signal_exits"));
	close(fd);
	TEST_ASSERT(!set_mask(vcpu, NULL, 0), "KVM_SET_SIGNAL_MASK(NULL)");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
