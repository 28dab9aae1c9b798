// SPDX-License-Identifier: GPL-2.0
/*
 * pic_irq: the in-kernel 8259 pair (KVM_CREATE_IRQCHIP) as a guest and the
 * host see it.  The BSP's LINT0 is ExtINT after reset and the LAPIC is
 * left alone (software-disabled), so the PIC's INTR reaches the CPU
 * directly.  The guest programs the pair like a PC BIOS (ICW1 0x11,
 * vector bases 0x20/0x28, the cascade on IRQ2, ICW4 0x01) and unmasks
 * IRQ2, IRQ3 and IRQ10; the host pulses GSIs with KVM_IRQ_LINE_STATUS
 * (GSIs 0-15 reach the PIC; the IOAPIC's pins stay masked).
 *
 *  - IMR and ELCR read back, ELCR limited to KVM's elcr_mask (0xf8/0xde);
 *  - pending requests show in IRR (OCW3 0x0a) and in KVM_GET_IRQCHIP,
 *    the slave's also as the master's IRQ2;
 *  - IRQ10 (0x2a, through the slave) comes before IRQ3 (0x23), each once,
 *    with ISR (OCW3 0x0b) showing what is in service; non-specific EOIs,
 *    slave then master;
 *  - masked IRQ4 stays in IRR (status -1) and arrives only when unmasked;
 *  - a poll (OCW3 0x0c) returns the IRQ number and consumes the request;
 *    nothing reaches the CPU then;
 *  - KVM_SET_IRQCHIP of both chips round-trips (IMR, irq_base, ELCR), the
 *    guest sees the new ELCR and IMR, and IRQ3 then arrives at the new
 *    vector base.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define MASTER_CMD	0x20
#define MASTER_DATA	0x21
#define SLAVE_CMD	0xa0
#define SLAVE_DATA	0xa1
#define ELCR_MASTER	0x4d0
#define ELCR_SLAVE	0x4d1

#define OCW3_READ_IRR	0x0a
#define OCW3_READ_ISR	0x0b
#define OCW3_POLL	0x0c
#define OCW2_EOI	0x20

#define MASTER_BASE	0x20
#define SLAVE_BASE	0x28
#define NEW_MASTER_BASE	0x40

#define MASTER_IMR	0xe3	/* IRQ2, IRQ3, IRQ4 open: 1110 0011 */
#define SLAVE_IMR	0xfb	/* IRQ10 open */

static volatile int count[256];
static volatile int first_vector;
static volatile uint8_t isr_in_irq3, isr_in_irq10_master, isr_in_irq10_slave;

static uint8_t read_reg(uint16_t cmd_port, uint8_t ocw3)
{
	outb(cmd_port, ocw3);
	return inb(cmd_port);
}

static void note(struct ex_regs *regs)
{
	if (!first_vector)
		first_vector = regs->vector;
	count[regs->vector]++;
}

static void master_handler(struct ex_regs *regs)
{
	note(regs);
	if (regs->vector == MASTER_BASE + 3)
		isr_in_irq3 = read_reg(MASTER_CMD, OCW3_READ_ISR);
	outb(MASTER_CMD, OCW2_EOI);
}

static void slave_handler(struct ex_regs *regs)
{
	note(regs);
	isr_in_irq10_master = read_reg(MASTER_CMD, OCW3_READ_ISR);
	isr_in_irq10_slave = read_reg(SLAVE_CMD, OCW3_READ_ISR);
	outb(SLAVE_CMD, OCW2_EOI);
	outb(MASTER_CMD, OCW2_EOI);
}

static void pic_init(void)
{
	outb(MASTER_CMD, 0x11);		/* ICW1: edge, cascade, ICW4 */
	outb(SLAVE_CMD, 0x11);
	outb(MASTER_DATA, MASTER_BASE);	/* ICW2 */
	outb(SLAVE_DATA, SLAVE_BASE);
	outb(MASTER_DATA, 0x04);	/* ICW3: slave on IRQ2 */
	outb(SLAVE_DATA, 0x02);		/* ICW3: cascade identity 2 */
	outb(MASTER_DATA, 0x01);	/* ICW4: 8086 mode, normal EOI */
	outb(SLAVE_DATA, 0x01);
	outb(MASTER_DATA, MASTER_IMR | 0x10);	/* IRQ4 masked for now */
	outb(SLAVE_DATA, SLAVE_IMR);
}

static void guest_code(void)
{
	uint8_t poll;

	pic_init();
	GUEST_ASSERT_EQ(inb(MASTER_DATA), MASTER_IMR | 0x10);
	GUEST_ASSERT_EQ(inb(SLAVE_DATA), SLAVE_IMR);
	outb(ELCR_MASTER, 0xff);
	outb(ELCR_SLAVE, 0xff);
	GUEST_ASSERT_EQ(inb(ELCR_MASTER), 0xf8);
	GUEST_ASSERT_EQ(inb(ELCR_SLAVE), 0xde);
	outb(ELCR_MASTER, 0);
	outb(ELCR_SLAVE, 0);
	GUEST_SYNC(1);

	/* IRQ3, IRQ10 (cascade IRQ2) and masked IRQ4 are pending. */
	GUEST_ASSERT_EQ(read_reg(MASTER_CMD, OCW3_READ_IRR), 0x1c);
	GUEST_ASSERT_EQ(read_reg(SLAVE_CMD, OCW3_READ_IRR), 0x04);
	GUEST_ASSERT_EQ(read_reg(MASTER_CMD, OCW3_READ_ISR), 0);
	take_interrupts(&count[MASTER_BASE + 3], 1);
	GUEST_ASSERT_EQ(first_vector, SLAVE_BASE + 2);
	GUEST_ASSERT_EQ(count[SLAVE_BASE + 2], 1);
	GUEST_ASSERT_EQ(count[MASTER_BASE + 3], 1);
	GUEST_ASSERT_EQ(count[MASTER_BASE + 4], 0);
	GUEST_ASSERT_EQ(isr_in_irq10_master, 0x04);
	GUEST_ASSERT_EQ(isr_in_irq10_slave, 0x04);
	GUEST_ASSERT_EQ(isr_in_irq3, 0x08);
	GUEST_ASSERT_EQ(read_reg(MASTER_CMD, OCW3_READ_IRR), 0x10);
	GUEST_ASSERT_EQ(read_reg(MASTER_CMD, OCW3_READ_ISR), 0);
	GUEST_ASSERT_EQ(read_reg(SLAVE_CMD, OCW3_READ_ISR), 0);

	/* The edge IRQ4 latched while masked comes when unmasked. */
	outb(MASTER_DATA, MASTER_IMR);
	take_interrupts(&count[MASTER_BASE + 4], 1);
	GUEST_ASSERT_EQ(count[MASTER_BASE + 4], 1);
	GUEST_SYNC(2);

	/* IRQ3 is pending again: a poll takes it instead of the CPU. */
	/*
	 * KVM 6.1 answers the bare IRQ number; later KVMs (and the 8259A)
	 * also set bit 7, "interrupt pending".
	 */
	outb(MASTER_CMD, OCW3_POLL);
	poll = inb(MASTER_CMD);
	GUEST_ASSERT(poll == 3 || poll == 0x83);
	GUEST_ASSERT_EQ(read_reg(MASTER_CMD, OCW3_READ_IRR), 0);
	GUEST_ASSERT_EQ(read_reg(MASTER_CMD, OCW3_READ_ISR), 0);
	take_interrupts(&count[MASTER_BASE + 3], 2);
	GUEST_ASSERT_EQ(count[MASTER_BASE + 3], 1);
	GUEST_SYNC(3);

	/* KVM_SET_IRQCHIP changed the vector base, IMR and ELCR. */
	GUEST_ASSERT_EQ(inb(ELCR_MASTER), 0x20);
	GUEST_ASSERT_EQ(inb(ELCR_SLAVE), 0x04);
	GUEST_ASSERT_EQ(inb(MASTER_DATA), MASTER_IMR & ~0x20);
	take_interrupts(&count[NEW_MASTER_BASE + 3], 1);
	GUEST_ASSERT_EQ(count[NEW_MASTER_BASE + 3], 1);
	GUEST_ASSERT_EQ(count[MASTER_BASE + 3], 1);
	GUEST_DONE();
}

static int irq_line(struct kvm_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE_STATUS, &irq);
	return irq.status;
}

static void get_pic(struct kvm_vm *vm, int id, struct kvm_pic_state *s)
{
	struct kvm_irqchip chip = { .chip_id = id };

	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	memcpy(s, &chip.chip.pic, sizeof(*s));
}

static void set_pic(struct kvm_vm *vm, int id, const struct kvm_pic_state *s)
{
	struct kvm_irqchip chip = { .chip_id = id };

	memcpy(&chip.chip.pic, s, sizeof(*s));
	vm_ioctl(vm, KVM_SET_IRQCHIP, &chip);
}

static void check_pending(struct kvm_vm *vm)
{
	struct kvm_pic_state m, s;

	TEST_ASSERT_EQ(irq_line(vm, 3, 1), 1);
	irq_line(vm, 3, 0);
	TEST_ASSERT_EQ(irq_line(vm, 10, 1), 1);
	irq_line(vm, 10, 0);
	TEST_ASSERT_EQ(irq_line(vm, 4, 1), -1);	/* masked everywhere */
	irq_line(vm, 4, 0);

	get_pic(vm, KVM_IRQCHIP_PIC_MASTER, &m);
	get_pic(vm, KVM_IRQCHIP_PIC_SLAVE, &s);
	TEST_ASSERT_EQ(m.irr, 0x1c);
	TEST_ASSERT_EQ(m.isr, 0);
	TEST_ASSERT_EQ(m.imr, MASTER_IMR | 0x10);
	TEST_ASSERT_EQ(m.irq_base, MASTER_BASE);
	TEST_ASSERT_EQ(m.init_state, 0);
	TEST_ASSERT_EQ(m.init4, 1);
	TEST_ASSERT_EQ(m.elcr, 0);
	TEST_ASSERT_EQ(m.elcr_mask, 0xf8);
	TEST_ASSERT_EQ(s.irr, 0x04);
	TEST_ASSERT_EQ(s.imr, SLAVE_IMR);
	TEST_ASSERT_EQ(s.irq_base, SLAVE_BASE);
	TEST_ASSERT_EQ(s.elcr_mask, 0xde);
}

static void check_set_irqchip(struct kvm_vm *vm)
{
	struct kvm_pic_state m, s, got;

	get_pic(vm, KVM_IRQCHIP_PIC_MASTER, &m);
	get_pic(vm, KVM_IRQCHIP_PIC_SLAVE, &s);
	TEST_ASSERT_EQ(m.irr, 0);
	TEST_ASSERT_EQ(m.isr, 0);
	m.irq_base = NEW_MASTER_BASE;
	m.imr = MASTER_IMR & ~0x20;
	m.elcr = 0x20;
	s.elcr = 0x04;
	set_pic(vm, KVM_IRQCHIP_PIC_MASTER, &m);
	set_pic(vm, KVM_IRQCHIP_PIC_SLAVE, &s);

	get_pic(vm, KVM_IRQCHIP_PIC_MASTER, &got);
	TEST_ASSERT(!memcmp(&got, &m, sizeof(m)),
		    "master after KVM_SET_IRQCHIP: imr %#x base %#x elcr %#x",
		    got.imr, got.irq_base, got.elcr);
	get_pic(vm, KVM_IRQCHIP_PIC_SLAVE, &got);
	TEST_ASSERT(!memcmp(&got, &s, sizeof(s)),
		    "slave after KVM_SET_IRQCHIP: imr %#x base %#x elcr %#x",
		    got.imr, got.irq_base, got.elcr);

	TEST_ASSERT_EQ(irq_line(vm, 3, 1), 1);
	irq_line(vm, 3, 0);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int v;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP))
		ksft_exit_skip("KVM_CAP_IRQCHIP is not offered\n");
	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	for (v = MASTER_BASE; v < MASTER_BASE + 8; v++)
		vm_install_exception_handler(vm, v, master_handler);
	for (v = NEW_MASTER_BASE; v < NEW_MASTER_BASE + 8; v++)
		vm_install_exception_handler(vm, v, master_handler);
	vm_install_exception_handler(vm, SLAVE_BASE + 2, slave_handler);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	check_pending(vm);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	TEST_ASSERT_EQ(irq_line(vm, 3, 1), 1);
	irq_line(vm, 3, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);
	check_set_irqchip(vm);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	ksft_print_msg("8259 pair: init, IRR/ISR, cascade, EOIs, masking, poll and KVM_SET_IRQCHIP: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
