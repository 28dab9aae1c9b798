// SPDX-License-Identifier: GPL-2.0
/*
 * userspace_irq: an interrupt controller in userspace, as QEMU's
 * kernel_irqchip=off uses it.  With request_interrupt_window set, KVM_RUN
 * stops with KVM_EXIT_IRQ_WINDOW_OPEN as soon as the guest can take an
 * interrupt (RFLAGS.IF set, past an STI's shadow), not before; kvm_run's
 * if_flag and ready_for_interrupt_injection say where the guest stands;
 * KVM_INTERRUPT then delivers the vector through the guest's IDT.  The
 * stats fd counts both windows (request_irq_exits) and both interrupts
 * (irq_injections).
 */
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_util.h"

#define VEC1	0x30
#define VEC2	0x31

static volatile int hits, last_vector;

static void irq_handler(struct ex_regs *regs)
{
	hits++;
	last_vector = regs->vector;
}

static void guest_code(void)
{
	GUEST_SYNC(0);
	asm volatile("outb %%al, $0x80" : : "a"(0));	/* IF=0: window shut */
	asm volatile("sti; nop; nop; cli");	/* opens after STI: VEC1 */
	GUEST_ASSERT_EQ(hits, 1);
	GUEST_ASSERT_EQ(last_vector, VEC1);

	GUEST_SYNC(1);
	asm volatile("outb %%al, $0x81" : : "a"(0));
	asm volatile("sti; nop; nop; cli");	/* and VEC2 */
	GUEST_ASSERT_EQ(hits, 2);
	GUEST_ASSERT_EQ(last_vector, VEC2);
	GUEST_DONE();
}

static void interrupt(struct kvm_vcpu *vcpu, uint32_t vector, int err)
{
	struct kvm_interrupt irq = { .irq = vector };
	int r = ioctl(vcpu->fd, KVM_INTERRUPT, &irq);

	TEST_ASSERT(err ? r == -1 && errno == err : r == 0,
		    "KVM_INTERRUPT %#x: %d (errno %d), expected %s", vector, r,
		    errno, err ? strerror(err) : "success");
}

/* Run to the port, then to the open window, and inject @vector there. */
static void window_round(struct kvm_vcpu *vcpu, uint16_t port, uint32_t vector)
{
	struct kvm_run *run = vcpu->run;

	TEST_ASSERT(!run->if_flag && !run->ready_for_interrupt_injection,
		    "at a ucall with IF=0: if_flag %u, ready %u",
		    run->if_flag, run->ready_for_interrupt_injection);
	run->request_interrupt_window = 1;
	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(run->io.port, port);
	TEST_ASSERT(!run->if_flag && !run->ready_for_interrupt_injection,
		    "port %#x with IF=0: if_flag %u, ready %u", port,
		    run->if_flag, run->ready_for_interrupt_injection);

	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
	TEST_ASSERT(run->if_flag && run->ready_for_interrupt_injection,
		    "window open: if_flag %u, ready %u", run->if_flag,
		    run->ready_for_interrupt_injection);
	run->request_interrupt_window = 0;
	interrupt(vcpu, vector, 0);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int fd;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD: %s", strerror(errno));
	vm_install_exception_handler(vm, VEC1, irq_handler);
	vm_install_exception_handler(vm, VEC2, irq_handler);
	interrupt(vcpu, 256, EINVAL);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 0);
	window_round(vcpu, 0x80, VEC1);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	window_round(vcpu, 0x81, VEC2);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("KVM_EXIT_IRQ_WINDOW_OPEN only once IF=1 past STI; KVM_INTERRUPT delivered twice: ok\n");
	/*
	 * In-tree KVM (KVHOST_HYPERVISOR=intree) counts an injection again
	 * when it re-injects: 4 in the SVM host.  kvisor counts each once.
	 */
	TEST_ASSERT(stats_fd_value(fd, "request_irq_exits") == 2 &&
		    (access("/sys/module/kvisor", F_OK) ?
		     stats_fd_value(fd, "irq_injections") >= 2 :
		     stats_fd_value(fd, "irq_injections") == 2),
		    "request_irq_exits %lu, irq_injections %lu; expected 2, 2",
		    stats_fd_value(fd, "request_irq_exits"),
		    stats_fd_value(fd, "irq_injections"));
	ksft_print_msg("stats: request_irq_exits 2, irq_injections 2: ok\n");
	close(fd);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
