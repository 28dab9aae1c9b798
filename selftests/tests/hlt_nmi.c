// SPDX-License-Identifier: GPL-2.0
/*
 * hlt_nmi: HLT with an in-kernel LAPIC, and NMIs.
 *
 * With an in-kernel irqchip, HLT never reaches userspace: the vCPU sleeps
 * in KVM_RUN until something wakes it.  Here an MSI from another thread
 * ends an "sti; hlt"; a signal interrupts a "cli; hlt" (KVM_RUN fails with
 * EINTR, the vCPU stays HALTED), and KVM_NMI then ends it, since an NMI
 * does not care about IF.  The NMI handler sends itself a second NMI
 * through its LAPIC, which must wait for the handler's IRET (the CPU does
 * not nest NMIs); two KVM_NMIs in a row are both delivered.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "apic.h"
#include "kvm_util.h"

#define MSI_VECTOR	0x40

static volatile int irqs, nmis, nmi_depth, nmi_max_depth, self_nmi;

static void irq_handler(struct ex_regs *regs)
{
	(void)regs;
	irqs++;
	xapic_write(APIC_EOI, 0);
}

static void nmi_handler(struct ex_regs *regs)
{
	int i;

	(void)regs;
	nmis++;
	if (++nmi_depth > nmi_max_depth)
		nmi_max_depth = nmi_depth;
	if (self_nmi) {
		self_nmi = 0;
		xapic_send_ipi(0, APIC_DM_NMI);
		for (i = 0; i < 10000; i++)
			cpu_relax();
	}
	nmi_depth--;
}

static void guest_code(void)
{
	int i;

	xapic_enable();
	GUEST_SYNC(0);			/* the host arms the MSI thread */
	asm volatile("sti; hlt; cli");
	GUEST_ASSERT_EQ(irqs, 1);

	GUEST_SYNC(1);			/* the host arms the signal */
	asm volatile("cli; hlt");	/* only an NMI ends this */
	GUEST_ASSERT_EQ(nmis, 1);

	self_nmi = 1;
	GUEST_SYNC(2);			/* KVM_NMI: a second one from inside */
	for (i = 0; i < 10000000 && nmis < 3; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(nmis, 3);
	GUEST_ASSERT_EQ(nmi_max_depth, 1);

	GUEST_SYNC(3);			/* two KVM_NMIs back to back */
	for (i = 0; i < 10000000 && nmis < 5; i++)
		cpu_relax();
	GUEST_ASSERT_EQ(nmis, 5);
	GUEST_ASSERT_EQ(nmi_max_depth, 1);
	GUEST_DONE();
}

static struct kvm_vm *vm;

static void *msi_thread(void *arg)
{
	(void)arg;
	struct kvm_msi msi = {
		.address_lo = XAPIC_BASE,	/* physical, APIC ID 0 */
		.data = MSI_VECTOR,		/* fixed, edge */
	};

	usleep(200 * 1000);
	TEST_ASSERT(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi) == 1,
		    "KVM_SIGNAL_MSI did not deliver");
	return NULL;
}

static void *signal_thread(void *arg)
{
	usleep(200 * 1000);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static uint32_t mp_state(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	pthread_t thread, self = pthread_self();
	struct kvm_vcpu *vcpu;
	struct ucall uc;
	int r;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP))
		ksft_exit_skip("no in-kernel irqchip (KVM_CAP_IRQCHIP)\n");
	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	apic_map(vm);
	vm_install_exception_handler(vm, MSI_VECTOR, irq_handler);
	vm_install_exception_handler(vm, 2, nmi_handler);
	sigaction(SIGUSR1, &sa, NULL);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	pthread_create(&thread, NULL, msi_thread, NULL);
	/* HLT sleeps in the kernel: the next exit is the ucall after it. */
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	pthread_join(thread, NULL);
	ksft_print_msg("sti; hlt woken by KVM_SIGNAL_MSI, no KVM_EXIT_HLT: ok\n");

	pthread_create(&thread, NULL, signal_thread, &self);
	r = __vcpu_run(vcpu);
	TEST_ASSERT(r == -1 && errno == EINTR,
		    "KVM_RUN in cli; hlt with a signal: %d (%s)", r,
		    strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_INTR);
	TEST_ASSERT_EQ(mp_state(vcpu), KVM_MP_STATE_HALTED);
	pthread_join(thread, NULL);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	ksft_print_msg("cli; hlt: signal gives EINTR and HALTED, KVM_NMI wakes it: ok\n");

	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 3);
	ksft_print_msg("self-NMI from an NMI handler waits for its IRET: ok\n");

	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_run_ucall(vcpu, UCALL_DONE, &uc);
	ksft_print_msg("two KVM_NMIs, two NMIs, never nested: ok\n");

	kvm_vm_free(vm);
	ksft_exit_pass();
}
