// SPDX-License-Identifier: GPL-2.0
/*
 * pv_eoi: KVM's paravirtual EOI (KVM_FEATURE_PV_EOI, MSR_KVM_PV_EOI_EN),
 * which Linux guests use whenever the hypervisor offers it.  The guest
 * names a flag in its memory; when it takes an interrupt whose EOI only
 * its LAPIC needs, the hypervisor has set bit 0 of the flag, and the
 * guest's handler clears it instead of writing the EOI register (as
 * Linux's kvm_guest_apic_eoi_write() does).  Checked from the guest:
 *  - self-IPIs, edge-triggered: the flag is set in each handler, the
 *    handler skips its EOI, and afterwards the LAPIC's ISR is clear (the
 *    hypervisor did the EOI) and the next IPI of the same vector comes;
 *  - an IPI sent from inside a handler (a second interrupt requested
 *    while one is in service): the flag is taken back, the handler must
 *    write a real EOI, and both interrupts arrive, in order;
 *  - a level-triggered self-IPI: the flag too (KVM's rule: no IOAPIC
 *    waits for that EOI); once an IOAPIC pin uses the vector, no flag and
 *    a real EOI, which the pin's Remote IRR would wait for;
 *  - MSR 0: no flag any more;
 *  - the MSR's checks: bit 1 set (misaligned) and a flag outside guest
 *    memory raise #GP; the value reads back, also with KVM_GET_MSRS.
 */
#include <sys/ioctl.h>

#include "apic.h"
#include "kvm_util.h"

#define MSR_KVM_PV_EOI_EN	0x4b564d04
#define VEC_A		0xe1
#define VEC_B		0xd1		/* lower: waits for A's EOI */
#define APIC_DEST_SELF	0x40000
#define ICR_LEVEL	0x8000
#define ICR_ASSERT	0x4000
#define APIC_ISR	0x100
#define N_EDGE		20

static volatile uint32_t flag __attribute__((aligned(8)));
static volatile uint32_t taken_a, taken_b, with_flag, real_eoi;
static volatile uint32_t nest, order_ok = 1;

/* Linux's kvm_guest_apic_eoi_write(): the flag, else the register. */
static void eoi(void)
{
	if (flag & 1) {
		flag = 0;
		with_flag++;
		return;
	}
	real_eoi++;
	xapic_write(APIC_EOI, 0);
}

static void handler_a(struct ex_regs *regs)
{
	(void)regs;
	taken_a++;
	if (nest) {
		nest = 0;
		/* B is requested while A is in service */
		xapic_write(APIC_ICR, APIC_DEST_SELF | VEC_B);
	}
	eoi();
}

static void handler_b(struct ex_regs *regs)
{
	(void)regs;
	if (taken_a == 0)
		order_ok = 0;
	taken_b++;
	eoi();
}

static void ioapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;		/* IOREGSEL */
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = val;	/* IOWIN */
}

static uint32_t isr_word(int vec)
{
	return xapic_read(APIC_ISR + (vec >> 5) * 0x10) & (1U << (vec & 31));
}

static void self_ipi(uint32_t icr)
{
	xapic_write(APIC_ICR, APIC_DEST_SELF | icr);
	asm volatile("sti; nop; cli" ::: "memory");
}

static void guest_code(void)
{
	uint64_t gpa = (uint64_t)&flag;	/* identity-mapped image */
	int i;

	xapic_enable();
	/* the MSR's own checks */
	wrmsr(MSR_KVM_PV_EOI_EN, gpa | 2 | 1);
	GUEST_ASSERT_EQ(guest_gp_count, 1);
	wrmsr(MSR_KVM_PV_EOI_EN, (1ULL << 45) | 1);
	GUEST_ASSERT_EQ(guest_gp_count, 2);
	wrmsr(MSR_KVM_PV_EOI_EN, gpa | 1);
	GUEST_ASSERT_EQ(guest_gp_count, 2);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_PV_EOI_EN), gpa | 1);
	GUEST_SYNC(1);

	/* edge-triggered self-IPIs: the flag, and the hypervisor's EOI */
	for (i = 1; i <= N_EDGE; i++) {
		self_ipi(VEC_A);
		GUEST_ASSERT_EQ(taken_a, i);
		/* the MMIO read exits first: the skipped EOI is done by then */
		GUEST_ASSERT_EQ(isr_word(VEC_A), 0);
	}
	GUEST_ASSERT_EQ(with_flag, N_EDGE);
	GUEST_ASSERT_EQ(real_eoi, 0);

	/* a second interrupt requested inside the first's handler */
	nest = 1;
	self_ipi(VEC_A);
	asm volatile("sti; nop; nop; cli" ::: "memory");
	GUEST_ASSERT_EQ(taken_a, N_EDGE + 1);
	GUEST_ASSERT_EQ(taken_b, 1);
	GUEST_ASSERT(order_ok);
	GUEST_ASSERT(real_eoi >= 1);
	GUEST_ASSERT_EQ(isr_word(VEC_A) | isr_word(VEC_B), 0);

	/* level-triggered: the flag as well, while no IOAPIC pin uses it */
	i = with_flag;
	self_ipi(VEC_A | ICR_LEVEL | ICR_ASSERT);
	GUEST_ASSERT_EQ(taken_a, N_EDGE + 2);
	GUEST_ASSERT_EQ(with_flag, i + 1);
	GUEST_ASSERT_EQ(isr_word(VEC_A), 0);
	/* pin 10: VEC_A, level-triggered, masked, to APIC ID 0 */
	ioapic_write(0x10 + 2 * 10, VEC_A | ICR_LEVEL | 0x10000);
	ioapic_write(0x11 + 2 * 10, 0);
	i = real_eoi;
	self_ipi(VEC_A | ICR_LEVEL | ICR_ASSERT);
	GUEST_ASSERT_EQ(taken_a, N_EDGE + 3);
	GUEST_ASSERT_EQ(real_eoi, i + 1);
	ioapic_write(0x10 + 2 * 10, 0x10000);

	/* disabled: no flag either */
	wrmsr(MSR_KVM_PV_EOI_EN, 0);
	i = with_flag;
	self_ipi(VEC_A);
	GUEST_ASSERT_EQ(taken_a, N_EDGE + 4);
	GUEST_ASSERT_EQ(with_flag, i);
	GUEST_ASSERT_EQ(isr_word(VEC_A), 0);
	GUEST_DONE();
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	TEST_ASSERT_EQ(ioctl(vcpu->fd, KVM_GET_MSRS, &m), 1);
	return m.e.data;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t val;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	apic_map(vm);
	vm_install_exception_handler(vm, VEC_A, handler_a);
	vm_install_exception_handler(vm, VEC_B, handler_b);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), 1);
	val = get_msr(vcpu, MSR_KVM_PV_EOI_EN);
	TEST_ASSERT_EQ(val, (uint64_t)&flag | 1);
	ksft_print_msg("MSR_KVM_PV_EOI_EN: #GP misaligned and outside memory, reads back (guest and KVM_GET_MSRS): ok\n");
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("%d edge self-IPIs with the flag and no EOI write; a nested one taken back; a level one with it, not once an IOAPIC pin has its vector; none when disabled: ok\n",
		       N_EDGE);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
