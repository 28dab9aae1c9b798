// SPDX-License-Identifier: GPL-2.0
/*
 * guest_modes: run a guest in every mode the library sets up, check what
 * it computes from values the host put in its memory and what it sees of
 * its own mode:
 *  - real mode: a blob of 16-bit code copied to low memory;
 *  - 32-bit protected mode, no paging: a .code32 routine of this program;
 *  - long mode with 4K, 2M and 1G pages: a C function of this program,
 *    which also checks CR0/CR4/EFER, walks its own page tables to find the
 *    page size, and writes to memory spread over many pages;
 *  - exceptions: unhandled ones are reported with vector and RIP, in
 *    32-bit and long mode, and a handler can fix one up.
 */
#include "kvm_util.h"

static_assert(UCALL_SYNC == 1 && UCALL_DONE == 3, "update the asm guests");

/* The operands: two numbers and 16 more to add up. */
#define A	0x1234567u
#define B	0x89u
static const uint32_t words[16] = {
	1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 0x7000,
};

/* ------------------------------------------------------------------ */
/* Real mode                                                            */

#define RM_DATA	__stringify(REAL_MODE_DATA_GPA)
#define RM_UC	__stringify(REAL_MODE_UCALL_GPA)

/*
 * args[0] = a + b, args[1] = a * b (32-bit operations with the operand
 * size prefix), args[2] = 16-bit sum of the 16 words, args[3] = CR0,
 * args[4] = SP.  The ucall struct is in low memory, zeroed by the host.
 */
asm(".pushsection guest16, \"a\"\n"
"	.code16\n"
"real_mode_guest:\n"
"	movl " RM_DATA ", %eax\n"
"	addl " RM_DATA "+4, %eax\n"
"	movl %eax, " RM_UC "+8\n"
"	movl " RM_DATA ", %eax\n"
"	imull " RM_DATA "+4, %eax\n"
"	movl %eax, " RM_UC "+16\n"
"	xorw %ax, %ax\n"
"	movw $" RM_DATA "+8, %si\n"
"	movw $16, %cx\n"
"1:	addw (%si), %ax\n"
"	addw $4, %si\n"
"	loop 1b\n"
"	movw %ax, " RM_UC "+24\n"
"	movl %cr0, %eax\n"
"	movl %eax, " RM_UC "+32\n"
"	movw %sp, " RM_UC "+40\n"
"	movl $1, " RM_UC "\n"		/* UCALL_SYNC */
"	movw $" RM_UC ", %di\n"
"	movw $" __stringify(UCALL_PORT) ", %dx\n"
"	outb %al, %dx\n"
"	movl $3, " RM_UC "\n"		/* UCALL_DONE */
"	outb %al, %dx\n"
"2:	hlt\n"
"	jmp 2b\n"
"	.code64\n"
"	.popsection\n");
extern const char real_mode_guest[];

static void test_real_mode(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t *data;
	uint16_t sum = 0;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, (void *)real_mode_guest,
				     VM_MODE_REAL);
	data = addr_gpa2hva(vm, REAL_MODE_DATA_GPA);
	data[0] = A;
	data[1] = B;
	for (i = 0; i < 16; i++) {
		data[2 + i] = words[i];
		sum += words[i];
	}

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], A + B);
	TEST_ASSERT_EQ(uc.args[1], A * B);
	TEST_ASSERT_EQ(uc.args[2], sum);
	TEST_ASSERT(!(uc.args[3] & X86_CR0_PE), "CR0 %#lx: PE set in real mode",
		    (unsigned long)uc.args[3]);
	TEST_ASSERT_EQ(uc.args[4], REAL_MODE_STACK_TOP);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_print_msg("real mode: ok\n");
}

/* ------------------------------------------------------------------ */
/* 32-bit protected mode                                                */

/* Inputs and ucall of the 32-bit guest: globals of this program. */
uint32_t prot32_in[18];
struct ucall prot32_uc;

/*
 * Same sums as in real mode, with 32-bit words, plus args[5] = CS.  The
 * second entry point executes UD2 to check the 32-bit exception report.
 */
asm(".pushsection .text\n"
"	.code32\n"
"prot32_guest:\n"
"	movl prot32_in, %eax\n"
"	addl prot32_in+4, %eax\n"
"	movl %eax, prot32_uc+8\n"
"	movl prot32_in, %eax\n"
"	imull prot32_in+4, %eax\n"
"	movl %eax, prot32_uc+16\n"
"	xorl %eax, %eax\n"
"	movl $prot32_in+8, %esi\n"
"	movl $16, %ecx\n"
"1:	addl (%esi), %eax\n"
"	addl $4, %esi\n"
"	loop 1b\n"
"	movl %eax, prot32_uc+24\n"
"	movl %cr0, %eax\n"
"	movl %eax, prot32_uc+32\n"
"	movl %esp, prot32_uc+40\n"
"	mov %cs, %eax\n"
"	movl %eax, prot32_uc+48\n"
"	movl $1, prot32_uc\n"		/* UCALL_SYNC */
"	movl $prot32_uc, %edi\n"
"	movw $" __stringify(UCALL_PORT) ", %dx\n"
"	outb %al, %dx\n"
"	movl $3, prot32_uc\n"		/* UCALL_DONE */
"	outb %al, %dx\n"
"prot32_ud2:\n"
"	ud2\n"
"	.code64\n"
"	.popsection\n");
extern const char prot32_guest[], prot32_ud2[];

static void test_prot32(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t sum = 0;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, (void *)prot32_guest,
				     VM_MODE_PROT32);
	prot32_in[0] = A;
	prot32_in[1] = B;
	for (i = 0; i < 16; i++) {
		prot32_in[2 + i] = words[i] * 0x10001;
		sum += words[i] * 0x10001;
	}
	sync_global_to_guest(vm, prot32_in);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], A + B);
	TEST_ASSERT_EQ(uc.args[1], (uint32_t)(A * B));
	TEST_ASSERT_EQ(uc.args[2], sum);
	TEST_ASSERT((uc.args[3] & (X86_CR0_PE | X86_CR0_PG)) == X86_CR0_PE,
		    "CR0 %#lx: want PE, no PG", (unsigned long)uc.args[3]);
	TEST_ASSERT_EQ(uc.args[4], vcpu->stack_top);
	TEST_ASSERT_EQ(uc.args[5], KERNEL_CS);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	/* Now UD2: the 32-bit IDT stub reports it. */
	TEST_ASSERT_EQ(__vcpu_run(vcpu), 0);
	TEST_ASSERT_EQ(ucall_peek(vcpu, &uc), UCALL_UNHANDLED);
	TEST_ASSERT_EQ(uc.args[UCALL_UNHANDLED_VECTOR], UD_VECTOR);
	TEST_ASSERT_EQ(uc.args[UCALL_UNHANDLED_RIP], (uint64_t)prot32_ud2);
	kvm_vm_free(vm);
	ksft_print_msg("32-bit protected mode: ok\n");
}

/* ------------------------------------------------------------------ */
/* Long mode                                                            */

#define SPREAD_STRIDE	(0x8000 + 8)	/* a new page every time */
#define SPREAD_COUNT	64

uint64_t long_in[16];
static volatile int ud_handled;

/* The size of the page that maps @va, from our own page tables */
static uint64_t guest_page_size(uint64_t va)
{
	uint64_t *table = (uint64_t *)(get_cr3() & PTE_ADDR_MASK);
	unsigned int shift = 39;

	/* The tables are in slot 0, identity mapped: GPA == GVA. */
	for (;;) {
		uint64_t pte = table[(va >> shift) & 0x1ff];

		GUEST_ASSERT(pte & PTE_PRESENT);
		if (shift == 12 || (shift < 39 && (pte & PTE_LARGE)))
			return 1ULL << shift;
		table = (uint64_t *)(pte & PTE_ADDR_MASK);
		shift -= 9;
	}
}

static void __attribute__((noinline)) guest_ud2(void)
{
	asm volatile(".globl long_ud2\nlong_ud2: ud2");
}

extern const char long_ud2[];

static void guest_ud_handler(struct ex_regs *regs)
{
	GUEST_ASSERT_EQ(regs->vector, UD_VECTOR);
	GUEST_ASSERT_EQ(regs->rip, (uint64_t)long_ud2);
	regs->rip += 2;			/* skip the UD2 */
	ud_handled++;
}

static void guest_long(uint64_t spread, uint64_t nr_ud2)
{
	uint64_t cr0 = get_cr0(), cr4 = get_cr4(), efer = rdmsr(MSR_EFER);
	uint64_t sum = 0, prod = 1, i;

	GUEST_ASSERT((cr0 & (X86_CR0_PE | X86_CR0_PG)) ==
		     (X86_CR0_PE | X86_CR0_PG));
	GUEST_ASSERT(!(cr0 & X86_CR0_EM));
	GUEST_ASSERT(cr4 & X86_CR4_PAE);
	GUEST_ASSERT(cr4 & X86_CR4_OSFXSR);
	GUEST_ASSERT((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA));

	for (i = 0; i < ARRAY_SIZE(long_in); i++) {
		sum += long_in[i];
		prod *= long_in[i] | 1;
	}
	GUEST_SYNC2(sum, prod);

	GUEST_SYNC(guest_page_size((uint64_t)guest_long));

	for (i = 0; i < SPREAD_COUNT; i++)
		*(volatile uint64_t *)(spread + i * SPREAD_STRIDE) = ~i;

	for (i = 0; i < nr_ud2; i++)
		guest_ud2();
	GUEST_ASSERT_EQ(ud_handled, nr_ud2);
	GUEST_DONE();
}

static void test_long_mode(enum vm_guest_mode mode)
{
	uint64_t sum = 0, prod = 1, spread, i;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_long, mode);
	for (i = 0; i < ARRAY_SIZE(long_in); i++) {
		long_in[i] = (i + 1) * 0x0123456789abcdefULL;
		sum += long_in[i];
		prod *= long_in[i] | 1;
	}
	sync_global_to_guest(vm, long_in);

	/* the free memory at the end of slot 0, crossing many pages */
	spread = vm->slot0_size - SLOT0_SPARE;
	vm_install_exception_handler(vm, UD_VECTOR, guest_ud_handler);
	vcpu_args_set(vcpu, 2, spread, 3ULL);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], sum);
	TEST_ASSERT_EQ(uc.args[1], prod);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL),
		       vm_modes[mode].page_size);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	for (i = 0; i < SPREAD_COUNT; i++)
		TEST_ASSERT_EQ(*(uint64_t *)addr_gpa2hva(vm, spread +
							  i * SPREAD_STRIDE),
			       ~i);
	kvm_vm_free(vm);
	ksft_print_msg("%s: ok\n", vm_modes[mode].name);
}

/* Without a handler, UD2 comes back as UCALL_UNHANDLED. */
static void test_long_unhandled(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_ud2, VM_MODE_LONG_4K);
	TEST_ASSERT_EQ(__vcpu_run(vcpu), 0);
	TEST_ASSERT_EQ(ucall_peek(vcpu, &uc), UCALL_UNHANDLED);
	TEST_ASSERT_EQ(uc.args[UCALL_UNHANDLED_VECTOR], UD_VECTOR);
	TEST_ASSERT_EQ(uc.args[UCALL_UNHANDLED_RIP], (uint64_t)long_ud2);
	TEST_ASSERT_EQ(uc.args[UCALL_UNHANDLED_ERROR_CODE], 0);
	kvm_vm_free(vm);
	ksft_print_msg("long mode exception report: ok\n");
}

int main(void)
{
	test_real_mode();
	test_prot32();
	test_long_mode(VM_MODE_LONG_4K);
	test_long_mode(VM_MODE_LONG_2M);
	if (kvm_cpu_has(X86_FEATURE_GBPAGES))
		test_long_mode(VM_MODE_LONG_1G);
	else
		ksft_print_msg("long mode, 1G pages: not tested, no PDPE1GB in KVM's CPUID\n");
	test_long_unhandled();
	ksft_exit_pass();
}
