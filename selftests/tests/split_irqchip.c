// SPDX-License-Identifier: GPL-2.0
/*
 * split_irqchip: KVM_CAP_SPLIT_IRQCHIP, as QEMU's kernel_irqchip=split
 * uses it: the LAPICs are in the kernel, the IOAPIC and PIC in userspace.
 * Userspace's IOAPIC sends MSIs through routes; when the guest EOIs a
 * level-triggered vector of a route on one of the IOAPIC's GSIs (below
 * the pin count given to KVM_ENABLE_CAP), KVM_RUN stops with
 * KVM_EXIT_IOAPIC_EOI so userspace can clear its Remote IRR.  Other
 * vectors EOI silently.  Userspace's PIC reaches LINT0 with KVM_INTERRUPT,
 * one vector at a time (EEXIST while one waits).
 */
#include <sys/ioctl.h>

#include "apic.h"
#include "kvm_util.h"

#define IOAPIC_PINS	24
#define VEC_LEVEL	0x45	/* GSI 5: an IOAPIC pin, level */
#define VEC_OTHER	0x46	/* GSI 30: above the pins, level */
#define VEC_EXTINT	0x33	/* userspace's PIC */

static volatile int hits[256];

static void handler(struct ex_regs *regs)
{
	hits[regs->vector]++;
	if (regs->vector != VEC_EXTINT)
		xapic_write(APIC_EOI, 0);
}

static void guest_code(void)
{
	xapic_enable();
	GUEST_SYNC(0);
	asm volatile("sti; nop; cli");
	GUEST_ASSERT_EQ(hits[VEC_LEVEL], 1);
	GUEST_SYNC(1);
	asm volatile("sti; nop; cli");
	GUEST_ASSERT_EQ(hits[VEC_OTHER], 1);
	GUEST_SYNC(2);
	asm volatile("sti; nop; cli");
	GUEST_ASSERT_EQ(hits[VEC_EXTINT], 1);
	GUEST_DONE();
}

static void route_msis(struct kvm_vm *vm)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[2];
	} rt = {
		.hdr = { .nr = 2 },
		.e = {
			{ .gsi = 5, .type = KVM_IRQ_ROUTING_MSI,
			  .u.msi = { .address_lo = XAPIC_BASE,
				     .data = 0xc000 | VEC_LEVEL } },
			{ .gsi = 30, .type = KVM_IRQ_ROUTING_MSI,
			  .u.msi = { .address_lo = XAPIC_BASE,
				     .data = 0xc000 | VEC_OTHER } },
		},
	};

	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt),
		    "KVM_SET_GSI_ROUTING: %s", strerror(errno));
}

static void irq_line(struct kvm_vm *vm, uint32_t gsi, uint32_t level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE, &l);
}

int main(void)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP,
				      .args = { IOAPIC_PINS } };
	struct kvm_interrupt intr = { .irq = VEC_EXTINT };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int v;

	if (!kvm_check_cap(KVM_CAP_SPLIT_IRQCHIP))
		ksft_exit_skip("KVM_CAP_SPLIT_IRQCHIP is not offered\n");
	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	apic_map(vm);
	for (v = 0x30; v < 0x50; v++)
		vm_install_exception_handler(vm, v, handler);
	route_msis(vm);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	irq_line(vm, 5, 1);
	irq_line(vm, 5, 0);
	TEST_ASSERT_EQ(__vcpu_run(vcpu), 0);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IOAPIC_EOI);
	TEST_ASSERT_EQ(vcpu->run->eoi.vector, VEC_LEVEL);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	ksft_print_msg("level MSI route on an IOAPIC GSI: KVM_EXIT_IOAPIC_EOI %#x: ok\n",
		       VEC_LEVEL);

	irq_line(vm, 30, 1);
	irq_line(vm, 30, 0);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	ksft_print_msg("level MSI route above the IOAPIC's GSIs: no exit: ok\n");

	vcpu_ioctl(vcpu, KVM_INTERRUPT, &intr);
	TEST_ASSERT(ioctl(vcpu->fd, KVM_INTERRUPT, &intr) == -1 &&
		    errno == EEXIST, "a second KVM_INTERRUPT: %s",
		    strerror(errno));
	vcpu_run_ucall(vcpu, UCALL_DONE, &uc);
	ksft_print_msg("KVM_INTERRUPT through LINT0 (ExtINT), EEXIST while pending: ok\n");

	kvm_vm_free(vm);
	ksft_exit_pass();
}
