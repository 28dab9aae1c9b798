// SPDX-License-Identifier: GPL-2.0
/*
 * pv_ipi_kick: KVM's PV IPI and PV unhalt hypercalls, which Linux guests
 * use for their IPIs (kvm_send_ipi_mask()) and to wake a vCPU that halted
 * waiting for a PV spinlock (kvm_kick_cpu()), with the in-kernel LAPIC.
 * vCPU 0 sends, vCPU 1 receives, each on its own host thread.
 *
 * KVM_HC_SEND_IPI (a0/a1 bitmaps of APIC IDs from a2, 64 IDs each in
 * 64-bit mode; a3 the ICR's vector, delivery mode and level) returns how
 * many LAPICs took the interrupt, as KVM's kvm_pv_send_ipi():
 *  - bit 1 of a0 from ID 0, and bit 0 from ID 1, reach vCPU 1: 1 each;
 *  - IDs 0 and 1 at once reach both, the sender too: 2;
 *  - a high bitmap's base wraps at 32 bits as KVM's does: from ID
 *    0xffffffc1 the high bitmap's bit 0 is ID 1;
 *  - IDs with no vCPU: 0; a logical destination or a shorthand in a3:
 *    -KVM_EINVAL, nothing sent;
 *  - delivery mode NMI (what Linux sends for NMI IPIs) reaches vCPU 1's
 *    NMI handler.
 * KVM_HC_KICK_CPU (a1 the APIC ID) returns 0 and wakes the target from a
 * HLT with interrupts off, which nothing else would end.  A kick that
 * comes before the HLT is kept: the next HLT returns at once.  The
 * supported CPUID offers both (PV_UNHALT, PV_SEND_IPI; the cpuid test),
 * and pv_hypercall checks both answer -KVM_ENOSYS where enforced CPUID
 * hides them.
 */
#include <errno.h>
#include <pthread.h>
#include <linux/kvm_para.h>

#include "apic.h"
#include "kvm_util.h"

#define IPI_VEC		0xe1
#define NMI_VECTOR	2
#define ICR_LOGICAL	(1U << 11)
#define ICR_SELF	(1U << 18)
#define TIMEOUT_TSC	20000000000ULL
#define KVM_EINVAL_	22		/* KVM_EINVAL in <linux/kvm_para.h> */

/* Shared between the two vCPUs. */
static volatile uint32_t ipis[2], nmis, step, woke, ready;
/* Set by the host. */
static bool amd;

static uint64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1,
			  uint64_t a2, uint64_t a3)
{
	uint64_t ret;

	if (amd)
		asm volatile("vmmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			     : "memory");
	else
		asm volatile("vmcall" : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			     : "memory");
	return ret;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

static uint32_t my_id(void)
{
	return xapic_read(APIC_ID) >> 24;
}

static void ipi_handler(struct ex_regs *regs)
{
	(void)regs;
	ipis[my_id()]++;
	xapic_write(APIC_EOI, 0);
}

static void nmi_handler(struct ex_regs *regs)
{
	(void)regs;
	nmis++;
}

static void wait_until(volatile uint32_t *p, uint32_t want)
{
	uint64_t start = rdtsc();

	while (*p != want)
		GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
}

static uint64_t send_ipi(uint64_t lo, uint64_t hi, uint64_t min,
			 uint64_t icr)
{
	return hypercall(KVM_HC_SEND_IPI, lo, hi, min, icr);
}

/* vCPU 0 */
static void sender(void)
{
	asm volatile("sti");
	/* a LAPIC not yet software-enabled takes no fixed interrupt */
	wait_until(&ready, 1);
	GUEST_ASSERT_EQ(send_ipi(1ULL << 1, 0, 0, IPI_VEC), 1);
	wait_until(&ipis[1], 1);
	GUEST_ASSERT_EQ(send_ipi(1ULL << 0, 0, 1, IPI_VEC), 1);
	wait_until(&ipis[1], 2);
	GUEST_ASSERT_EQ(send_ipi(3, 0, 0, IPI_VEC), 2);
	wait_until(&ipis[1], 3);
	wait_until(&ipis[0], 1);
	GUEST_ASSERT_EQ(send_ipi(0, 1, 0xffffffc1ULL, IPI_VEC), 1);
	wait_until(&ipis[1], 4);
	GUEST_ASSERT_EQ(send_ipi(1ULL << 63, 0, 100, IPI_VEC), 0);
	GUEST_ASSERT_EQ(send_ipi(2, 0, 0, IPI_VEC | ICR_LOGICAL),
			(uint64_t)-KVM_EINVAL_);
	GUEST_ASSERT_EQ(send_ipi(2, 0, 0, IPI_VEC | ICR_SELF),
			(uint64_t)-KVM_EINVAL_);
	GUEST_ASSERT_EQ(send_ipi(2, 0, 0, APIC_DM_NMI), 1);
	wait_until(&nmis, 1);
	GUEST_ASSERT_EQ(ipis[1], 4);
	GUEST_ASSERT_EQ(ipis[0], 1);
	GUEST_SYNC(1);

	/* the receiver halts with IF clear: only the kick ends that */
	step = 1;
	wait_until(&step, 2);
	GUEST_ASSERT_EQ(hypercall(KVM_HC_KICK_CPU, 0, 1, 0, 0), 0);
	wait_until(&woke, 1);
	/* a kick before the HLT, then the HLT */
	GUEST_ASSERT_EQ(hypercall(KVM_HC_KICK_CPU, 0, 1, 0, 0), 0);
	step = 3;
	wait_until(&woke, 2);
	GUEST_ASSERT_EQ(hypercall(KVM_HC_KICK_CPU, 0, 42, 0, 0), 0);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* vCPU 1 */
static void receiver(void)
{
	asm volatile("sti");
	ready = 1;
	wait_until(&step, 1);
	asm volatile("cli");
	step = 2;
	/* The kick may come before the HLT: it ends the HLT all the same. */
	asm volatile("hlt");
	woke = 1;
	wait_until(&step, 3);
	asm volatile("hlt");
	woke = 2;
	GUEST_DONE();
}

static void guest_code(void)
{
	xapic_enable();
	if (my_id() == 0)
		sender();
	else
		receiver();
}

static const char *const messages[] = {
	[1] = "KVM_HC_SEND_IPI: bitmaps from two bases, both vCPUs, the 32-bit wrap of the high base, empty IDs, -KVM_EINVAL for logical and shorthand ICRs, NMI: ok",
	[2] = "KVM_HC_KICK_CPU: woke a HLT with IF clear, kept a kick sent before the HLT, 0 for a missing APIC ID: ok",
};

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			ksft_print_msg("%s\n", messages[uc.args[0] & 3]);
			break;
		case UCALL_DONE:
			return NULL;
		default:
			TEST_FAIL("vCPU %u: unexpected exit %s%s", vcpu->id,
				  exit_reason_str(vcpu->run->exit_reason),
				  vcpu_exit_details(vcpu));
		}
	}
}

int main(void)
{
	struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };
	struct kvm_vcpu *vcpus[2];
	pthread_t threads[2];
	struct kvm_vm *vm;
	int i;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	for (i = 0; i < 2; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, guest_code);
		/* with an in-kernel LAPIC the AP waits for INIT/SIPI */
		vcpu_ioctl(vcpus[i], KVM_SET_MP_STATE, &mp);
	}
	apic_map(vm);
	amd = host_cpu_is_amd();
	sync_global_to_guest(vm, amd);
	vm_install_exception_handler(vm, IPI_VEC, ipi_handler);
	vm_install_exception_handler(vm, NMI_VECTOR, nmi_handler);
	for (i = 0; i < 2; i++)
		TEST_ASSERT(!pthread_create(&threads[i], NULL, vcpu_thread,
					    vcpus[i]), "pthread_create");
	for (i = 0; i < 2; i++)
		TEST_ASSERT(!pthread_join(threads[i], NULL), "pthread_join");
	vcpu_ioctl(vcpus[1], KVM_GET_MP_STATE, &mp);
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
