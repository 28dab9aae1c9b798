// SPDX-License-Identifier: GPL-2.0
/*
 * irqfd_ioeventfd: eventfds wired into the VM.
 *
 * KVM_IOEVENTFD: a guest write that matches an ioeventfd (exact address,
 * exact width unless the width is 0, the data when DATAMATCH is set)
 * signals the eventfd and does not exit to userspace; one that does not
 * match, or after the ioeventfd is deassigned, exits as usual.
 *
 * KVM_IRQFD: writing the eventfd raises the GSI: an edge IOAPIC pin by
 * KVM's default routing (also when the eventfd was signalled before
 * KVM_IRQFD), an MSI route set with KVM_SET_GSI_ROUTING, and a level pin
 * with KVM_IRQFD_FLAG_RESAMPLE, which stays asserted until the guest's
 * EOI and then signals the resamplefd.  KVM_SIGNAL_MSI too.  And the
 * errors KVM gives.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "kvm_util.h"

#define IOAPIC_GPA	0xfec00000ULL
#define APIC_GPA	0xfee00000ULL
#define APIC_SVR	0xf0
#define APIC_EOI	0xb0
#define MMIO_GPA	0xd0000000ULL	/* no memslot */

#define PORT1		0x500		/* len 1 */
#define PORT2		0x502		/* len 2 */
#define PORT0		0x504		/* len 0: any width */
#define MMIO_ANY	(MMIO_GPA)	/* len 4 */
#define MMIO_MATCH	(MMIO_GPA + 0x10)	/* len 4, datamatch */
#define MATCH		0x1234

#define EDGE_PIN	5
#define LEVEL_PIN	7
#define EDGE_VEC	0x50
#define MSI_GSI		30
#define MSI_VEC		0x60
#define SIGNAL_VEC	0x61
#define LEVEL_VEC	0x70

static volatile uint32_t counts[NUM_INTERRUPTS];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

static void apic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(APIC_GPA + reg) = val;
}

static void ioapic_route(int pin, uint8_t vec, bool level)
{
	volatile uint32_t *sel = (volatile uint32_t *)IOAPIC_GPA;
	volatile uint32_t *win = (volatile uint32_t *)(IOAPIC_GPA + 0x10);

	*sel = 0x11 + 2 * pin;
	*win = 0;			/* destination APIC ID 0 */
	*sel = 0x10 + 2 * pin;
	*win = vec | (level ? 1 << 15 : 0);
}

static void irq_handler(struct ex_regs *regs)
{
	counts[regs->vector]++;
	apic_write(APIC_EOI, 0);
}

static void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "d"(port));
}

static void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "d"(port));
}

static void mmio_write32(uint64_t gpa, uint32_t v)
{
	*(volatile uint32_t *)gpa = v;
}

/* Halt with interrupts on until @vec was taken @n times. */
static void wait_irq(int vec, uint32_t n)
{
	while (counts[vec] < n)
		asm volatile("sti; hlt; cli" ::: "memory");
}

/* Interrupts on for a while, for anything that should not come. */
static void idle_ms(uint64_t tsc_khz, uint64_t ms)
{
	uint64_t end = rdtsc() + tsc_khz * ms;

	asm volatile("sti");
	while (rdtsc() < end)
		cpu_relax();
	asm volatile("cli");
}

static void guest_code(uint64_t tsc_khz)
{
	/* ioeventfds: only the second OUTB and the last MMIO write exit */
	outb(PORT1, 1);
	outw(PORT2, 7);
	outb(PORT2, 7);			/* wrong width */
	mmio_write32(MMIO_ANY, 5);
	mmio_write32(MMIO_MATCH, MATCH);
	mmio_write32(MMIO_MATCH, MATCH + 1);	/* wrong data */
	outb(PORT0, 1);
	outl(PORT0, 2);
	GUEST_SYNC(1);
	outb(PORT1, 1);			/* deassigned: exits */
	GUEST_SYNC(2);

	outb(0x21, 0xff);		/* PIC masked */
	outb(0xa1, 0xff);
	apic_write(APIC_SVR, 0x1ff);
	ioapic_route(EDGE_PIN, EDGE_VEC, false);
	ioapic_route(LEVEL_PIN, LEVEL_VEC, true);
	GUEST_SYNC(3);			/* eventfd written, then KVM_IRQFD */
	wait_irq(EDGE_VEC, 1);
	GUEST_SYNC(4);			/* written again */
	wait_irq(EDGE_VEC, 2);
	GUEST_SYNC(5);			/* deassigned, written */
	idle_ms(tsc_khz, 20);
	GUEST_ASSERT_EQ(counts[EDGE_VEC], 2);

	GUEST_SYNC(6);			/* MSI route by irqfd; KVM_SIGNAL_MSI */
	wait_irq(MSI_VEC, 1);
	wait_irq(SIGNAL_VEC, 1);

	GUEST_SYNC(7);			/* resampling irqfd, written once */
	wait_irq(LEVEL_VEC, 1);
	idle_ms(tsc_khz, 20);		/* lowered at the EOI: no second one */
	GUEST_ASSERT_EQ(counts[LEVEL_VEC], 1);
	GUEST_SYNC(8);			/* written again */
	wait_irq(LEVEL_VEC, 2);
	idle_ms(tsc_khz, 20);
	GUEST_ASSERT_EQ(counts[LEVEL_VEC], 2);
	GUEST_ASSERT_EQ(counts[EDGE_VEC], 2);
	GUEST_ASSERT_EQ(counts[MSI_VEC], 1);
	GUEST_ASSERT_EQ(counts[SIGNAL_VEC], 1);
	GUEST_DONE();
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK);

	TEST_ASSERT(fd >= 0, "eventfd: %s", strerror(errno));
	return fd;
}

/* The eventfd's counter, consumed; 0 when it was not signalled. */
static uint64_t efd_take(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == sizeof(v))
		return v;
	TEST_ASSERT(errno == EAGAIN, "eventfd read: %s", strerror(errno));
	return 0;
}

static void efd_signal(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(fd, &one, sizeof(one)) == sizeof(one),
		    "eventfd write: %s", strerror(errno));
}

static int ioeventfd(struct kvm_vm *vm, int fd, uint64_t addr, uint32_t len,
		     uint32_t flags, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
		.flags = flags,
	};

	return __vm_ioctl(vm, KVM_IOEVENTFD, &io) ? -errno : 0;
}

static int irqfd(struct kvm_vm *vm, int fd, uint32_t gsi, uint32_t flags,
		 int resamplefd)
{
	struct kvm_irqfd args = {
		.fd = fd, .gsi = gsi, .flags = flags, .resamplefd = resamplefd,
	};

	return __vm_ioctl(vm, KVM_IRQFD, &args) ? -errno : 0;
}

static void expect_pio(struct kvm_vcpu *vcpu, uint16_t port, uint8_t size)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT(run->io.port == port && run->io.size == size &&
		    run->io.direction == KVM_EXIT_IO_OUT,
		    "OUT of %u to %#x, expected %u to %#x", run->io.size,
		    run->io.port, size, port);
}

static void test_ioeventfd(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	int e1 = new_eventfd(), e2 = new_eventfd(), e0 = new_eventfd();
	int m1 = new_eventfd(), m2 = new_eventfd();
	const uint32_t pio = KVM_IOEVENTFD_FLAG_PIO;
	const uint32_t dm = KVM_IOEVENTFD_FLAG_DATAMATCH;
	struct kvm_run *run = vcpu->run;
	uint64_t data = 0;

	TEST_ASSERT_EQ(ioeventfd(vm, e1, PORT1, 1, pio, 0), 0);
	TEST_ASSERT_EQ(ioeventfd(vm, e2, PORT2, 2, pio, 0), 0);
	TEST_ASSERT_EQ(ioeventfd(vm, e0, PORT0, 0, pio, 0), 0);
	TEST_ASSERT_EQ(ioeventfd(vm, m1, MMIO_ANY, 4, 0, 0), 0);
	TEST_ASSERT_EQ(ioeventfd(vm, m2, MMIO_MATCH, 4, dm, MATCH), 0);

	TEST_ASSERT_EQ(ioeventfd(vm, e1, PORT1, 1, pio, 0), -EEXIST);
	TEST_ASSERT_EQ(ioeventfd(vm, e2, PORT0, 1, pio, 0), -EEXIST);
	TEST_ASSERT_EQ(ioeventfd(vm, m1, MMIO_MATCH, 4, 0, 0), -EEXIST);
	TEST_ASSERT_EQ(ioeventfd(vm, e1, 0x510, 3, pio, 0), -EINVAL);
	TEST_ASSERT_EQ(ioeventfd(vm, e1, 0x510, 0, pio | dm, 0), -EINVAL);
	TEST_ASSERT_EQ(ioeventfd(vm, e1, 0x510, 1, pio | 0x100, 0), -EINVAL);

	expect_pio(vcpu, PORT2, 1);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	memcpy(&data, run->mmio.data, 4);
	TEST_ASSERT(run->mmio.phys_addr == MMIO_MATCH && run->mmio.len == 4 &&
		    run->mmio.is_write && data == MATCH + 1,
		    "MMIO %s of %u at %#llx data %#lx, expected a write of %#x at %#llx",
		    run->mmio.is_write ? "write" : "read", run->mmio.len,
		    run->mmio.phys_addr, (unsigned long)data, MATCH + 1,
		    MMIO_MATCH);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);

	TEST_ASSERT_EQ(efd_take(e1), 1);
	TEST_ASSERT_EQ(efd_take(e2), 1);
	TEST_ASSERT_EQ(efd_take(e0), 2);
	TEST_ASSERT_EQ(efd_take(m1), 1);
	TEST_ASSERT_EQ(efd_take(m2), 1);
	ksft_print_msg("ioeventfd: PIO len 1, 2, 0 and MMIO with and without datamatch: ok\n");

	/* deassign needs the very same fd, address, width and datamatch */
	TEST_ASSERT_EQ(ioeventfd(vm, e2, PORT1, 1,
				 pio | KVM_IOEVENTFD_FLAG_DEASSIGN, 0), -ENOENT);
	TEST_ASSERT_EQ(ioeventfd(vm, m2, MMIO_MATCH, 4,
				 dm | KVM_IOEVENTFD_FLAG_DEASSIGN, MATCH + 1),
		       -ENOENT);
	TEST_ASSERT_EQ(ioeventfd(vm, e1, PORT1, 1,
				 pio | KVM_IOEVENTFD_FLAG_DEASSIGN, 0), 0);
	TEST_ASSERT_EQ(ioeventfd(vm, e1, PORT1, 1,
				 pio | KVM_IOEVENTFD_FLAG_DEASSIGN, 0), -ENOENT);
	expect_pio(vcpu, PORT1, 1);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	TEST_ASSERT_EQ(efd_take(e1), 0);
	ksft_print_msg("ioeventfd: -EEXIST, -EINVAL, -ENOENT; a deassigned one exits: ok\n");
	close(e1);
	close(e2);
	close(e0);
	close(m1);
	close(m2);
}

static void set_routing(struct kvm_vm *vm)
{
	struct kvm_irq_routing *r;
	struct kvm_irq_routing_entry *e;

	r = calloc(1, sizeof(*r) + 3 * sizeof(*e));
	TEST_ASSERT(r, "out of memory");
	r->nr = 3;
	e = r->entries;
	e[0].gsi = EDGE_PIN;
	e[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	e[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e[0].u.irqchip.pin = EDGE_PIN;
	e[1].gsi = LEVEL_PIN;
	e[1].type = KVM_IRQ_ROUTING_IRQCHIP;
	e[1].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e[1].u.irqchip.pin = LEVEL_PIN;
	e[2].gsi = MSI_GSI;
	e[2].type = KVM_IRQ_ROUTING_MSI;
	e[2].u.msi.address_lo = APIC_GPA | (0 << 12);
	e[2].u.msi.data = MSI_VEC;	/* fixed, edge */
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, r);
	free(r);
}

static void test_irqfd(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	int edge = new_eventfd(), msi = new_eventfd(), level = new_eventfd();
	int resample = new_eventfd();
	struct kvm_msi m = { .address_lo = APIC_GPA, .data = SIGNAL_VEC };
	int r;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);
	TEST_ASSERT_EQ(irqfd(vm, edge, EDGE_PIN, 0x80, -1), -EINVAL);
	efd_signal(edge);		/* before KVM_IRQFD: delivered too */
	TEST_ASSERT_EQ(irqfd(vm, edge, EDGE_PIN, 0, -1), 0);
	TEST_ASSERT_EQ(irqfd(vm, edge, EDGE_PIN + 1, 0, -1), -EBUSY);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 4);
	efd_signal(edge);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 5);
	TEST_ASSERT_EQ(irqfd(vm, edge, EDGE_PIN, KVM_IRQFD_FLAG_DEASSIGN, -1),
		       0);
	efd_signal(edge);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 6);
	ksft_print_msg("irqfd on IOAPIC pin %d, signalled before and after KVM_IRQFD; none after deassign: ok\n",
		       EDGE_PIN);

	set_routing(vm);
	TEST_ASSERT_EQ(irqfd(vm, msi, MSI_GSI, 0, -1), 0);
	efd_signal(msi);
	r = __vm_ioctl(vm, KVM_SIGNAL_MSI, &m);
	TEST_ASSERT(r > 0, "KVM_SIGNAL_MSI: %d (errno %d)", r, errno);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 7);
	ksft_print_msg("irqfd on an MSI route, KVM_SIGNAL_MSI: ok\n");

	TEST_ASSERT_EQ(irqfd(vm, level, LEVEL_PIN, KVM_IRQFD_FLAG_RESAMPLE,
			     resample), 0);
	efd_signal(level);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 8);
	TEST_ASSERT(efd_take(resample) >= 1, "resamplefd not signalled at EOI");
	efd_signal(level);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	TEST_ASSERT(efd_take(resample) >= 1,
		    "resamplefd not signalled at the second EOI");
	ksft_print_msg("resampling irqfd: one interrupt per signal, resamplefd at EOI: ok\n");

	TEST_ASSERT_EQ(irqfd(vm, level, LEVEL_PIN, KVM_IRQFD_FLAG_DEASSIGN, -1),
		       0);
	TEST_ASSERT_EQ(irqfd(vm, msi, MSI_GSI, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	close(edge);
	close(msi);
	close(level);
	close(resample);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int tsc_khz, fd;

	/* no in-kernel irqchip: KVM refuses irqfds */
	vm = vm_create(VM_MODE_LONG_4K);
	fd = new_eventfd();
	TEST_ASSERT_EQ(irqfd(vm, fd, 5, 0, -1), -EINVAL);
	close(fd);
	kvm_vm_free(vm);

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	virt_map(vm, IOAPIC_GPA, IOAPIC_GPA, PAGE_SIZE_4K);
	virt_map(vm, APIC_GPA, APIC_GPA, PAGE_SIZE_4K);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);
	vm_install_exception_handler(vm, EDGE_VEC, irq_handler);
	vm_install_exception_handler(vm, MSI_VEC, irq_handler);
	vm_install_exception_handler(vm, SIGNAL_VEC, irq_handler);
	vm_install_exception_handler(vm, LEVEL_VEC, irq_handler);
	tsc_khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(tsc_khz > 0, "KVM_GET_TSC_KHZ: %d (errno %d)", tsc_khz,
		    errno);
	vcpu_args_set(vcpu, 1, (uint64_t)tsc_khz);

	alarm(120);			/* a lost interrupt would hang in HLT */
	test_ioeventfd(vm, vcpu);
	test_irqfd(vm, vcpu);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
