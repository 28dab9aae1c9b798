// SPDX-License-Identifier: GPL-2.0
/*
 * pit_irq: the in-kernel 8254 (KVM_CREATE_PIT2) drives IRQ0.  KVM's
 * default routing sends GSI 0 to IOAPIC pin 0, which the guest points at
 * a vector; channel 0 in mode 2 at ~1 kHz must not deliver more ticks
 * than time allows.  The guest reads the counter back with the latch and
 * read-back commands; the host checks KVM_GET_PIT2 and reprograms the
 * period with KVM_SET_PIT2, which the guest then sees.  A second VM,
 * created with KVM_PIT_SPEAKER_DUMMY, checks channel 2's gate and OUT
 * through port 0x61; without that flag port 0x61 goes to userspace.
 *
 * Test hosts may be fully emulated: ticks may come late or be lost,
 * never early, so only a lower bound on the time is checked.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kvm_util.h"

#define IOAPIC_GPA	0xfec00000ULL
#define APIC_GPA	0xfee00000ULL
#define APIC_SVR	0xf0
#define APIC_EOI	0xb0
#define PIT_VEC		0x40
#define COUNT1		1193		/* ~1 kHz */
#define COUNT2		2386		/* ~500 Hz, set by the host */
#define NTICKS		20
#define NTICKS2		10

static volatile uint32_t ticks;

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

static void ioapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)IOAPIC_GPA = reg;
	*(volatile uint32_t *)(IOAPIC_GPA + 0x10) = val;
}

static void pit_handler(struct ex_regs *regs)
{
	(void)regs;
	ticks++;
	apic_write(APIC_EOI, 0);
}

/* Wait for @n ticks after @t0; the time they took, in TSC cycles. */
static uint64_t wait_ticks(uint32_t n, uint64_t t0)
{
	while (ticks < n)
		asm volatile("sti; hlt; cli" ::: "memory");
	return rdtsc() - t0;
}

static void delay_us(uint64_t tsc_khz, uint64_t us)
{
	uint64_t end = rdtsc() + tsc_khz * us / 1000;

	while (rdtsc() < end)
		cpu_relax();
}

static uint16_t latch_read(void)
{
	uint16_t v;

	outb(0x43, 0x00);		/* counter latch, channel 0 */
	v = inb(0x40);
	return v | inb(0x40) << 8;
}

static void guest_irq(uint64_t tsc_khz)
{
	uint64_t t0, cycles, period = tsc_khz * COUNT1 / 1193;	/* ~1 ms */
	uint16_t v[4];
	uint8_t status;
	int i, diff = 0;

	outb(0x21, 0xff);		/* PIC masked: IRQ0 via the IOAPIC */
	outb(0xa1, 0xff);
	apic_write(APIC_SVR, 0x1ff);
	ioapic_write(0x11, 0);		/* destination APIC ID 0 */
	ioapic_write(0x10, PIT_VEC);	/* fixed, edge, unmasked */

	outb(0x43, 0x34);		/* channel 0, lo/hi, mode 2, binary */
	outb(0x40, COUNT1 & 0xff);
	t0 = rdtsc();
	outb(0x40, COUNT1 >> 8);
	cycles = wait_ticks(NTICKS, t0);
	/* no earlier than NTICKS periods, with a quarter for clock skew */
	GUEST_ASSERT(cycles >= NTICKS * period * 3 / 4);

	for (i = 0; i < 4; i++) {
		v[i] = latch_read();
		GUEST_ASSERT(v[i] >= 1 && v[i] <= COUNT1);
		if (i && v[i] != v[i - 1])
			diff++;
		delay_us(tsc_khz, 130);
	}
	GUEST_ASSERT(diff);

	outb(0x43, 0xc2);		/* read-back: count and status, ch 0 */
	status = inb(0x40);
	GUEST_ASSERT_EQ(status & 0x3f, 0x34);
	v[0] = inb(0x40);
	v[0] |= inb(0x40) << 8;
	GUEST_ASSERT(v[0] >= 1 && v[0] <= COUNT1);

	GUEST_SYNC(1);			/* the host sets COUNT2 */
	ticks = 0;
	t0 = rdtsc();
	/*
	 * One tick may wait in IRR from before, and ticks that expired
	 * while the host was still busy since KVM_SET_PIT2 may come late:
	 * allow three.  At the old 1 kHz the check below would fail.
	 */
	cycles = wait_ticks(NTICKS2 + 3, t0);
	GUEST_ASSERT(cycles >= NTICKS2 * (period * 2) * 3 / 4);
	GUEST_SYNC(2);
	(void)inb(0x61);		/* no speaker device: userspace */
	GUEST_DONE();
}

/* Channel 2 and port 0x61 (KVM_PIT_SPEAKER_DUMMY). */
static void guest_speaker(uint64_t tsc_khz)
{
	outb(0x61, 0x01);		/* gate on, speaker data off */
	GUEST_ASSERT_EQ(inb(0x61) & 0x03, 0x01);
	outb(0x61, 0x03);
	GUEST_ASSERT_EQ(inb(0x61) & 0x03, 0x03);

	/* mode 0, count 0 (65536, 55 ms): OUT low, then high */
	outb(0x43, 0xb0);
	outb(0x42, 0);
	outb(0x42, 0);
	GUEST_ASSERT_EQ(inb(0x61) & 0x20, 0);
	delay_us(tsc_khz, 100000);
	GUEST_ASSERT_EQ(inb(0x61) & 0x20, 0x20);

	/* mode 1: OUT high while counting; a gate edge restarts it */
	outb(0x43, 0xb2);
	outb(0x42, 0);
	outb(0x42, 0);
	delay_us(tsc_khz, 100000);
	GUEST_ASSERT_EQ(inb(0x61) & 0x20, 0);
	outb(0x61, 0x00);
	GUEST_ASSERT_EQ(inb(0x61) & 0x01, 0);
	outb(0x61, 0x01);
	GUEST_ASSERT_EQ(inb(0x61) & 0x20, 0x20);
	GUEST_DONE();
}

static void create_irqchip(struct kvm_vm *vm)
{
	vm_create_irqchip(vm);
}

static struct kvm_vm *pit_vm(struct kvm_vcpu **vcpu, void *guest,
			     uint32_t flags)
{
	struct kvm_pit_config cfg = { .flags = flags };
	struct kvm_vm *vm = vm_create(VM_MODE_LONG_4K);
	int tsc_khz;

	create_irqchip(vm);
	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	*vcpu = vm_vcpu_add(vm, 0, guest);
	virt_map(vm, IOAPIC_GPA, IOAPIC_GPA, PAGE_SIZE_4K);
	virt_map(vm, APIC_GPA, APIC_GPA, PAGE_SIZE_4K);
	vm_install_exception_handler(vm, PIT_VEC, pit_handler);
	tsc_khz = ioctl((*vcpu)->fd, KVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(tsc_khz > 0, "KVM_GET_TSC_KHZ: %d (errno %d)", tsc_khz,
		    errno);
	vcpu_args_set(*vcpu, 1, (uint64_t)tsc_khz);
	return vm;
}

static void check_pit2(struct kvm_vm *vm, uint32_t count)
{
	struct kvm_pit_state2 ps;

	memset(&ps, 0xaa, sizeof(ps));
	vm_ioctl(vm, KVM_GET_PIT2, &ps);
	TEST_ASSERT_EQ(ps.channels[0].mode, 2);
	TEST_ASSERT_EQ(ps.channels[0].rw_mode, 3);
	TEST_ASSERT_EQ(ps.channels[0].count, count);
	TEST_ASSERT_EQ(ps.channels[0].gate, 1);
	TEST_ASSERT_EQ(ps.channels[2].gate, 0);
	TEST_ASSERT_EQ(ps.flags & KVM_PIT_FLAGS_HPET_LEGACY, 0);
}

static void test_irq(void)
{
	struct kvm_pit_state2 ps;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_run *run;

	vm = pit_vm(&vcpu, guest_irq, 0);
	run = vcpu->run;
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	check_pit2(vm, COUNT1);
	vm_ioctl(vm, KVM_GET_PIT2, &ps);
	ps.channels[0].count = COUNT2;
	vm_ioctl(vm, KVM_SET_PIT2, &ps);
	check_pit2(vm, COUNT2);
	ksft_print_msg("%d IRQ0 ticks at 1 kHz, latch and read-back, KVM_GET/SET_PIT2: ok\n",
		       NTICKS);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT(run->io.port == 0x61 && run->io.direction == KVM_EXIT_IO_IN,
		    "port %#x direction %u, expected an IN from 0x61",
		    run->io.port, run->io.direction);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("ticks at the period KVM_SET_PIT2 gave; port 0x61 without KVM_PIT_SPEAKER_DUMMY exits: ok\n");
	kvm_vm_free(vm);
}

static void test_speaker(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = pit_vm(&vcpu, guest_speaker, KVM_PIT_SPEAKER_DUMMY);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("port 0x61: channel 2 gate, speaker data and OUT: ok\n");
	kvm_vm_free(vm);
}

int main(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG_4K);
	struct kvm_pit_config cfg = { .flags = 0 };

	/* a second PIT is refused */
	create_irqchip(vm);
	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	TEST_ASSERT(__vm_ioctl(vm, KVM_CREATE_PIT2, &cfg) == -1 &&
		    errno == EEXIST, "second KVM_CREATE_PIT2: errno %d", errno);
	kvm_vm_free(vm);

	alarm(120);			/* a lost IRQ0 would hang in HLT */
	test_irq();
	test_speaker();
	ksft_exit_pass();
}
