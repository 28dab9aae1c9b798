// SPDX-License-Identifier: GPL-2.0
/*
 * irqchip_api: the in-kernel irqchip ioctls' answers, as KVM gives them.
 * Before KVM_CREATE_IRQCHIP: the chip ioctls fail with ENXIO (GET/SET
 * IRQCHIP, IRQ_LINE) or EINVAL (routing, MSI, LAPIC state).  The irqchip
 * is created once (EEXIST), and only before the first vCPU (EINVAL; for a
 * split irqchip EEXIST, and at most 4096 IOAPIC pins).  With it, an application processor starts
 * waiting for INIT (UNINITIALIZED), KVM_INTERRUPT is refused (the PIC owns
 * INTR), and KVM_SET_GSI_ROUTING checks every entry.
 */
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_util.h"

static void expect(int r, int err, const char *what)
{
	int e = errno;

	TEST_ASSERT(err ? r == -1 && e == err : r == 0,
		    "%s: %d (%s), expected %s", what, r, r ? strerror(e) : "ok",
		    err ? strerror(err) : "success");
}

static int set_routing(struct kvm_vm *vm, const struct kvm_irq_routing_entry *e,
		       int nr, uint32_t flags)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[4];
	} rt = { .hdr = { .nr = nr, .flags = flags } };

	memcpy(rt.e, e, nr * sizeof(*e));
	return ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt);
}

#define IOAPIC_ROUTE(g, p) { .gsi = (g), .type = KVM_IRQ_ROUTING_IRQCHIP, \
	.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = (p) } }
#define PIC_ROUTE(g, c, p) { .gsi = (g), .type = KVM_IRQ_ROUTING_IRQCHIP, \
	.u.irqchip = { .irqchip = (c), .pin = (p) } }
#define MSI_ROUTE(g) { .gsi = (g), .type = KVM_IRQ_ROUTING_MSI, \
	.u.msi = { .address_lo = 0xfee00000, .data = 0x30 } }

static void check_routing(struct kvm_vm *vm)
{
	struct kvm_irq_routing_entry ok[] = {
		IOAPIC_ROUTE(0, 2), PIC_ROUTE(0, KVM_IRQCHIP_PIC_MASTER, 0),
		MSI_ROUTE(40), IOAPIC_ROUTE(5, 5),
	};
	struct kvm_irq_routing_entry bad_pin[] = {
		PIC_ROUTE(3, KVM_IRQCHIP_PIC_SLAVE, 8),
	};
	struct kvm_irq_routing_entry bad_ioapic_pin[] = { IOAPIC_ROUTE(3, 24) };
	struct kvm_irq_routing_entry bad_chip[] = { PIC_ROUTE(3, 3, 0) };
	struct kvm_irq_routing_entry twice[] = {
		IOAPIC_ROUTE(7, 7), IOAPIC_ROUTE(7, 8),
	};
	struct kvm_irq_routing_entry msi_and_chip[] = {
		MSI_ROUTE(9), IOAPIC_ROUTE(9, 9),
	};
	struct kvm_irq_routing_entry bad_gsi[] = { MSI_ROUTE(4096) };
	struct kvm_irq_routing_entry bad_type[] = { { .gsi = 1, .type = 99 } };
	struct kvm_irq_routing hdr = { .nr = 4097 };

	expect(set_routing(vm, ok, 4, 0), 0, "a valid table");
	expect(set_routing(vm, ok, 4, 1), EINVAL, "flags");
	expect(set_routing(vm, bad_pin, 1, 0), EINVAL, "PIC pin 8");
	expect(set_routing(vm, bad_ioapic_pin, 1, 0), EINVAL, "IOAPIC pin 24");
	expect(set_routing(vm, bad_chip, 1, 0), EINVAL, "irqchip 3");
	expect(set_routing(vm, twice, 2, 0), EINVAL, "a GSI twice on the IOAPIC");
	expect(set_routing(vm, msi_and_chip, 2, 0), EINVAL, "MSI and IOAPIC on one GSI");
	expect(set_routing(vm, bad_gsi, 1, 0), EINVAL, "GSI 4096");
	expect(set_routing(vm, bad_type, 1, 0), EINVAL, "route type 99");
	expect(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, &hdr), EINVAL, "4097 routes");
	expect(set_routing(vm, NULL, 0, 0), 0, "an empty table");
}

int main(void)
{
	struct kvm_irq_level line = { .irq = 4, .level = 1 };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP,
					.args = { 24 } };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	struct kvm_interrupt intr = { .irq = 0x30 };
	struct kvm_vapic_addr vapic = { .vapic_addr = 0 };
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int fd;

	if (!kvm_check_cap(KVM_CAP_IRQCHIP))
		ksft_exit_skip("no in-kernel irqchip (KVM_CAP_IRQCHIP)\n");

	/* No irqchip yet. */
	vm = vm_create(VM_MODE_LONG_4K);
	expect(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), ENXIO, "GET_IRQCHIP");
	expect(__vm_ioctl(vm, KVM_IRQ_LINE, &line), ENXIO, "IRQ_LINE");
	expect(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), EINVAL, "SIGNAL_MSI");
	expect(set_routing(vm, NULL, 0, 0), EINVAL, "SET_GSI_ROUTING");
	vcpu = vm_vcpu_add(vm, 0, NULL);
	expect(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic), EINVAL, "GET_LAPIC");
	expect(__vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &vapic), EINVAL,
	       "SET_VAPIC_ADDR");
	expect(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), EINVAL,
	       "CREATE_IRQCHIP after a vCPU");
	expect(__vm_ioctl(vm, KVM_ENABLE_CAP, &split), EEXIST,
	       "split irqchip after a vCPU");
	kvm_vm_free(vm);
	ksft_print_msg("without an irqchip: ENXIO/EINVAL as KVM: ok\n");

	/* The full irqchip. */
	vm = vm_create(VM_MODE_LONG_4K);
	expect(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), 0, "CREATE_IRQCHIP");
	expect(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), EEXIST,
	       "CREATE_IRQCHIP twice");
	expect(__vm_ioctl(vm, KVM_ENABLE_CAP, &split), EEXIST,
	       "split irqchip after CREATE_IRQCHIP");
	expect(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), 0, "GET_IRQCHIP");
	TEST_ASSERT_EQ(chip.chip.ioapic.base_address, 0xfec00000);
	chip.chip_id = 3;
	expect(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), EINVAL, "chip 3");
	expect(__vm_ioctl(vm, KVM_IRQ_LINE, &line), 0, "IRQ_LINE");
	line.level = 0;
	expect(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, &line), 0, "IRQ_LINE_STATUS");
	msi.flags = 2;
	expect(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), EINVAL, "SIGNAL_MSI flags");
	/* No vCPU to take it: KVM's -1 reads as EPERM. */
	msi.flags = 0;
	expect(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), EPERM,
	       "SIGNAL_MSI with no LAPIC to take it");
	check_routing(vm);

	vcpu = vm_vcpu_add(vm, 0, NULL);
	expect(__vcpu_ioctl(vcpu, KVM_INTERRUPT, &intr), ENXIO,
	       "KVM_INTERRUPT with the in-kernel PIC");
	expect(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic), 0, "GET_LAPIC");
	/* QEMU clears the vAPIC page at every reset. */
	expect(__vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &vapic), 0,
	       "SET_VAPIC_ADDR 0");
	/* Not through vm_vcpu_add(), which makes every vCPU runnable. */
	fd = __vm_ioctl(vm, KVM_CREATE_VCPU, (void *)1UL);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VCPU 1: %s", strerror(errno));
	TEST_ASSERT(!ioctl(fd, KVM_GET_MP_STATE, &mp), "GET_MP_STATE");
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	mp.mp_state = KVM_MP_STATE_HALTED;
	expect(ioctl(fd, KVM_SET_MP_STATE, &mp), 0, "SET_MP_STATE HALTED");
	close(fd);
	kvm_vm_free(vm);
	ksft_print_msg("CREATE_IRQCHIP, routing checks, AP UNINITIALIZED: ok\n");

	/* The split irqchip: the LAPIC only. */
	if (kvm_check_cap(KVM_CAP_SPLIT_IRQCHIP)) {
		vm = vm_create(VM_MODE_LONG_4K);
		split.flags = 1;
		expect(__vm_ioctl(vm, KVM_ENABLE_CAP, &split), EINVAL,
		       "split irqchip with flags");
		split.flags = 0;
		split.args[0] = 4097;
		expect(__vm_ioctl(vm, KVM_ENABLE_CAP, &split), EINVAL,
		       "split irqchip with 4097 IOAPIC pins");
		split.args[0] = 24;
		expect(__vm_ioctl(vm, KVM_ENABLE_CAP, &split), 0, "split irqchip");
		expect(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), EEXIST,
		       "CREATE_IRQCHIP after split");
		expect(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), ENXIO,
		       "GET_IRQCHIP with a split irqchip");
		vcpu = vm_vcpu_add(vm, 0, NULL);
		expect(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic), 0, "GET_LAPIC");
		expect(__vcpu_ioctl(vcpu, KVM_INTERRUPT, &intr), 0,
		       "KVM_INTERRUPT with a split irqchip");
		kvm_vm_free(vm);
		ksft_print_msg("split irqchip: ok\n");
	}
	ksft_exit_pass();
}
