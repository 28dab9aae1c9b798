// SPDX-License-Identifier: GPL-2.0
/*
 * apic_state: the in-kernel local APIC's state and its mode switches.
 *  - KVM_GET_LAPIC after reset: ID = vcpu_id << 24, version 0x50014 (six
 *    LVTs), LVTs masked except the BSP's LINT0 (ExtINT), SPIV 0xff, DFR
 *    all ones;
 *  - KVM_SET_LAPIC then KVM_GET_LAPIC: TPR, an LVT and the divide
 *    configuration come back, PPR follows TPR, the version is KVM's own
 *    whatever was set, and a restored running timer counts down;
 *  - the guest (vCPU 1) reads its ID, version, TPR, CR8 and TDCR through
 *    the xAPIC page and reports them;
 *  - IA32_APIC_BASE writes with reserved bits, or x2APIC without enable,
 *    raise #GP; x2APIC MSRs raise #GP in xAPIC mode;
 *  - with x2APIC in the CPUID: x2APIC ID and LDR from MSRs, KVM_GET_LAPIC
 *    shows the ID as id << 24 (no KVM_CAP_X2APIC_API) and the x2APIC
 *    LDR, a KVM_SET_LAPIC round trip keeps them; #GP for x2APIC -> xAPIC
 *    directly, for writes to ID and LDR, reads of DFR and ICR2, and bits
 *    63:32 in TPR; disabling works, and disabled -> x2APIC #GPs;
 *  - in x2APIC mode, and with the APIC disabled, the xAPIC page reads as
 *    all ones and takes writes without effect, in the kernel (KVM's
 *    LAPIC_MMIO_HOLE quirk, on by default): no MMIO exit reaches
 *    userspace, where QEMU would turn the writes into stray MSIs.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define APIC_GVA		0xfee00000UL
#define APIC_ID			0x20
#define APIC_LVR		0x30
#define APIC_TASKPRI		0x80
#define APIC_PROCPRI		0xa0
#define APIC_LDR		0xd0
#define APIC_DFR		0xe0
#define APIC_SPIV		0xf0
#define APIC_LVTT		0x320
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_LVTERR		0x370
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define KVM_61_VERSION		0x50014

#define MSR_APIC_BASE		0x1b
#define BASE_EN			(1ULL << 11)
#define BASE_X2APIC		(1ULL << 10)

#define TEST_TMICT		1000000000U	/* 16 s with divide by 16 */

static inline void apic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(APIC_GVA + reg) = val;
}

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_GVA + reg);
}

static inline uint64_t rdmsr_gp(uint32_t msr)
{
	uint32_t lo = 0, hi = 0;

	asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	return lo | ((uint64_t)hi << 32);
}

/* @fn raises #GP exactly once. */
#define EXPECT_GP(fn)							\
do {									\
	int __before = guest_gp_count;					\
	fn;								\
	GUEST_ASSERT_EQ(guest_gp_count, __before + 1);			\
} while (0)

#define EXPECT_NO_GP(fn)						\
do {									\
	int __before = guest_gp_count;					\
	fn;								\
	GUEST_ASSERT_EQ(guest_gp_count, __before);			\
} while (0)

static void guest_x2apic(uint64_t base)
{
	EXPECT_NO_GP(wrmsr(MSR_APIC_BASE, base | BASE_X2APIC));
	GUEST_ASSERT_EQ(rdmsr_gp(0x802), 1);		/* ID */
	GUEST_ASSERT_EQ(rdmsr_gp(0x803), KVM_61_VERSION);
	GUEST_ASSERT_EQ(rdmsr_gp(0x80d), 1U << 1);	/* LDR: cluster 0, bit 1 */
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(rdmsr_gp(0x802), 1);		/* after the round trip */
	GUEST_ASSERT_EQ(rdmsr_gp(0x80d), 1U << 1);
	GUEST_ASSERT_EQ(rdmsr_gp(0x808), 0x20);		/* TPR */

	EXPECT_GP(wrmsr(MSR_APIC_BASE, base));		/* x2APIC -> xAPIC */
	EXPECT_GP(wrmsr(0x802, 5));			/* ID is read-only */
	EXPECT_GP(wrmsr(0x80d, 0));			/* LDR too */
	EXPECT_GP(rdmsr_gp(0x80e));			/* no DFR */
	EXPECT_GP(rdmsr_gp(0x831));			/* no ICR2 */
	EXPECT_GP(wrmsr(0x808, 1ULL << 32));		/* TPR bits 63:32 */
	GUEST_ASSERT_EQ(rdmsr_gp(0x808), 0x20);
	GUEST_ASSERT_EQ(rdmsr_gp(MSR_APIC_BASE), base | BASE_X2APIC);
	GUEST_ASSERT_EQ(apic_read(APIC_ID), 0xffffffff);	/* the hole */
	apic_write(APIC_TASKPRI, 0x30);
	GUEST_ASSERT_EQ(rdmsr_gp(0x808), 0x20);

	EXPECT_NO_GP(wrmsr(MSR_APIC_BASE, base & ~(BASE_EN | BASE_X2APIC)));
	GUEST_ASSERT_EQ(apic_read(APIC_ID), 0xffffffff);
	apic_write(APIC_TASKPRI, 0x40);
	EXPECT_GP(wrmsr(MSR_APIC_BASE, base | BASE_X2APIC)); /* disabled -> x2 */
	EXPECT_NO_GP(wrmsr(MSR_APIC_BASE, base));
	GUEST_ASSERT_EQ(apic_read(APIC_ID), 1U << 24);
	GUEST_SYNC(4);
}

static void guest_code(uint64_t has_x2apic)
{
	uint64_t base = rdmsr_gp(MSR_APIC_BASE), cr8;

	asm volatile("mov %%cr8, %0" : "=r"(cr8));
	ucall(UCALL_SYNC, 6, 1ULL, (uint64_t)apic_read(APIC_ID),
	      (uint64_t)apic_read(APIC_LVR), (uint64_t)apic_read(APIC_TASKPRI),
	      cr8, (uint64_t)apic_read(APIC_TDCR));

	GUEST_ASSERT_EQ(base & ~0xfffULL, APIC_GVA);
	GUEST_ASSERT_EQ(base & BASE_EN, BASE_EN);
	EXPECT_GP(wrmsr(MSR_APIC_BASE, base | 1));		/* reserved */
	EXPECT_GP(wrmsr(MSR_APIC_BASE, base | (1 << 9)));	/* reserved */
	EXPECT_GP(wrmsr(MSR_APIC_BASE, (base | BASE_X2APIC) & ~BASE_EN));
	EXPECT_GP(rdmsr_gp(0x802));		/* x2APIC MSRs in xAPIC mode */
	EXPECT_GP(wrmsr(0x808, 0));
	GUEST_ASSERT_EQ(rdmsr_gp(MSR_APIC_BASE), base);
	GUEST_SYNC(2);

	if (has_x2apic)
		guest_x2apic(base);
	GUEST_DONE();
}

static uint32_t reg(struct kvm_lapic_state *s, uint32_t off)
{
	return *(uint32_t *)(s->regs + off);
}

static void set_reg(struct kvm_lapic_state *s, uint32_t off, uint32_t val)
{
	*(uint32_t *)(s->regs + off) = val;
}

static void check_reset_state(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state s;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(reg(&s, APIC_ID), vcpu->id << 24);
	TEST_ASSERT_EQ(reg(&s, APIC_LVR), KVM_61_VERSION);
	TEST_ASSERT_EQ(reg(&s, APIC_LVTT), 0x10000);
	TEST_ASSERT_EQ(reg(&s, APIC_LVT0), vcpu->id ? 0x10000 : 0x700);
	TEST_ASSERT_EQ(reg(&s, APIC_LVT1), 0x10000);
	TEST_ASSERT_EQ(reg(&s, APIC_LVTERR), 0x10000);
	TEST_ASSERT_EQ(reg(&s, APIC_SPIV), 0xff);
	TEST_ASSERT_EQ(reg(&s, APIC_DFR), 0xffffffff);
	TEST_ASSERT_EQ(reg(&s, APIC_TASKPRI), 0);
	TEST_ASSERT_EQ(reg(&s, APIC_PROCPRI), 0);
	TEST_ASSERT_EQ(reg(&s, APIC_TMICT), 0);
	ksft_print_msg("vCPU %u reset state: ID %#x, version %#x, LVT0 %#x: ok\n",
		       vcpu->id, reg(&s, APIC_ID), reg(&s, APIC_LVR),
		       reg(&s, APIC_LVT0));
}

static void check_set_get(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state s;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	set_reg(&s, APIC_TASKPRI, 0x20);
	set_reg(&s, APIC_LVTT, 0x100e5);	/* masked one-shot, vector e5 */
	set_reg(&s, APIC_TDCR, 0x3);		/* divide by 16 */
	set_reg(&s, APIC_TMICT, TEST_TMICT);
	set_reg(&s, APIC_TMCCT, TEST_TMICT);	/* restart from the top */
	set_reg(&s, APIC_LVR, 0x12345);
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &s);

	memset(&s, 0, sizeof(s));
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(reg(&s, APIC_ID), vcpu->id << 24);
	TEST_ASSERT_EQ(reg(&s, APIC_TASKPRI), 0x20);
	TEST_ASSERT_EQ(reg(&s, APIC_PROCPRI), 0x20);
	TEST_ASSERT_EQ(reg(&s, APIC_LVTT), 0x100e5);
	TEST_ASSERT_EQ(reg(&s, APIC_TDCR), 0x3);
	TEST_ASSERT_EQ(reg(&s, APIC_TMICT), TEST_TMICT);
	TEST_ASSERT(reg(&s, APIC_TMCCT) > 0 && reg(&s, APIC_TMCCT) <= TEST_TMICT,
		    "TMCCT %#x of a running timer", reg(&s, APIC_TMCCT));
	TEST_ASSERT_EQ(reg(&s, APIC_LVR), KVM_61_VERSION);
	ksft_print_msg("KVM_SET_LAPIC/KVM_GET_LAPIC: TPR, PPR, LVTT, TDCR, TMICT, running TMCCT %#x, version kept: ok\n",
		       reg(&s, APIC_TMCCT));
}

static bool cpuid_has_x2apic(struct kvm_cpuid2 *cpuid)
{
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			return cpuid->entries[i].ecx & (1U << 21);
	return false;
}

static void check_x2apic_state(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state s;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(reg(&s, APIC_ID), 1U << 24);
	TEST_ASSERT_EQ(reg(&s, APIC_LDR), 1U << 1);
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &s);
	memset(&s, 0, sizeof(s));
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(reg(&s, APIC_ID), 1U << 24);
	TEST_ASSERT_EQ(reg(&s, APIC_LDR), 1U << 1);
	ksft_print_msg("x2APIC: KVM_GET_LAPIC ID %#x (id << 24), LDR %#x, unchanged by a KVM_SET_LAPIC round trip: ok\n",
		       reg(&s, APIC_ID), reg(&s, APIC_LDR));
}

int main(void)
{
	struct kvm_vcpu *vcpu0, *vcpu;
	struct kvm_cpuid2 *cpuid;
	bool x2apic = false;
	struct kvm_vm *vm;
	struct kvm_mp_state runnable = { KVM_MP_STATE_RUNNABLE };
	struct ucall uc;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu0 = vm_vcpu_add(vm, 0, guest_code);
	vcpu = vm_vcpu_add(vm, 1, guest_code);
	/* with an in-kernel LAPIC an AP waits for INIT/SIPI: start it */
	vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &runnable);
	cpuid = kvm_get_supported_cpuid();
	if (cpuid) {
		x2apic = cpuid_has_x2apic(cpuid);
		vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
		free(cpuid);
	}
	vcpu_args_set(vcpu, 1, (uint64_t)x2apic);
	virt_map(vm, APIC_GVA, APIC_GVA, PAGE_SIZE_4K);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);

	check_reset_state(vcpu0);
	check_reset_state(vcpu);
	check_set_get(vcpu);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), 1);
	TEST_ASSERT_EQ(uc.args[1], 1U << 24);
	TEST_ASSERT_EQ(uc.args[2], KVM_61_VERSION);
	TEST_ASSERT_EQ(uc.args[3], 0x20);
	TEST_ASSERT_EQ(uc.args[4], 2);
	TEST_ASSERT_EQ(uc.args[5], 0x3);
	ksft_print_msg("guest MMIO: ID %#lx, version %#lx, TPR %#lx (CR8 %lu), TDCR %#lx: ok\n",
		       (unsigned long)uc.args[1], (unsigned long)uc.args[2],
		       (unsigned long)uc.args[3], (unsigned long)uc.args[4],
		       (unsigned long)uc.args[5]);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	ksft_print_msg("#GP for reserved IA32_APIC_BASE bits, x2APIC without enable, x2APIC MSRs in xAPIC mode: ok\n");
	if (x2apic) {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);
		check_x2apic_state(vcpu);
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 4);
		ksft_print_msg("x2APIC: #GP for x2APIC->xAPIC, ID/LDR writes, DFR/ICR2 reads, TPR bits 63:32; disable, then disabled->x2APIC #GP; back to xAPIC: ok\n");
	} else {
		ksft_print_msg("no x2APIC in KVM_GET_SUPPORTED_CPUID: x2APIC not tested\n");
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
