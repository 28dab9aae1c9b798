// SPDX-License-Identifier: GPL-2.0
/*
 * exit_mmio: guest accesses to a physical address outside every memslot
 * exit to userspace as KVM_EXIT_MMIO.  Check phys_addr, len, is_write and
 * data for MOV of 1/2/4/8 bytes, MOVZX/MOVSX, read-modify-write (OR, AND:
 * a read exit then a write exit), REP MOVSB/REP STOSD to MMIO, BT, and
 * CMPS (REPE CMPSB of RAM against MMIO, which stops at the first
 * difference, and CMPSW with both operands MMIO) and REPNE SCASB in MMIO;
 * the host supplies the
 * data of reads, the guest checks what it got.
 */
#include "kvm_util.h"

#define MMIO_GPA	0xc0000000ULL	/* mapped by the guest, no memslot */

static void guest_code(void)
{
	char *m = (char *)MMIO_GPA;
	uint8_t src[16], cf;
	uint64_t v, n;
	void *s, *d;
	int i;

	/* MOV writes */
	asm volatile("movb $0x12, (%0)" : : "r"(m) : "memory");
	asm volatile("movw $0x3456, 2(%0)" : : "r"(m) : "memory");
	asm volatile("movl $0x789abcde, 4(%0)" : : "r"(m) : "memory");
	asm volatile("movq %1, 8(%0)"
		     : : "r"(m), "r"(0x0123456789abcdefULL) : "memory");

	/* MOV reads: 8 and 16 bit ones keep the rest of the register */
	v = ~0ULL;
	asm volatile("movb (%1), %b0" : "+q"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffffff81ULL);
	asm volatile("movw 2(%1), %w0" : "+r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffff8002ULL);
	asm volatile("movl 4(%1), %k0" : "+r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0x80000004ULL);
	asm volatile("movq 8(%1), %0" : "=r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0x8000000000000008ULL);

	/* MOVZX, MOVSX */
	asm volatile("movzbl (%1), %k0" : "=r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0x81);
	asm volatile("movzwl 2(%1), %k0" : "=r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0x8002);
	asm volatile("movsbq (%1), %0" : "=r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffffff81ULL);
	asm volatile("movswq 2(%1), %0" : "=r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffff8002ULL);
	asm volatile("movslq 4(%1), %0" : "=r"(v) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffff80000004ULL);

	/* read-modify-write */
	asm volatile("orl $0xf0, 0x10(%0)" : : "r"(m) : "memory");
	asm volatile("andb $0x0f, 0x14(%0)" : : "r"(m) : "memory");

	/* REP MOVSB from RAM to MMIO, REP STOSD to MMIO */
	for (i = 0; i < 16; i++)
		src[i] = 0x40 + i;
	s = src;
	d = m + 0x100;
	n = 16;
	asm volatile("cld; rep movsb" : "+S"(s), "+D"(d), "+c"(n) : : "memory");
	GUEST_ASSERT_EQ(n, 0);
	d = m + 0x200;
	n = 4;
	asm volatile("cld; rep stosl"
		     : "+D"(d), "+c"(n) : "a"(0xcafef00d) : "memory");
	GUEST_ASSERT_EQ(n, 0);
	GUEST_ASSERT_EQ(d, m + 0x210);

	/* BT: bit 5 of the dword at 0x20, then bit 37 = bit 5 at 0x24 */
	asm volatile("btl $5, 0x20(%1); setc %0" : "=q"(cf) : "r"(m) : "memory");
	GUEST_ASSERT_EQ(cf, 1);
	asm volatile("btl %2, 0x20(%1); setc %0"
		     : "=q"(cf) : "r"(m), "r"(37) : "memory");
	GUEST_ASSERT_EQ(cf, 0);

	/* REPE CMPSB: RAM against MMIO at 0x300, which differs at byte 5 */
	for (i = 0; i < 8; i++)
		src[i] = 0x60 + i;
	s = src;
	d = m + 0x300;
	n = 8;
	asm volatile("cld; repe cmpsb; setz %0"
		     : "=q"(cf), "+S"(s), "+D"(d), "+c"(n) : : "memory", "cc");
	GUEST_ASSERT_EQ(cf, 0);
	GUEST_ASSERT_EQ(n, 2);
	GUEST_ASSERT_EQ(d, m + 0x306);
	/* CMPSW of MMIO at 0x400 against MMIO at 0x500: equal */
	s = m + 0x400;
	d = m + 0x500;
	asm volatile("cmpsw; setz %0" : "=q"(cf), "+S"(s), "+D"(d) : : "memory", "cc");
	GUEST_ASSERT_EQ(cf, 1);
	GUEST_ASSERT_EQ(s, m + 0x402);
	/* REPNE SCASB: find 0x42 in MMIO at 0x600, where byte 3 holds it */
	d = m + 0x600;
	n = 8;
	asm volatile("cld; repne scasb; setz %0"
		     : "=q"(cf), "+D"(d), "+c"(n) : "a"(0x42) : "memory", "cc");
	GUEST_ASSERT_EQ(cf, 1);
	GUEST_ASSERT_EQ(n, 4);
	GUEST_ASSERT_EQ(d, m + 0x604);

	GUEST_DONE();
}

/*
 * Serve MMIO reads of the page from @page until the guest exits for
 * anything else; returns how many there were.  (How many exits a string
 * instruction takes is the hypervisor's business.)
 */
static int serve_mmio_reads(struct kvm_vcpu *vcpu, const uint8_t *page)
{
	struct kvm_run *run = vcpu->run;
	int reads = 0;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason != KVM_EXIT_MMIO)
			return reads;
		TEST_ASSERT(!run->mmio.is_write &&
			    run->mmio.phys_addr >= MMIO_GPA &&
			    run->mmio.phys_addr + run->mmio.len <=
			    MMIO_GPA + PAGE_SIZE_4K,
			    "MMIO %s of %u at %#llx, expected a read",
			    run->mmio.is_write ? "write" : "read",
			    run->mmio.len,
			    (unsigned long long)run->mmio.phys_addr);
		memcpy(run->mmio.data, page + run->mmio.phys_addr - MMIO_GPA,
		       run->mmio.len);
		reads++;
	}
}

/* One MMIO exit at @off: compare written data, or supply @data to read */
static void expect_mmio(struct kvm_vcpu *vcpu, uint64_t off, uint32_t len,
			bool is_write, uint64_t data)
{
	struct kvm_run *run = vcpu->run;
	uint64_t written = 0;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT(run->mmio.phys_addr == MMIO_GPA + off &&
		    run->mmio.len == len && run->mmio.is_write == is_write,
		    "MMIO %s of %u at %#llx, expected %s of %u at %#llx",
		    run->mmio.is_write ? "write" : "read", run->mmio.len,
		    (unsigned long long)run->mmio.phys_addr,
		    is_write ? "write" : "read", len, MMIO_GPA + off);
	if (is_write) {
		memcpy(&written, run->mmio.data, len);
		TEST_ASSERT(written == data,
			    "MMIO write at %#llx: data %#lx, expected %#lx",
			    (unsigned long long)run->mmio.phys_addr,
			    (unsigned long)written, (unsigned long)data);
	} else {
		memcpy(run->mmio.data, &data, len);
	}
}

/* Writes of @size bytes in total at @off, in as many exits as KVM likes */
static void expect_mmio_writes(struct kvm_vcpu *vcpu, uint64_t off,
			       const uint8_t *expected, uint32_t size)
{
	struct kvm_run *run = vcpu->run;
	uint32_t done = 0, exits = 0;

	while (done < size) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
		TEST_ASSERT(run->mmio.is_write &&
			    run->mmio.phys_addr == MMIO_GPA + off + done &&
			    run->mmio.len >= 1 && run->mmio.len <= 8 &&
			    run->mmio.len <= size - done,
			    "MMIO %s of %u at %#llx, expected a write at %#llx",
			    run->mmio.is_write ? "write" : "read",
			    run->mmio.len,
			    (unsigned long long)run->mmio.phys_addr,
			    MMIO_GPA + off + done);
		TEST_ASSERT(!memcmp(run->mmio.data, expected + done,
				    run->mmio.len),
			    "MMIO write data differs at byte %u", done);
		done += run->mmio.len;
		exits++;
	}
	ksft_print_msg("%u bytes written to MMIO in %u exits\n", size, exits);
}

int main(void)
{
	static uint8_t page[PAGE_SIZE_4K];
	uint8_t movsb[16], stosd[16];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t hits;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);

	expect_mmio(vcpu, 0, 1, true, 0x12);
	expect_mmio(vcpu, 2, 2, true, 0x3456);
	expect_mmio(vcpu, 4, 4, true, 0x789abcde);
	expect_mmio(vcpu, 8, 8, true, 0x0123456789abcdefULL);
	ksft_print_msg("MOV writes: ok\n");
	/*
	 * kvisor's own statistic: each of those four stores faulted on its
	 * own address, which the exit named, so none of them needed a walk
	 * of the guest's page tables to find it (core/mmio.c).
	 */
	hits = vcpu_get_stat(vcpu, "emulated_gpa_from_exit");
	if (hits == ~0ULL) {
		ksft_print_msg("no emulated_gpa_from_exit statistic (not kvisor)\n");
	} else {
		TEST_ASSERT(hits == 4,
			    "%llu of 4 MOV stores found their address in the exit",
			    (unsigned long long)hits);
		ksft_print_msg("their addresses came from the exits: ok\n");
	}

	expect_mmio(vcpu, 0, 1, false, 0x81);
	expect_mmio(vcpu, 2, 2, false, 0x8002);
	expect_mmio(vcpu, 4, 4, false, 0x80000004);
	expect_mmio(vcpu, 8, 8, false, 0x8000000000000008ULL);

	expect_mmio(vcpu, 0, 1, false, 0x81);
	expect_mmio(vcpu, 2, 2, false, 0x8002);
	expect_mmio(vcpu, 0, 1, false, 0x81);
	expect_mmio(vcpu, 2, 2, false, 0x8002);
	expect_mmio(vcpu, 4, 4, false, 0x80000004);

	expect_mmio(vcpu, 0x10, 4, false, 0x12345600);
	expect_mmio(vcpu, 0x10, 4, true, 0x123456f0);
	expect_mmio(vcpu, 0x14, 1, false, 0xab);
	expect_mmio(vcpu, 0x14, 1, true, 0x0b);
	ksft_print_msg("OR, AND on MMIO: read then write: ok\n");

	for (i = 0; i < 16; i++) {
		movsb[i] = 0x40 + i;
		stosd[i] = ((const uint8_t[]){ 0x0d, 0xf0, 0xfe, 0xca })[i % 4];
	}
	expect_mmio_writes(vcpu, 0x100, movsb, 16);
	expect_mmio_writes(vcpu, 0x200, stosd, 16);

	expect_mmio(vcpu, 0x20, 4, false, 1 << 5);
	expect_mmio(vcpu, 0x24, 4, false, ~(1u << 5));

	memset(page, 0, sizeof(page));
	for (i = 0; i < 8; i++)
		page[0x300 + i] = i == 5 ? 0xff : 0x60 + i;
	page[0x400] = page[0x500] = 0x34;
	page[0x401] = page[0x501] = 0x12;
	page[0x603] = 0x42;
	i = serve_mmio_reads(vcpu, page);
	/* the guest checked the values it read before this */
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_DONE);
	ksft_print_msg("MOV, MOVZX, MOVSX, BT reads: ok\n");
	ksft_print_msg("REPE CMPSB against MMIO, CMPSW of two MMIO operands, REPNE SCASB: ok (%d reads)\n",
		       i);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
