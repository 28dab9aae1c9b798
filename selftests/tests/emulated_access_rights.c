// SPDX-License-Identifier: GPL-2.0
/*
 * emulated_access_rights: the page access rights of an operand that only
 * the hypervisor's instruction emulator translates.  MOVS from MMIO to
 * RAM exits for its read, and the write to RAM is then the emulator's,
 * through its own walk of the guest's page tables: that walk must check
 * U/S, R/W and SMAP as the CPU would, or a guest user process that can
 * reach an MMIO page could write kernel memory.
 *
 * At CPL 3 (guest_call_user()), MOVSB and REP MOVSB from an MMIO page
 * mapped as a user page:
 *  - to a supervisor page: #PF, error code 7 (P, W, U), CR2 the
 *    destination, the page unchanged;
 *  - to a read-only user page (CR0.WP clear, which does not matter at
 *    CPL 3): #PF 7 too, the page unchanged;
 *  - to a writable user page: the MMIO data arrives.
 * INS is the same case: its memory operand is written by the hypervisor
 * after the I/O exit.  At CPL 3 with IOPL 3, REP INSB and INSB:
 *  - to the supervisor page: #PF 7, the page unchanged;
 *  - to the writable user page: the port's data arrives.
 * At CPL 0 with CR4.SMAP, MOVSB from a supervisor mapping of the MMIO page
 * to a user page: #PF 3 (P, W) with RFLAGS.AC clear, the data arrives
 * after STAC.  Without SMAP in the guest's CPUID that part is not
 * checked, and the test says SKIP after the rest passed.  The host serves
 * the MMIO reads, as in exit_mmio, and checks that no write went to MMIO;
 * it serves the INs too, whether the hypervisor exits for them before the
 * fault (KVM) or not.
 */
#include "kvm_util.h"

#define MMIO_GPA	0xc0000000ULL	/* no memslot: MMIO */
#define MMIO_USER_GVA	MMIO_GPA	/* mapped as a user page ... */
#define MMIO_SUP_GVA	0xd0000000ULL	/* ... and as a supervisor page */
#define FAULTED		0xdeadfa17ULL	/* guest_call_user(): @fn faulted */
#define SUP_BYTE	0xaa		/* what the RAM pages hold before */
#define RO_BYTE		0x55
#define N		8		/* bytes REP MOVSB copies */
#define PORT		0x99		/* what INSB reads */
#define IO_BYTE		0x3c		/* and what the host answers */

/* The byte at @off of the MMIO page, as the host serves it */
static uint8_t mmio_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + 3);
}

/* Guest addresses of the test's pages, from the host */
static struct {
	uint64_t sup, ro, rw, stack;
	uint64_t smap;
} pages;

/*
 * What the #PF handler saw.  No volatile: the guest reads these only after
 * a call to guest_call_user() or an asm that clobbers memory.
 */
static uint64_t pf_count, pf_error, pf_cr2, pf_cs;
/* CPL 0 faults: the length of the faulting instruction, to skip it */
static uint64_t pf_skip;

static void pf_handler(struct ex_regs *regs)
{
	pf_count++;
	pf_error = regs->error_code;
	pf_cr2 = get_cr2();
	pf_cs = regs->cs;
	if ((regs->cs & 3) == 3)
		guest_user_abort(regs, FAULTED);
	else
		regs->rip += pf_skip;
}

/* CPL 3: returns what is left of the count (0: all copied) */
GUEST_USER static uint64_t user_rep_movsb(uint64_t dst, uint64_t src,
					  uint64_t n)
{
	asm volatile("cld; rep movsb"
		     : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return n;
}

/* CPL 3: returns the destination after the copy (@dst + 1) */
GUEST_USER static uint64_t user_movsb(uint64_t dst, uint64_t src,
				      uint64_t unused)
{
	(void)unused;
	asm volatile("cld; movsb" : "+D"(dst), "+S"(src) : : "memory");
	return dst;
}

/* CPL 3, IOPL 3: returns what is left of the count */
GUEST_USER static uint64_t user_rep_insb(uint64_t dst, uint64_t port,
					 uint64_t n)
{
	asm volatile("cld; rep insb" : "+D"(dst), "+c"(n) : "d"(port)
		     : "memory");
	return n;
}

/* CPL 3, IOPL 3: returns the destination after the IN (@dst + 1) */
GUEST_USER static uint64_t user_insb(uint64_t dst, uint64_t port,
				     uint64_t unused)
{
	(void)unused;
	asm volatile("cld; insb" : "+D"(dst) : "d"(port) : "memory");
	return dst;
}

/* @fn at CPL 3 must fault on its write to @dst, leaving @byte there */
static void user_expect_pf(guest_user_fn fn, uint64_t dst, uint64_t src,
			   uint64_t n, uint8_t byte)
{
	uint64_t r, i;

	pf_count = 0;
	r = guest_call_user((void *)(pages.stack + PAGE_SIZE_4K), fn, dst,
			    src, n);
	GUEST_ASSERT_EQ(r, FAULTED);
	GUEST_ASSERT_EQ(pf_count, 1);
	GUEST_ASSERT_EQ(pf_cs & 3, 3);
	GUEST_ASSERT_EQ(pf_error, 0x7);		/* P | W | U */
	GUEST_ASSERT_EQ(pf_cr2, dst);
	for (i = 0; i < N; i++)
		GUEST_ASSERT_EQ(((uint8_t *)dst)[i], byte);
}

/* CPL 0 with SMAP: MOVSB from MMIO to the user page, AC clear then set */
static void supervisor_smap(void)
{
	uint32_t a, b, c, d;
	uint64_t s, dst, n, i;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(7), "c"(0));
	GUEST_ASSERT(b & (1u << 20));
	set_cr4(get_cr4() | X86_CR4_SMAP);

	pf_count = 0;
	pf_skip = 2;				/* F3 A4 */
	s = MMIO_SUP_GVA + 0x40;
	dst = pages.rw + 0x40;
	n = N;
	asm volatile("cld; clac; rep movsb"
		     : "+D"(dst), "+S"(s), "+c"(n) : : "memory");
	GUEST_ASSERT_EQ(pf_count, 1);
	GUEST_ASSERT_EQ(pf_cs & 3, 0);
	GUEST_ASSERT_EQ(pf_error, 0x3);		/* P | W */
	GUEST_ASSERT_EQ(pf_cr2, pages.rw + 0x40);
	GUEST_ASSERT_EQ(n, N);			/* nothing copied */

	n = N;
	asm volatile("cld; stac; rep movsb; clac"
		     : "+D"(dst), "+S"(s), "+c"(n) : : "memory");
	GUEST_ASSERT_EQ(pf_count, 1);
	GUEST_ASSERT_EQ(n, 0);
	asm volatile("stac" : : : "memory");
	for (i = 0; i < N; i++)
		GUEST_ASSERT_EQ(((uint8_t *)pages.rw)[0x40 + i],
				mmio_byte(0x40 + i));
	asm volatile("clac" : : : "memory");
	set_cr4(get_cr4() & ~X86_CR4_SMAP);
}

static void guest_code(void)
{
	uint8_t *rw = (uint8_t *)pages.rw;
	uint64_t r, i;

	/* (a) to a supervisor page */
	user_expect_pf(user_rep_movsb, pages.sup, MMIO_USER_GVA, N, SUP_BYTE);
	user_expect_pf(user_movsb, pages.sup + 0x10, MMIO_USER_GVA + 0x10, 1,
		       SUP_BYTE);
	GUEST_SYNC(1);

	/* (b) to a read-only user page */
	user_expect_pf(user_rep_movsb, pages.ro, MMIO_USER_GVA, N, RO_BYTE);
	user_expect_pf(user_movsb, pages.ro + 0x10, MMIO_USER_GVA + 0x10, 1,
		       RO_BYTE);
	GUEST_SYNC(2);

	/* (c) to a writable user page */
	pf_count = 0;
	r = guest_call_user((void *)(pages.stack + PAGE_SIZE_4K),
			    user_rep_movsb, pages.rw, MMIO_USER_GVA, N);
	GUEST_ASSERT_EQ(r, 0);
	r = guest_call_user((void *)(pages.stack + PAGE_SIZE_4K),
			    user_movsb, pages.rw + 0x20, MMIO_USER_GVA + 0x20,
			    0);
	GUEST_ASSERT_EQ(r, pages.rw + 0x21);
	GUEST_ASSERT_EQ(pf_count, 0);
	for (i = 0; i < N; i++)
		GUEST_ASSERT_EQ(rw[i], mmio_byte(i));
	GUEST_ASSERT_EQ(rw[0x20], mmio_byte(0x20));
	GUEST_SYNC(3);

	/* (d) INS at CPL 3, IOPL 3 */
	asm volatile("pushfq; orq $0x3000, (%%rsp); popfq" : : : "cc");
	user_expect_pf(user_rep_insb, pages.sup + 0x30, PORT, N, SUP_BYTE);
	user_expect_pf(user_insb, pages.sup + 0x40, PORT, 1, SUP_BYTE);
	r = guest_call_user((void *)(pages.stack + PAGE_SIZE_4K),
			    user_rep_insb, pages.rw + 0x80, PORT, N);
	GUEST_ASSERT_EQ(r, 0);
	r = guest_call_user((void *)(pages.stack + PAGE_SIZE_4K),
			    user_insb, pages.rw + 0xa0, PORT, 0);
	GUEST_ASSERT_EQ(r, pages.rw + 0xa1);
	asm volatile("pushfq; andq $~0x3000, (%%rsp); popfq" : : : "cc");
	GUEST_ASSERT_EQ(pf_count, 1);		/* the INSB before */
	for (i = 0; i < N; i++)
		GUEST_ASSERT_EQ(rw[0x80 + i], IO_BYTE);
	GUEST_ASSERT_EQ(rw[0xa0], IO_BYTE);
	GUEST_SYNC(4);

	if (pages.smap) {
		supervisor_smap();
		GUEST_SYNC(5);
	}
	GUEST_DONE();
}

static unsigned int ins_served;

/* Answer an IN of PORT; false for any other exit */
static bool serve_in(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != PORT)
		return false;
	TEST_ASSERT(run->io.direction == KVM_EXIT_IO_IN && run->io.size == 1,
		    "port %#x: OUT or size %u", PORT, run->io.size);
	memset((uint8_t *)run + run->io.data_offset, IO_BYTE, run->io.count);
	ins_served++;
	return true;
}

/*
 * Run the guest to its next ucall, serving the MMIO reads and the INs on
 * the way.
 */
static uint64_t run_serving_mmio(struct kvm_vcpu *vcpu, struct ucall *uc,
				 unsigned int *reads)
{
	struct kvm_run *run = vcpu->run;
	uint64_t off;
	unsigned int i;

	for (;;) {
		vcpu_run(vcpu);
		if (serve_in(vcpu))
			continue;
		if (run->exit_reason != KVM_EXIT_MMIO)
			return get_ucall(vcpu, uc);
		TEST_ASSERT(!run->mmio.is_write &&
			    run->mmio.phys_addr >= MMIO_GPA &&
			    run->mmio.phys_addr + run->mmio.len <=
			    MMIO_GPA + PAGE_SIZE_4K,
			    "MMIO %s of %u at %#llx, expected a read of the MMIO page",
			    run->mmio.is_write ? "write" : "read",
			    run->mmio.len,
			    (unsigned long long)run->mmio.phys_addr);
		off = run->mmio.phys_addr - MMIO_GPA;
		for (i = 0; i < run->mmio.len; i++)
			run->mmio.data[i] = mmio_byte(off + i);
		(*reads)++;
	}
}

static void check_unchanged(struct kvm_vm *vm, uint64_t gva, uint8_t byte,
			    const char *what)
{
	const uint8_t *p = addr_gva2hva(vm, gva);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE_4K; i++)
		TEST_ASSERT(p[i] == byte, "the %s page changed at byte %u: %#x",
			    what, i, p[i]);
}

int main(void)
{
	static const char * const stage[] = {
		NULL,
		"CPL 3 MOVSB, REP MOVSB from MMIO to a supervisor page: #PF 0x7, CR2 the destination, page unchanged",
		"CPL 3 to a read-only user page: #PF 0x7, page unchanged",
		"CPL 3 to a writable user page: data arrived",
		"CPL 3 INSB, REP INSB to the supervisor page: #PF 0x7, page unchanged; to the user page: data arrived",
		"CPL 0 with SMAP to a user page: #PF 0x3 with AC clear, data arrived with AC set",
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int reads = 0;
	uint64_t cmd, want = 1;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, PF_VECTOR, pf_handler);
	virt_map(vm, MMIO_USER_GVA, MMIO_GPA, PAGE_SIZE_4K);
	virt_set_user(vm, MMIO_USER_GVA, PAGE_SIZE_4K);
	virt_map(vm, MMIO_SUP_GVA, MMIO_GPA, PAGE_SIZE_4K);

	pages.sup = vm_alloc_pages(vm, 1);
	pages.ro = vm_alloc_pages(vm, 1);
	pages.rw = vm_alloc_pages(vm, 1);
	pages.stack = vm_alloc_pages(vm, 1);
	virt_set_user(vm, pages.ro, PAGE_SIZE_4K);
	*virt_leaf_pte(vm, pages.ro) &= ~PTE_WRITABLE;
	virt_set_user(vm, pages.rw, PAGE_SIZE_4K);
	virt_set_user(vm, pages.stack, PAGE_SIZE_4K);
	memset(addr_gva2hva(vm, pages.sup), SUP_BYTE, PAGE_SIZE_4K);
	memset(addr_gva2hva(vm, pages.ro), RO_BYTE, PAGE_SIZE_4K);
	pages.smap = kvm_cpu_has(X86_FEATURE_SMAP);
	sync_global_to_guest(vm, pages);

	for (;;) {
		cmd = run_serving_mmio(vcpu, &uc, &reads);
		if (cmd == UCALL_DONE)
			break;
		TEST_ASSERT_EQ(cmd, UCALL_SYNC);
		TEST_ASSERT_EQ(uc.args[0], want);
		ksft_print_msg("%s: ok\n", stage[want++]);
	}
	check_unchanged(vm, pages.sup, SUP_BYTE, "supervisor");
	check_unchanged(vm, pages.ro, RO_BYTE, "read-only");
	ksft_print_msg("the supervisor and read-only pages are unchanged (%u MMIO reads, %u IN exits served)\n",
		       reads, ins_served);
	kvm_vm_free(vm);
	if (!pages.smap)
		ksft_exit_skip("the CPU offers no SMAP: the CPL 0 SMAP part was not checked\n");
	ksft_exit_pass();
}
