// SPDX-License-Identifier: GPL-2.0
/*
 * singlestep_emulated: single-stepping over the instructions a hypervisor
 * may complete in an exit handler instead of letting the CPU run them.
 *
 * An instruction that exits never reaches the point where the CPU would
 * raise its single-step trap: the hypervisor that completes it (moves RIP
 * past it) owes the trap.  Which instructions exit depends on the backend
 * and its intercepts, so every instruction is checked on every host:
 *
 *   instruction            kvisor VMX              kvisor SVM
 *   INVD                   exits                   exits
 *   WBINVD                 exits (WBINVD exiting)  exits
 *   MOV to CR0, same value no exit (shadow agrees) no exit (no CR intercepts)
 *   MOV to CR0, NE toggled exits (NE is owned)     no exit
 *   MOV to CR4, same value no exit                 no exit
 *   MOV from/to CR8        exits (CR8 exiting)     no exit (V_TPR)
 *   MOV to CR3, same value no exit (with EPT)      no exit
 *   LMSW, same value       no exit                 no exit
 *   CPUID                  exits                   exits
 *   OUT to a test port     exits to userspace      exits to userspace
 *
 * The guest's own single-stepping: with RFLAGS.TF set (POPF) and a #DB
 * handler in its IDT, it executes each instruction followed by a NOP.
 * The handler records the RIP and DR6 of each trap and clears TF at the
 * end; the guest reports them by ucall, and the host checks that the
 * instruction produced exactly one #DB, with DR6.BS, at the NOP right
 * after it, and the NOP one more after itself.
 *
 * Userspace single-stepping (KVM_SET_GUEST_DEBUG with
 * KVM_GUESTDBG_SINGLESTEP): each KVM_RUN returns KVM_EXIT_DEBUG with DR6.BS
 * and the RIP right after the next instruction, over the same
 * instructions in a row.
 */
#include "kvm_util.h"

#define X86_TF		(1ULL << 8)
#define DR6_BS		(1ULL << 14)
#define DR6_IDLE	0xffff0ff0ULL
#define TEST_PORT	0x1100
#define MAX_TRAPS	4

/*
 * One guest function per instruction: set up its operands, set TF with
 * POPF (the trap comes after the instruction that follows), then the
 * instruction, a NOP, and the end, where the #DB handler clears TF.
 */
#define STEP_FN(name, before, insn, after)				\
asm(".pushsection .text\n"						\
"	.balign 16\n"							\
#name ":\n"								\
	before								\
"	pushfq\n"							\
"	orq $0x100, (%rsp)\n"						\
"	popfq\n"							\
#name "_insn:\n"							\
"	" insn "\n"							\
#name "_nop:\n"								\
"	nop\n"								\
#name "_end:\n"								\
	after								\
"	ret\n"								\
"	.popsection\n");						\
extern const char name[], name##_insn[], name##_nop[], name##_end[]

STEP_FN(step_invd, "", "invd", "");
STEP_FN(step_wbinvd, "", "wbinvd", "");
STEP_FN(step_cr0, "	mov %cr0, %rax\n", "mov %rax, %cr0", "");
/* CR0.NE is one of the bits VMX owns: these two exit on VMX. */
STEP_FN(step_cr0_clear_ne, "	mov %cr0, %rax\n	btr $5, %rax\n",
	"mov %rax, %cr0", "");
STEP_FN(step_cr0_set_ne, "	mov %cr0, %rax\n	bts $5, %rax\n",
	"mov %rax, %cr0", "");
STEP_FN(step_cr4, "	mov %cr4, %rax\n", "mov %rax, %cr4", "");
STEP_FN(step_cr8_read, "", "mov %cr8, %rax", "");
STEP_FN(step_cr8_write, "	mov %cr8, %rax\n", "mov %rax, %cr8", "");
STEP_FN(step_cr3, "	mov %cr3, %rax\n", "mov %rax, %cr3", "");
STEP_FN(step_lmsw, "	smsw %ax\n", "lmsw %ax", "");
STEP_FN(step_cpuid, "	push %rbx\n	xor %eax, %eax\n	xor %ecx, %ecx\n",
	"cpuid", "	pop %rbx\n");
STEP_FN(step_out, "	mov $" __stringify(TEST_PORT) ", %edx\n	mov $1, %eax\n",
	"outb %al, %dx", "");

struct step_case {
	const char *name;
	void (*fn)(void);
	uint64_t insn, nop, end;
};

#define STEP_CASE(n, what)						\
	{ what, (void (*)(void))n, (uint64_t)n##_insn, (uint64_t)n##_nop, \
	  (uint64_t)n##_end }

static const struct step_case cases[] = {
	STEP_CASE(step_invd, "INVD"),
	STEP_CASE(step_wbinvd, "WBINVD"),
	STEP_CASE(step_cr0, "MOV to CR0 (same value)"),
	STEP_CASE(step_cr0_clear_ne, "MOV to CR0 (clear NE)"),
	STEP_CASE(step_cr0_set_ne, "MOV to CR0 (set NE)"),
	STEP_CASE(step_cr4, "MOV to CR4 (same value)"),
	STEP_CASE(step_cr8_read, "MOV from CR8"),
	STEP_CASE(step_cr8_write, "MOV to CR8 (same value)"),
	STEP_CASE(step_cr3, "MOV to CR3 (same value)"),
	STEP_CASE(step_lmsw, "LMSW (same value)"),
	STEP_CASE(step_cpuid, "CPUID"),
	STEP_CASE(step_out, "OUT to a test port"),
};

/*
 * Userspace single-stepping: the first OUT exits to the host, which then
 * switches single-stepping on; every instruction after it is one step.
 * The operands are ready before, so each step is one instruction under
 * test.  OUT comes last but CPUID, which overwrites AL and DX.
 */
asm(".pushsection .text\n"
"	.balign 16\n"
"host_steps:\n"
"	push %rbx\n"
"	mov $" __stringify(TEST_PORT) ", %edx\n"
"	mov $2, %eax\n"
"	mov %cr0, %r8\n"
"	mov %r8, %r9\n"
"	btr $5, %r9\n"
"	mov %cr3, %r10\n"
"	mov %cr4, %r11\n"
"	mov %cr8, %rsi\n"
"	smsw %di\n"
"	outb %al, %dx\n"
"hs_invd:	invd\n"
"hs_wbinvd:	wbinvd\n"
"hs_cr0:	mov %r8, %cr0\n"
"hs_cr0_clear_ne: mov %r9, %cr0\n"
"hs_cr0_set_ne:	mov %r8, %cr0\n"
"hs_cr4:	mov %r11, %cr4\n"
"hs_cr8_write:	mov %rsi, %cr8\n"
"hs_cr8_read:	mov %cr8, %rsi\n"
"hs_cr3:	mov %r10, %cr3\n"
"hs_lmsw:	lmsw %di\n"
"hs_out:	outb %al, %dx\n"
"hs_cpuid:	cpuid\n"
"hs_end:	pop %rbx\n"
"	ret\n"
"	.popsection\n");
extern const char host_steps[], hs_invd[], hs_wbinvd[], hs_cr0[];
extern const char hs_cr0_clear_ne[], hs_cr0_set_ne[], hs_cr4[];
extern const char hs_cr8_write[], hs_cr8_read[], hs_cr3[], hs_lmsw[];
extern const char hs_out[], hs_cpuid[], hs_end[];

static const struct {
	const char *name, *rip;		/* the instruction, where it is */
} host_step_insns[] = {
	{ "INVD", hs_invd }, { "WBINVD", hs_wbinvd },
	{ "MOV to CR0 (same value)", hs_cr0 },
	{ "MOV to CR0 (clear NE)", hs_cr0_clear_ne },
	{ "MOV to CR0 (set NE)", hs_cr0_set_ne },
	{ "MOV to CR4 (same value)", hs_cr4 },
	{ "MOV to CR8 (same value)", hs_cr8_write },
	{ "MOV from CR8", hs_cr8_read },
	{ "MOV to CR3 (same value)", hs_cr3 },
	{ "LMSW (same value)", hs_lmsw },
	{ "OUT to a test port", hs_out },
	{ "CPUID", hs_cpuid },
	{ "(end)", hs_end },
};

/* Guest side ---------------------------------------------------------- */

/*
 * What the #DB handler saw, and where it is to stop.  Shared with the
 * handler across the opaque calls in guest_code(), each followed by a
 * compiler barrier: no volatile needed.
 */
static uint64_t db_count, db_rip[MAX_TRAPS], db_dr6[MAX_TRAPS];
static uint64_t db_stop;	/* clear TF at this RIP */

/* Record the trap, put DR6 back to idle as an OS does, stop at the end. */
static void db_handler(struct ex_regs *regs)
{
	uint64_t n = db_count, dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	if (n < MAX_TRAPS) {
		db_rip[n] = regs->rip;
		db_dr6[n] = dr6;
	}
	db_count = n + 1;
	asm volatile("mov %0, %%dr6" : : "r"(DR6_IDLE));
	/* A lost trap must not leave the guest stepping on. */
	if (regs->rip == db_stop || db_count >= MAX_TRAPS)
		regs->rflags &= ~X86_TF;
}

static void guest_code(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		db_count = 0;
		memset(db_rip, 0, sizeof(db_rip));
		memset(db_dr6, 0, sizeof(db_dr6));
		db_stop = cases[i].end;
		asm volatile("" : : : "memory");
		cases[i].fn();
		asm volatile("" : : : "memory");
		ucall(UCALL_SYNC, 6, (uint64_t)i, db_count, db_rip[0],
		      db_dr6[0], db_rip[1], db_dr6[1]);
	}
	((void (*)(void))host_steps)();
	GUEST_DONE();
}

/* Host side ----------------------------------------------------------- */

static int failures;

/* The OUT of step_out and host_steps: nothing to do but check it. */
static bool test_port_exit(struct kvm_vcpu *vcpu, uint8_t data)
{
	struct kvm_run *run = vcpu->run;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != TEST_PORT)
		return false;
	TEST_ASSERT(run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1 &&
		    run->io.count == 1 &&
		    *((uint8_t *)run + run->io.data_offset) == data,
		    "test port: direction %u size %u count %u data %#x",
		    run->io.direction, run->io.size, run->io.count,
		    *((uint8_t *)run + run->io.data_offset));
	return true;
}

static void check_guest_case(const struct ucall *uc)
{
	const struct step_case *c = &cases[uc->args[0]];
	uint64_t count = uc->args[1];
	uint64_t rip0 = uc->args[2], dr6_0 = uc->args[3];
	uint64_t rip1 = uc->args[4], dr6_1 = uc->args[5];

	if (count == 2 && rip0 == c->nop && (dr6_0 & DR6_BS) &&
	    rip1 == c->end && (dr6_1 & DR6_BS)) {
		ksft_print_msg("guest TF: %s: one #DB at %#lx, BS\n", c->name,
			       (unsigned long)rip0);
		return;
	}
	ksft_print_msg("FAIL guest TF: %s at %#lx: %lu #DB (expected 2): rip %#lx dr6 %#lx, rip %#lx dr6 %#lx; expected rip %#lx then %#lx with BS\n",
		       c->name, (unsigned long)c->insn, (unsigned long)count,
		       (unsigned long)rip0, (unsigned long)dr6_0,
		       (unsigned long)rip1, (unsigned long)dr6_1,
		       (unsigned long)c->nop, (unsigned long)c->end);
	failures++;
}

static void test_guest_single_step(struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		vcpu_run(vcpu);
		/* step_out's OUT: the next KVM_RUN completes it. */
		if (test_port_exit(vcpu, 1))
			vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC &&
			    uc.args[0] == i,
			    "case %u (%s): expected its report, got exit %u (%s)%s",
			    i, cases[i].name, vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason),
			    vcpu_exit_details(vcpu));
		check_guest_case(&uc);
	}
}

static void set_single_step(struct kvm_vcpu *vcpu, bool on)
{
	struct kvm_guest_debug debug;

	memset(&debug, 0, sizeof(debug));
	if (on)
		debug.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &debug);
}

/* Where in host_step_insns a step stopped, or -1. */
static int host_step_index(uint64_t pc)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(host_step_insns); i++)
		if (pc == (uint64_t)host_step_insns[i].rip)
			return i;
	return -1;
}

/* The instruction whose single-step trap stops at host_step_insns[@i]. */
static const char *host_step_name(int i)
{
	return i ? host_step_insns[i - 1].name : "OUT (the one before the first)";
}

/*
 * Step from the first instruction to the end.  Each instruction whose
 * trap did not come is reported, and the walk goes on from where the
 * guest stopped, so one lost trap does not hide the others.  False when
 * the guest ran away to its next ucall.
 */
static bool test_host_single_step(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int next = 0, at;

	vcpu_run(vcpu);
	TEST_ASSERT(test_port_exit(vcpu, 2), "expected host_steps' OUT, got exit %u (%s)%s",
		    run->exit_reason, exit_reason_str(run->exit_reason),
		    vcpu_exit_details(vcpu));
	while (next < (int)ARRAY_SIZE(host_step_insns)) {
		/*
		 * Armed again for every step, as debuggers (and the upstream
		 * debug_regs test) do: in-tree KVM keeps its TF only while
		 * RIP is where KVM_SET_GUEST_DEBUG found it.
		 */
		set_single_step(vcpu, true);
		vcpu_run(vcpu);
		/* The stepped OUT exits to userspace first. */
		if (test_port_exit(vcpu, 2))
			vcpu_run(vcpu);
		/* No trap at all: the guest ran on to its next ucall. */
		if (run->exit_reason != KVM_EXIT_DEBUG) {
			ksft_print_msg("FAIL KVM_GUESTDBG_SINGLESTEP: no trap after %s or later, exit %u (%s)%s\n",
				       host_step_name(next), run->exit_reason,
				       exit_reason_str(run->exit_reason),
				       vcpu_exit_details(vcpu));
			failures++;
			set_single_step(vcpu, false);
			return false;
		}
		TEST_ASSERT_EQ(run->debug.arch.exception, DB_VECTOR);
		at = host_step_index(run->debug.arch.pc);
		for (; next < at; next++, failures++)
			ksft_print_msg("FAIL KVM_GUESTDBG_SINGLESTEP: no trap after %s (expected at %#lx); the next one came at %#llx\n",
				       host_step_name(next),
				       (unsigned long)host_step_insns[next].rip,
				       run->debug.arch.pc);
		if (at != next) {
			ksft_print_msg("FAIL KVM_GUESTDBG_SINGLESTEP: after %s, stopped at %#llx: a trap twice, or outside the block\n",
				       host_step_name(next), run->debug.arch.pc);
			failures++;
			break;
		}
		if (run->debug.arch.dr6 & DR6_BS) {
			ksft_print_msg("KVM_GUESTDBG_SINGLESTEP: %s: stopped at %#llx, BS\n",
				       host_step_name(next), run->debug.arch.pc);
		} else {
			ksft_print_msg("FAIL KVM_GUESTDBG_SINGLESTEP: %s: DR6 %#llx without BS\n",
				       host_step_name(next), run->debug.arch.dr6);
			failures++;
		}
		next++;
	}
	set_single_step(vcpu, false);
	return true;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	if (!kvm_check_cap(KVM_CAP_SET_GUEST_DEBUG))
		ksft_exit_skip("KVM_CAP_SET_GUEST_DEBUG missing\n");

	vm = vm_create(VM_MODE_LONG_4K);
	/* CR8 is then the in-kernel LAPIC's TPR, as in a real VM. */
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	vm_install_exception_handler(vm, DB_VECTOR, db_handler);

	test_guest_single_step(vcpu);
	if (test_host_single_step(vcpu))
		vcpu_run_ucall(vcpu, UCALL_DONE, &uc);
	else
		TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
	kvm_vm_free(vm);
	TEST_ASSERT(!failures, "%d instruction(s) lost or doubled their single-step trap",
		    failures);
	ksft_exit_pass();
}
