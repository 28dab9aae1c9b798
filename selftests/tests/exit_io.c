// SPDX-License-Identifier: GPL-2.0
/*
 * exit_io: port I/O the kernel does not handle exits to userspace as
 * KVM_EXIT_IO.  Check run->io (direction, size, port, count, data_offset)
 * for IN and OUT of 1, 2 and 4 bytes and for the string instructions with
 * REP, and that data the host writes for IN reaches guest registers and
 * memory.
 *
 * String I/O may come in several exits: KVM emulates REP OUTS one element
 * per exit and REP INS up to the end of the guest page, so the host
 * accepts any split of the elements over exits with count >= 1.
 */
#include "kvm_util.h"

static uint8_t page_pair[2 * 4096] __attribute__((aligned(4096)));

static void guest_code(void)
{
	uint8_t out8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint32_t out32[3] = { 0x11111111, 0x22222222, 0x33333333 };
	uint8_t in8[8] = { 0 };
	uint16_t *in16 = (uint16_t *)(page_pair + 4096 - 4);
	uint64_t rax, n, i;
	void *p;

	/* OUT: immediate and DX port, 1/2/4 bytes */
	asm volatile("outb %%al, $0x80" : : "a"(0xab));
	asm volatile("outw %%ax, %%dx" : : "a"(0xbeef), "d"(0x82));
	asm volatile("outl %%eax, %%dx" : : "a"(0xdeadbeef), "d"(0x84));

	/* IN: only AL/AX are written, IN to EAX clears bits 63:32 */
	rax = 0x1122334455667788ULL;
	asm volatile("inb $0x90, %%al" : "+a"(rax));
	GUEST_ASSERT_EQ(rax, 0x112233445566775aULL);
	rax = 0x1122334455667788ULL;
	asm volatile("inw %%dx, %%ax" : "+a"(rax) : "d"(0x92));
	GUEST_ASSERT_EQ(rax, 0x1122334455661234ULL);
	rax = ~0ULL;
	asm volatile("inl %%dx, %%eax" : "+a"(rax) : "d"(0x94));
	GUEST_ASSERT_EQ(rax, 0x89abcdefULL);

	/* REP OUTSB, 8 bytes */
	p = out8;
	n = 8;
	asm volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(0xa0) : "memory");
	GUEST_ASSERT_EQ(n, 0);
	GUEST_ASSERT_EQ(p, out8 + 8);

	/* REP INSB, 8 bytes */
	p = in8;
	n = 8;
	asm volatile("cld; rep insb" : "+D"(p), "+c"(n) : "d"(0xa1) : "memory");
	GUEST_ASSERT_EQ(n, 0);
	GUEST_ASSERT_EQ(p, in8 + 8);
	for (i = 0; i < 8; i++)
		GUEST_ASSERT_EQ(in8[i], 0xc0 + i);

	/* REP INSW, 5 words across a page boundary */
	p = in16;
	n = 5;
	asm volatile("cld; rep insw" : "+D"(p), "+c"(n) : "d"(0xa2) : "memory");
	GUEST_ASSERT_EQ(n, 0);
	for (i = 0; i < 5; i++)
		GUEST_ASSERT_EQ(in16[i], 0x1000 * (i + 1) + i);

	/* REP OUTSL, 3 dwords */
	p = out32;
	n = 3;
	asm volatile("cld; rep outsl" : "+S"(p), "+c"(n) : "d"(0xa4) : "memory");
	GUEST_ASSERT_EQ(n, 0);

	GUEST_DONE();
}

/*
 * Expect @nr elements of @size bytes of port I/O to @port in one or more
 * exits.  OUT: compare with @buf; IN: supply them from @buf.
 */
static void expect_io(struct kvm_vcpu *vcpu, uint8_t direction, uint8_t size,
		      uint16_t port, uint32_t nr, void *buf)
{
	struct kvm_run *run = vcpu->run;
	uint32_t done = 0, exits = 0;

	while (done < nr) {
		uint8_t *data;

		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		TEST_ASSERT(run->io.port == port && run->io.direction == direction &&
			    run->io.size == size,
			    "io: port %#x dir %u size %u, expected %#x %u %u",
			    run->io.port, run->io.direction, run->io.size,
			    port, direction, size);
		TEST_ASSERT(run->io.count >= 1 && run->io.count <= nr - done,
			    "io count %u, %u of %u elements left",
			    run->io.count, nr - done, nr);
		TEST_ASSERT(run->io.data_offset >= sizeof(*run) &&
			    run->io.data_offset + run->io.count * size <=
			    vcpu->run_size,
			    "io data_offset %#llx is not in the kvm_run mapping",
			    (unsigned long long)run->io.data_offset);

		data = (uint8_t *)run + run->io.data_offset;
		if (direction == KVM_EXIT_IO_OUT)
			TEST_ASSERT(!memcmp(data, (uint8_t *)buf + done * size,
					    run->io.count * size),
				    "OUT data to port %#x differs at element %u",
				    port, done);
		else
			memcpy(data, (uint8_t *)buf + done * size,
			       run->io.count * size);
		done += run->io.count;
		exits++;
	}
	if (nr > 1)
		ksft_print_msg("%s %u x %u bytes on port %#x: %u exit(s)\n",
			       direction == KVM_EXIT_IO_OUT ? "OUT" : "IN",
			       nr, size, port, exits);
}

int main(void)
{
	uint8_t out8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint32_t out32[3] = { 0x11111111, 0x22222222, 0x33333333 };
	uint8_t b = 0xab, in8[8];
	uint16_t w = 0xbeef, in16[5];
	uint32_t l = 0xdeadbeef;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_DEFAULT);

	expect_io(vcpu, KVM_EXIT_IO_OUT, 1, 0x80, 1, &b);
	expect_io(vcpu, KVM_EXIT_IO_OUT, 2, 0x82, 1, &w);
	expect_io(vcpu, KVM_EXIT_IO_OUT, 4, 0x84, 1, &l);
	ksft_print_msg("OUT of 1, 2, 4 bytes: ok\n");

	b = 0x5a;
	w = 0x1234;
	l = 0x89abcdef;
	expect_io(vcpu, KVM_EXIT_IO_IN, 1, 0x90, 1, &b);
	expect_io(vcpu, KVM_EXIT_IO_IN, 2, 0x92, 1, &w);
	expect_io(vcpu, KVM_EXIT_IO_IN, 4, 0x94, 1, &l);

	expect_io(vcpu, KVM_EXIT_IO_OUT, 1, 0xa0, 8, out8);
	for (i = 0; i < 8; i++)
		in8[i] = 0xc0 + i;
	expect_io(vcpu, KVM_EXIT_IO_IN, 1, 0xa1, 8, in8);
	for (i = 0; i < 5; i++)
		in16[i] = 0x1000 * (i + 1) + i;
	expect_io(vcpu, KVM_EXIT_IO_IN, 2, 0xa2, 5, in16);
	expect_io(vcpu, KVM_EXIT_IO_OUT, 4, 0xa4, 3, out32);

	/* The guest checks what it got and says so before GUEST_DONE. */
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("IN of 1, 2, 4 bytes and string I/O: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
