// SPDX-License-Identifier: GPL-2.0
/*
 * apic_ipi: inter-processor interrupts through the in-kernel local APIC
 * (KVM_CREATE_IRQCHIP), four vCPUs each on its own host thread.  vCPU 0
 * sends fixed IPIs, the others count them in their handler:
 *  - xAPIC physical destination (ICR2 bits 31:24) to vCPU 1 only;
 *  - xAPIC logical flat destination: one bit reaches vCPU 1, two bits
 *    reach vCPUs 2 and 3;
 *  - the all-but-self shorthand reaches 1, 2 and 3 and not the sender;
 *  - ICR's delivery status reads idle right after the send;
 *  - a ping-pong of PINGPONG_ROUNDS round trips between vCPUs 0 and 1;
 *  - when KVM_GET_SUPPORTED_CPUID offers x2APIC: every vCPU switches via
 *    IA32_APIC_BASE, reads its x2APIC ID and LDR from MSRs, and vCPU 0
 *    sends with the 64-bit ICR MSR (physical, logical cluster, all but
 *    self) and itself through SELF_IPI.
 */
#include <pthread.h>
#include <sys/ioctl.h>

#include "kvm_util.h"

#define NR_VCPUS		4
#define APIC_GVA		0xfee00000UL
#define APIC_ID			0x20
#define APIC_EOI		0xb0
#define APIC_LDR		0xd0
#define APIC_SPIV		0xf0
#define APIC_ICR		0x300
#define APIC_ICR2		0x310
#define ICR_BUSY		(1U << 12)
#define ICR_LOGICAL		(1U << 11)
#define ICR_ALL_BUT_SELF	(3U << 18)

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_X2APIC	(1ULL << 10)
#define MSR_X2APIC_ID		0x802
#define MSR_X2APIC_EOI		0x80b
#define MSR_X2APIC_LDR		0x80d
#define MSR_X2APIC_ICR		0x830
#define MSR_X2APIC_SELF_IPI	0x83f

#define IPI_VEC			0x40
#define PING_VEC		0x41
#define PONG_VEC		0x42
#define WAKE_VEC		0x43
#define PINGPONG_ROUNDS		100
#define TIMEOUT_TSC		30000000000ULL	/* ~10 s and more */

enum { PH_XAPIC, PH_X2APIC, PH_DONE };

static volatile uint32_t ipi_count[NR_VCPUS];
static volatile uint32_t pong_count;
static volatile uint32_t phase;
static volatile uint32_t ready_count, x2_ready_count;

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_GVA + reg);
}

static inline void apic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(APIC_GVA + reg) = val;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

static bool in_x2apic(void)
{
	return rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC;
}

static uint32_t my_apic_id(void)
{
	return in_x2apic() ? rdmsr(MSR_X2APIC_ID) : apic_read(APIC_ID) >> 24;
}

static void eoi(void)
{
	if (in_x2apic())
		wrmsr(MSR_X2APIC_EOI, 0);
	else
		apic_write(APIC_EOI, 0);
}

/* A fixed IPI in either mode; @lo holds the vector and the mode bits. */
static void send_ipi(uint32_t dest, uint32_t lo)
{
	if (in_x2apic()) {
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | lo);
		GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_ICR) & ICR_BUSY, 0);
	} else {
		apic_write(APIC_ICR2, dest << 24);
		apic_write(APIC_ICR, lo);
		GUEST_ASSERT_EQ(apic_read(APIC_ICR) & ICR_BUSY, 0);
	}
}

static void ipi_handler(struct ex_regs *regs)
{
	(void)regs;
	ipi_count[my_apic_id() % NR_VCPUS]++;
	eoi();
}

static void ping_handler(struct ex_regs *regs)
{
	(void)regs;
	eoi();
	send_ipi(0, PONG_VEC);
}

static void pong_handler(struct ex_regs *regs)
{
	(void)regs;
	pong_count++;
	eoi();
}

static void wake_handler(struct ex_regs *regs)
{
	(void)regs;
	eoi();
}

/* Spin (interrupts off) until *@p reaches @val. */
static void wait_for(volatile uint32_t *p, uint32_t val)
{
	uint64_t start = rdtsc();

	while (*p < val) {
		GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
		cpu_relax();
	}
}

/* Halt with interrupts on until *@p reaches @val. */
static void halt_for(volatile uint32_t *p, uint32_t val)
{
	uint64_t start = rdtsc();

	while (*p < val) {
		GUEST_ASSERT(rdtsc() - start < TIMEOUT_TSC);
		asm volatile("sti; hlt; cli" ::: "memory");
	}
}

static void x2apic_enable(uint32_t id)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_ID), id);
	GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_LDR),
			((id >> 4) << 16) | (1U << (id & 0xf)));
}

static void receiver(uint32_t id)
{
	bool x2 = false;

	__atomic_fetch_add(&ready_count, 1, __ATOMIC_SEQ_CST);
	while (phase != PH_DONE) {
		asm volatile("sti; hlt; cli" ::: "memory");
		if (phase == PH_X2APIC && !x2) {
			x2apic_enable(id);
			x2 = true;
			__atomic_fetch_add(&x2_ready_count, 1, __ATOMIC_SEQ_CST);
		}
	}
	GUEST_DONE();
}

/* Sends @lo to @dest and checks who counted it: bit i of @who = vCPU i. */
static void send_and_check(uint32_t dest, uint32_t lo, uint32_t who)
{
	uint32_t before[NR_VCPUS];
	int i;

	for (i = 0; i < NR_VCPUS; i++)
		before[i] = ipi_count[i];
	send_ipi(dest, lo | IPI_VEC);
	for (i = 0; i < NR_VCPUS; i++)
		if (who & (1U << i))
			wait_for(&ipi_count[i], before[i] + 1);
	/* late extra deliveries would show up by the next check */
	for (i = 0; i < NR_VCPUS; i++)
		GUEST_ASSERT_EQ(ipi_count[i], before[i] + !!(who & (1U << i)));
}

static void sender_x2apic(void)
{
	phase = PH_X2APIC;
	send_ipi(0, ICR_ALL_BUT_SELF | WAKE_VEC);
	wait_for(&x2_ready_count, NR_VCPUS - 1);
	x2apic_enable(0);

	send_and_check(1, 0, 1U << 1);
	send_and_check(1U << 2, ICR_LOGICAL, 1U << 2);	/* cluster 0, ID 2 */
	send_and_check(0, ICR_ALL_BUT_SELF, 0xe);
	wrmsr(MSR_X2APIC_SELF_IPI, IPI_VEC);
	halt_for(&ipi_count[0], 1);
	GUEST_SYNC(4);
}

static void sender(uint64_t has_x2apic)
{
	uint32_t i;

	wait_for(&ready_count, NR_VCPUS - 1);
	send_and_check(1, 0, 1U << 1);			/* physical */
	send_and_check(2, 0, 1U << 2);
	GUEST_SYNC(1);
	send_and_check(1U << 1, ICR_LOGICAL, 1U << 1);	/* flat logical */
	send_and_check(3U << 2, ICR_LOGICAL, 3U << 2);
	GUEST_SYNC(2);
	send_and_check(0, ICR_ALL_BUT_SELF, 0xe);
	GUEST_SYNC(3);

	for (i = 0; i < PINGPONG_ROUNDS; i++) {
		send_ipi(1, PING_VEC);
		halt_for(&pong_count, i + 1);
	}
	GUEST_ASSERT_EQ(pong_count, PINGPONG_ROUNDS);
	GUEST_SYNC(5);

	if (has_x2apic)
		sender_x2apic();
	phase = PH_DONE;
	send_ipi(0, ICR_ALL_BUT_SELF | WAKE_VEC);
	GUEST_DONE();
}

static void guest_code(uint64_t id, uint64_t has_x2apic)
{
	apic_write(APIC_SPIV, 0x1ff);
	apic_write(APIC_LDR, 1U << (24 + id));	/* DFR is flat after reset */
	GUEST_ASSERT_EQ(apic_read(APIC_ID) >> 24, id);
	if (id)
		receiver(id);
	else
		sender(has_x2apic);
}

static const char *const messages[] = {
	[1] = "physical destination reaches only the named vCPU: ok",
	[2] = "logical flat destination: one bit, two bits: ok",
	[3] = "all-but-self shorthand: the others, not the sender: ok",
	[4] = "x2APIC: IDs and LDRs from MSRs; ICR MSR physical, logical cluster, all-but-self; SELF_IPI: ok",
	[5] = "ping-pong: " __stringify(PINGPONG_ROUNDS) " round trips between vCPUs 0 and 1: ok",
};

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[0] < ARRAY_SIZE(messages) &&
				    messages[uc.args[0]], "bad sync %lu",
				    (unsigned long)uc.args[0]);
			ksft_print_msg("%s\n", messages[uc.args[0]]);
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

static bool cpuid_has_x2apic(struct kvm_cpuid2 *cpuid)
{
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			return cpuid->entries[i].ecx & (1U << 21);
	return false;
}

int main(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	pthread_t threads[NR_VCPUS];
	struct kvm_cpuid2 *cpuid;
	struct kvm_mp_state runnable = { KVM_MP_STATE_RUNNABLE };
	bool x2apic = false;
	struct kvm_vm *vm;
	int i;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	cpuid = kvm_get_supported_cpuid();
	if (cpuid)
		x2apic = cpuid_has_x2apic(cpuid);
	for (i = 0; i < NR_VCPUS; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, guest_code);
		/* with an in-kernel LAPIC the APs wait for INIT/SIPI: start them */
		vcpu_ioctl(vcpus[i], KVM_SET_MP_STATE, &runnable);
		/* KVM allows x2APIC only when the guest's CPUID has it */
		if (cpuid)
			vcpu_ioctl(vcpus[i], KVM_SET_CPUID2, cpuid);
		vcpu_args_set(vcpus[i], 2, (uint64_t)i, (uint64_t)x2apic);
	}
	free(cpuid);
	virt_map(vm, APIC_GVA, APIC_GVA, PAGE_SIZE_4K);
	vm_install_exception_handler(vm, IPI_VEC, ipi_handler);
	vm_install_exception_handler(vm, PING_VEC, ping_handler);
	vm_install_exception_handler(vm, PONG_VEC, pong_handler);
	vm_install_exception_handler(vm, WAKE_VEC, wake_handler);
	if (!x2apic)
		ksft_print_msg("no x2APIC in KVM_GET_SUPPORTED_CPUID: x2APIC not tested\n");

	for (i = 0; i < NR_VCPUS; i++)
		TEST_ASSERT(!pthread_create(&threads[i], NULL, vcpu_thread,
					    vcpus[i]), "pthread_create");
	for (i = 0; i < NR_VCPUS; i++)
		TEST_ASSERT(!pthread_join(threads[i], NULL), "pthread_join");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
