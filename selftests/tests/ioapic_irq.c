// SPDX-License-Identifier: GPL-2.0
/*
 * ioapic_irq: the in-kernel IOAPIC (KVM_CREATE_IRQCHIP) as a guest and the
 * host see it.  The guest enables its LAPIC and programs redirection
 * entries through IOREGSEL/IOWIN; the host drives pins 17-22 with
 * KVM_IRQ_LINE_STATUS (GSIs 16-23 reach only the IOAPIC) and looks at the
 * result with KVM_GET_IRQCHIP.
 *
 *  - the version register reads 0x00170011; Remote IRR and Delivery Status
 *    are read-only;
 *  - edge pin 17: a rising edge delivers once; asserting again without a
 *    falling edge is coalesced (status 0) and delivers nothing; an edge
 *    already sent does not show in the IRR KVM_GET_IRQCHIP reports;
 *  - masked pin 19 latches in IRR (status -1), delivers nothing, and
 *    unmasking an edge pin does not send the old edge;
 *  - level pin 18: Remote IRR is set on delivery and blocks further
 *    messages (status -1) until the EOI; each LAPIC EOI while the line is
 *    still high delivers again; after de-assert the EOI clears Remote IRR;
 *  - KVM_SET_IRQCHIP round trip, replaying IRR: an unmasked level pin with
 *    IRR set is delivered by the set itself.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define IOAPIC_GPA	0xfec00000ULL
#define LAPIC_GPA	0xfee00000ULL

#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0

#define EDGE_PIN	17
#define LEVEL_PIN	18
#define MASKED_PIN	19
#define SCRATCH_PIN	20
#define SET_PIN		21
#define SET_LEVEL_PIN	22

#define EDGE_VEC	0x40
#define LEVEL_VEC	0x50
#define MASKED_VEC	0x60
#define SET_LEVEL_VEC	0x70
#define SPURIOUS_VEC	0xff

#define RTE_REMOTE_IRR	(1u << 14)
#define RTE_LEVEL	(1u << 15)
#define RTE_MASKED	(1u << 16)
#define RTE_DELIVS	(1u << 12)

#define LEVEL_ROUNDS	3	/* deliveries of the level pin before de-assert */

static volatile int edge_count, level_count, masked_count, set_count;
static volatile int spurious_count;

static void lapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(LAPIC_GPA + reg) = val;
}

static uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	return *(volatile uint32_t *)(IOAPIC_GPA + 0x10);
}

static void ioapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + 0x10) = val;
}

/* Destination APIC ID 0 (physical), then the low half, unmasking last. */
static void ioapic_route(int pin, uint32_t low)
{
	ioapic_write(0x10 + 2 * pin + 1, 0);
	ioapic_write(0x10 + 2 * pin, low);
}

static void edge_handler(struct ex_regs *regs)
{
	(void)regs;
	edge_count++;
	lapic_write(LAPIC_EOI, 0);
}

static void masked_handler(struct ex_regs *regs)
{
	(void)regs;
	masked_count++;
	lapic_write(LAPIC_EOI, 0);
}

/*
 * The line stays high, so every EOI brings the interrupt straight back.
 * In the last round the host looks at Remote IRR before the EOI and lowers
 * the line, so that EOI ends it.
 */
static void level_handler(struct ex_regs *regs)
{
	(void)regs;
	if (++level_count == LEVEL_ROUNDS)
		GUEST_SYNC(3);
	lapic_write(LAPIC_EOI, 0);
}

static void set_level_handler(struct ex_regs *regs)
{
	(void)regs;
	set_count++;
	GUEST_SYNC(5);		/* the host lowers the line before the EOI */
	lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct ex_regs *regs)
{
	(void)regs;
	spurious_count++;
}

static void guest_code(void)
{
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VEC);
	GUEST_ASSERT_EQ(ioapic_read(0x01), 0x00170011);

	/* Remote IRR and Delivery Status ignore writes. */
	ioapic_route(SCRATCH_PIN, RTE_MASKED | RTE_LEVEL | RTE_REMOTE_IRR |
				  RTE_DELIVS | 0x77);
	GUEST_ASSERT_EQ(ioapic_read(0x10 + 2 * SCRATCH_PIN),
			RTE_MASKED | RTE_LEVEL | 0x77);

	ioapic_route(EDGE_PIN, EDGE_VEC);
	ioapic_route(LEVEL_PIN, RTE_LEVEL | LEVEL_VEC);
	ioapic_route(MASKED_PIN, RTE_MASKED | MASKED_VEC);
	GUEST_ASSERT_EQ(ioapic_read(0x10 + 2 * EDGE_PIN), EDGE_VEC);
	GUEST_SYNC(1);

	/* The host pulsed the edge pin and the masked pin. */
	take_interrupts(&edge_count, 1);
	GUEST_ASSERT_EQ(edge_count, 1);
	GUEST_ASSERT_EQ(masked_count, 0);
	ioapic_route(MASKED_PIN, MASKED_VEC);	/* an old edge stays lost */
	take_interrupts(&masked_count, 1);
	GUEST_ASSERT_EQ(masked_count, 0);
	GUEST_SYNC(2);

	/* The level pin is high: it comes back after each EOI, until low. */
	take_interrupts(&level_count, LEVEL_ROUNDS + 1);
	GUEST_ASSERT_EQ(level_count, LEVEL_ROUNDS);
	GUEST_SYNC(4);

	/* KVM_SET_IRQCHIP replayed IRR of a level pin, and set the ID. */
	take_interrupts(&set_count, 2);
	GUEST_ASSERT_EQ(set_count, 1);
	GUEST_ASSERT_EQ(ioapic_read(0x00), 5u << 24);
	GUEST_ASSERT_EQ(edge_count, 1);
	GUEST_ASSERT_EQ(spurious_count, 0);
	GUEST_DONE();
}

static int irq_line(struct kvm_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE_STATUS, &irq);
	return irq.status;
}

static void get_ioapic(struct kvm_vm *vm, struct kvm_ioapic_state *s)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	memcpy(s, &chip.chip.ioapic, sizeof(*s));
}

static void set_ioapic(struct kvm_vm *vm, const struct kvm_ioapic_state *s)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	memcpy(&chip.chip.ioapic, s, sizeof(*s));
	vm_ioctl(vm, KVM_SET_IRQCHIP, &chip);
}

static void check_edge_and_masked(struct kvm_vm *vm)
{
	struct kvm_ioapic_state s;

	TEST_ASSERT_EQ(irq_line(vm, EDGE_PIN, 1), 1);
	TEST_ASSERT_EQ(irq_line(vm, MASKED_PIN, 1), -1);

	get_ioapic(vm, &s);
	TEST_ASSERT_EQ(s.base_address, IOAPIC_GPA);
	TEST_ASSERT_EQ(s.redirtbl[EDGE_PIN].bits, EDGE_VEC);
	TEST_ASSERT_EQ(s.redirtbl[LEVEL_PIN].bits, RTE_LEVEL | LEVEL_VEC);
	TEST_ASSERT_EQ(s.redirtbl[MASKED_PIN].bits, RTE_MASKED | MASKED_VEC);
	/* The sent edge is not pending any more; the masked one is. */
	TEST_ASSERT(!(s.irr & (1u << EDGE_PIN)) && (s.irr & (1u << MASKED_PIN)),
		    "IOAPIC irr %#x: want pin %d clear and pin %d set",
		    s.irr, EDGE_PIN, MASKED_PIN);

	/*
	 * No falling edge in between: coalesced into the first.  (KVM then
	 * reports the pin in irr again, as still asserted.)
	 */
	TEST_ASSERT_EQ(irq_line(vm, EDGE_PIN, 1), 0);
	TEST_ASSERT_EQ(irq_line(vm, EDGE_PIN, 0), 1);
}

static void check_level_pending(struct kvm_vm *vm)
{
	struct kvm_ioapic_state s;

	TEST_ASSERT_EQ(irq_line(vm, MASKED_PIN, 0), 1);
	TEST_ASSERT_EQ(irq_line(vm, LEVEL_PIN, 1), 1);
	/* Remote IRR blocks a second message until the EOI. */
	TEST_ASSERT_EQ(irq_line(vm, LEVEL_PIN, 1), -1);
	get_ioapic(vm, &s);
	TEST_ASSERT(s.redirtbl[LEVEL_PIN].bits & RTE_REMOTE_IRR,
		    "Remote IRR clear before the EOI: %#llx",
		    (unsigned long long)s.redirtbl[LEVEL_PIN].bits);
	TEST_ASSERT(s.irr & (1u << LEVEL_PIN), "level pin not in irr %#x",
		    s.irr);
}

static void check_level_in_service(struct kvm_vm *vm)
{
	struct kvm_ioapic_state s;

	get_ioapic(vm, &s);
	TEST_ASSERT(s.redirtbl[LEVEL_PIN].bits & RTE_REMOTE_IRR,
		    "Remote IRR clear while the guest holds the interrupt: %#llx",
		    (unsigned long long)s.redirtbl[LEVEL_PIN].bits);
	TEST_ASSERT_EQ(irq_line(vm, LEVEL_PIN, 0), 1);
}

/* After the last EOI: then save, change and restore the whole state. */
static void check_set_irqchip(struct kvm_vm *vm)
{
	struct kvm_ioapic_state s, want, got;
	int pin;

	get_ioapic(vm, &s);
	TEST_ASSERT(!(s.redirtbl[LEVEL_PIN].bits & RTE_REMOTE_IRR),
		    "Remote IRR still set after the EOI: %#llx",
		    (unsigned long long)s.redirtbl[LEVEL_PIN].bits);
	TEST_ASSERT(!(s.irr & (1u << LEVEL_PIN)), "level pin in irr %#x",
		    s.irr);

	want = s;
	want.id = 5;
	want.redirtbl[SET_PIN].bits = RTE_MASKED | 0x66;
	want.redirtbl[SET_LEVEL_PIN].bits = RTE_LEVEL | SET_LEVEL_VEC;
	want.irr = (1u << SET_PIN) | (1u << SET_LEVEL_PIN);
	set_ioapic(vm, &want);

	get_ioapic(vm, &got);
	TEST_ASSERT_EQ(got.base_address, want.base_address);
	TEST_ASSERT_EQ(got.ioregsel, want.ioregsel);
	TEST_ASSERT_EQ(got.id, 5);
	TEST_ASSERT_EQ(got.irr, want.irr);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		uint64_t w = want.redirtbl[pin].bits;

		/* Replaying IRR delivered the level pin: Remote IRR is set. */
		if (pin == SET_LEVEL_PIN)
			w |= RTE_REMOTE_IRR;
		TEST_ASSERT(got.redirtbl[pin].bits == w,
			    "pin %d after KVM_SET_IRQCHIP: %#llx, want %#llx",
			    pin, (unsigned long long)got.redirtbl[pin].bits,
			    (unsigned long long)w);
	}
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP))
		ksft_exit_skip("KVM_CAP_IRQCHIP is not offered\n");
	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	virt_map(vm, IOAPIC_GPA, IOAPIC_GPA, PAGE_SIZE_4K);
	virt_map(vm, LAPIC_GPA, LAPIC_GPA, PAGE_SIZE_4K);
	vm_install_exception_handler(vm, EDGE_VEC, edge_handler);
	vm_install_exception_handler(vm, LEVEL_VEC, level_handler);
	vm_install_exception_handler(vm, MASKED_VEC, masked_handler);
	vm_install_exception_handler(vm, SET_LEVEL_VEC, set_level_handler);
	vm_install_exception_handler(vm, SPURIOUS_VEC, spurious_handler);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	check_edge_and_masked(vm);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	check_level_pending(vm);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);
	check_level_in_service(vm);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 4);
	check_set_irqchip(vm);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 5);
	TEST_ASSERT_EQ(irq_line(vm, SET_LEVEL_PIN, 0), 1);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	ksft_print_msg("IOAPIC edge, masked and level pins, Remote IRR and KVM_SET_IRQCHIP: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
