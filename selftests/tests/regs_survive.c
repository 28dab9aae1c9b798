// SPDX-License-Identifier: GPL-2.0
/*
 * regs_survive: guest registers across exits to userspace.
 *
 * The guest loads all general purpose registers but RSP with values of
 * the round and exits with OUT.  The host checks them with KVM_GET_REGS;
 * in odd rounds it writes new values (and arithmetic flags) with
 * KVM_SET_REGS.  The guest stores what it has after the exit and checks it
 * is what it loaded (even rounds) or what the host wrote (odd rounds).
 * Then the same for XMM0-15 with KVM_GET_FPU and KVM_SET_FPU.
 *
 * The paravirtualized KVM of the build machine traps every x87/SSE
 * instruction of the guest into its instruction emulator, which knows
 * MOVDQU but not e.g. PXOR or STMXCSR, and does not pass MXCSR and FCW
 * through KVM_SET_FPU: so only MOVDQU here, and only XMM registers.
 */
#include "kvm_util.h"

#define ROUNDS		500
#define FPU_ROUNDS	20
#define NR_GPRS		15		/* kvm_regs order, without RSP */
#define GPR_PORT	0xe0
#define FPU_PORT	0xe1

/* CF, PF, AF, ZF, SF, OF */
#define ARITH_FLAGS	0x8d5ULL

/* Buffers of the asm routines below, in the guest's copy of this program */
uint64_t gprs_in[NR_GPRS], gprs_out[NR_GPRS + 1];	/* + RFLAGS */
uint8_t xmm_in[16][16], xmm_out[16][16];

#define LOAD(n, reg)	"	mov gprs_in+" #n "*8, %" #reg "\n"
#define STORE(n, reg)	"	mov %" #reg ", gprs_out+" #n "*8\n"
#define XLOAD(n)	"	movdqu xmm_in+" #n "*16, %xmm" #n "\n"
#define XSTORE(n)	"	movdqu %xmm" #n ", xmm_out+" #n "*16\n"

asm(".pushsection .text\n"
"gprs_exit:\n"
"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
LOAD(1, rbx) LOAD(2, rcx) LOAD(3, rdx) LOAD(4, rsi) LOAD(5, rdi)
LOAD(6, rbp) LOAD(7, r8) LOAD(8, r9) LOAD(9, r10) LOAD(10, r11)
LOAD(11, r12) LOAD(12, r13) LOAD(13, r14) LOAD(14, r15) LOAD(0, rax)
"	outb %al, $" __stringify(GPR_PORT) "\n"
"gprs_exit_after:\n"
STORE(0, rax) STORE(1, rbx) STORE(2, rcx) STORE(3, rdx) STORE(4, rsi)
STORE(5, rdi) STORE(6, rbp) STORE(7, r8) STORE(8, r9) STORE(9, r10)
STORE(10, r11) STORE(11, r12) STORE(12, r13) STORE(13, r14) STORE(14, r15)
"	pushfq\n"
"	popq gprs_out+15*8\n"
"	cld\n"
"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
"	ret\n"
"\n"
"fpu_exit:\n"
XLOAD(0) XLOAD(1) XLOAD(2) XLOAD(3) XLOAD(4) XLOAD(5) XLOAD(6) XLOAD(7)
XLOAD(8) XLOAD(9) XLOAD(10) XLOAD(11) XLOAD(12) XLOAD(13) XLOAD(14)
XLOAD(15)
"	outb %al, $" __stringify(FPU_PORT) "\n"
XSTORE(0) XSTORE(1) XSTORE(2) XSTORE(3) XSTORE(4) XSTORE(5) XSTORE(6)
XSTORE(7) XSTORE(8) XSTORE(9) XSTORE(10) XSTORE(11) XSTORE(12) XSTORE(13)
XSTORE(14) XSTORE(15)
"	ret\n"
"	.popsection\n");

void gprs_exit(void);
void fpu_exit(void);
extern const char gprs_exit_after[];

/* The value of register @reg in @round: @host for the host's values */
static uint64_t gpr_value(uint64_t round, int reg, bool host)
{
	return (0x0101010101010101ULL * (reg + 1)) ^ (round << 20) ^
	       (host ? 0xa5a5000000000000ULL : 0);
}

static uint8_t xmm_byte(uint64_t round, int reg, int byte, bool host)
{
	return (reg * 16 + byte) ^ round ^ (host ? 0x80 : 0);
}

/*
 * No compiler generated x87/SSE code here (see above: the vectorized loops
 * would not run on the build machine), and none to clobber XMM registers.
 */
static void __attribute__((target("general-regs-only"))) guest_code(void)
{
	uint64_t round;
	int r, b;

	for (round = 0; round < ROUNDS; round++) {
		bool host_writes = round & 1;

		for (r = 0; r < NR_GPRS; r++)
			gprs_in[r] = gpr_value(round, r, false);
		gprs_exit();
		for (r = 0; r < NR_GPRS; r++)
			GUEST_ASSERT_EQ(gprs_out[r],
					gpr_value(round, r, host_writes));
		if (host_writes)
			GUEST_ASSERT_EQ(gprs_out[NR_GPRS] & ARITH_FLAGS,
					round & 2 ? ARITH_FLAGS : 0);
	}
	GUEST_SYNC(1);

	for (round = 0; round < FPU_ROUNDS; round++) {
		for (r = 0; r < 16; r++)
			for (b = 0; b < 16; b++)
				xmm_in[r][b] = xmm_byte(round, r, b, false);
		fpu_exit();
		for (r = 0; r < 16; r++)
			for (b = 0; b < 16; b++)
				GUEST_ASSERT_EQ(xmm_out[r][b],
						xmm_byte(round, r, b, true));
	}
	GUEST_DONE();
}

/* struct kvm_regs in the order of gprs_in/out */
static __u64 *gpr_field(struct kvm_regs *regs, int r)
{
	__u64 *fields[NR_GPRS] = {
		&regs->rax, &regs->rbx, &regs->rcx, &regs->rdx, &regs->rsi,
		&regs->rdi, &regs->rbp, &regs->r8, &regs->r9, &regs->r10,
		&regs->r11, &regs->r12, &regs->r13, &regs->r14, &regs->r15,
	};

	return fields[r];
}

/* Run to the OUT on @port and let KVM finish it, so RIP is past it. */
static void run_to_port(struct kvm_vcpu *vcpu, uint16_t port)
{
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	TEST_ASSERT(vcpu->run->io.port == port, "exit on port %#x, not %#x",
		    vcpu->run->io.port, port);
	vcpu_run_complete_io(vcpu);
}

static void test_gprs(struct kvm_vcpu *vcpu)
{
	struct kvm_regs regs;
	uint64_t round;
	int r;

	for (round = 0; round < ROUNDS; round++) {
		run_to_port(vcpu, GPR_PORT);
		vcpu_regs_get(vcpu, &regs);
		TEST_ASSERT_EQ(regs.rip, (uint64_t)gprs_exit_after);
		for (r = 0; r < NR_GPRS; r++)
			TEST_ASSERT(*gpr_field(&regs, r) ==
				    gpr_value(round, r, false),
				    "round %lu: register %d is %#llx, not %#lx",
				    (unsigned long)round, r,
				    *gpr_field(&regs, r),
				    (unsigned long)gpr_value(round, r, false));
		if (!(round & 1))
			continue;
		for (r = 0; r < NR_GPRS; r++)
			*gpr_field(&regs, r) = gpr_value(round, r, true);
		regs.rflags &= ~ARITH_FLAGS;
		regs.rflags |= round & 2 ? ARITH_FLAGS : 0;
		vcpu_regs_set(vcpu, &regs);
	}
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	ksft_print_msg("%d rounds of GPRs through KVM_GET/SET_REGS: ok\n",
		       ROUNDS);
}

static void test_fpu(struct kvm_vcpu *vcpu)
{
	struct kvm_fpu fpu;
	uint64_t round;
	int r, b;

	for (round = 0; round < FPU_ROUNDS; round++) {
		run_to_port(vcpu, FPU_PORT);
		vcpu_fpu_get(vcpu, &fpu);
		for (r = 0; r < 16; r++)
			for (b = 0; b < 16; b++)
				TEST_ASSERT(fpu.xmm[r][b] ==
					    xmm_byte(round, r, b, false),
					    "round %lu: XMM%d byte %d is %#x",
					    (unsigned long)round, r, b,
					    fpu.xmm[r][b]);
		for (r = 0; r < 16; r++)
			for (b = 0; b < 16; b++)
				fpu.xmm[r][b] = xmm_byte(round, r, b, true);
		vcpu_fpu_set(vcpu, &fpu);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("%d rounds of XMM0-15 through KVM_GET/SET_FPU: ok\n",
		       FPU_ROUNDS);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_DEFAULT);
	test_gprs(vcpu);
	test_fpu(vcpu);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
