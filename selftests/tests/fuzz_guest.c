// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_guest: random guest code and random vCPU state, run for a short
 * while each.  One iteration writes a code page of random bytes and of
 * templates aimed at exits (port I/O, MMIO with the instructions the MMIO
 * emulator must decode, MSRs, control and debug registers, CPUID, XSETBV,
 * the VMX and SVM instructions, descriptor table loads with garbage ...),
 * loads random registers and sometimes random segments, CRs, EFER, debug
 * registers, guest debugging, MSRs and pending events, and runs the vCPU
 * for at most MAX_EXITS exits or until a periodic timer interrupts it.
 *
 * The VM is reused for VM_GROUP iterations, then recreated in another mode
 * (real, 32-bit protected, long mode with 4K or 2M pages), alternating with
 * and without the in-kernel irqchip.  Before each iteration the low memory
 * the guest runs from (IDT, exception stubs, stack, code) and the page
 * tables are restored, so an iteration depends on little but its own input.
 *
 * What must hold: every KVM_RUN ends in a documented exit (or EINTR from
 * the timer), a failed VM entry only follows state that userspace loaded,
 * and the host logs nothing (the test host's runner checks the kernel log).
 *
 * Reproducing: the first line is the command, FUZZ_SEED=... FUZZ_COUNT=...;
 * iteration i's input comes from fuzz_rng_init(seed, i), its VM's from
 * the group number, so FUZZ_ONLY=i replays iteration i alone on a fresh VM
 * of its group, and FUZZ_VERBOSE=1 prints every iteration's code.
 *
 * In the SVM test host (QEMU 7.2's TCG) it skips unless FUZZ_QEMU_SVM=1,
 * since QEMU stalls a guest there that in-tree kvm_amd runs no better;
 * run so, it builds none of the guest states that hang or crash QEMU
 * itself there: EFER.LME=1 with CR0.PG=0
 * and CR4.PAE=0, a busy or absent TR, and a DR7 enabling an instruction
 * or data breakpoint (qemu_svm_host() below; Documentation/testing.rst).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "kvm_util.h"
#include "qemu_quirks.h"

#define DEFAULT_COUNT_AMD	3000	/* about 15 s in the QEMU TCG host */
#define DEFAULT_COUNT_INTEL	1000	/* Bochs is several times slower */
#define VM_GROUP		64	/* iterations per VM */
#define MAX_EXITS		50	/* exits handled per iteration */
#define RUN_TICK_NS		10000000/* the timer that bounds a KVM_RUN */

/* Low guest memory, the same GPAs in every mode (below 1 MiB for real mode) */
#define IDT_GPA			0x10000	/* IDT; real mode's IVT is at 0 */
#define STUBS_GPA		0x11000	/* 256 exception stubs, 16 bytes each */
#define SCRATCH_GPA		0x12000	/* 2 pages of random data */
#define CODE_GPA		0x20000	/* the iteration's code, 1 page */
#define SNAP_LOW_END		0x21000	/* restored before each iteration */
#define REAL_STACK_TOP		0x7000

#define EXC_PORT		0x1000	/* stubs: OUT of the vector, then HLT */
#define DONE_PORT		0x1001	/* the end of the generated code */

#define RO_SLOT			1
#define RO_SLOT_GPA		0xe0000000ULL	/* 2 read-only pages */
#define LAPIC_GPA		0xfee00000ULL
#define IOAPIC_GPA		0xfec00000ULL
#define HPET_GPA		0xfed00000ULL

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id	_sigev_un._tid
#endif

enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };

struct fvm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	enum vm_guest_mode mode;
	int bits;			/* 16, 32 or 64: the code's mode */
	bool irqchip;
	bool msrs_fuzzed;		/* KVM_SET_MSRS loaded random values */
	bool dregs_fuzzed, gdbg_fuzzed;	/* to undo before the next run */
	struct kvm_sregs sregs0;
	struct kvm_regs regs0;
	uint8_t *snap_low;
	uint8_t *snap_pt;		/* page allocator area: page tables, GDT */
	uint64_t snap_pt_len;
};

/* The code generator's state */
struct gen {
	struct fuzz_rng *r;
	uint8_t *buf, *p, *end;
	int bits;
	uint64_t slot0_end;
};

/* Outcome counters, printed at the end */
static unsigned long exit_hist[64], errno_hist[4], exc_hist[256];
static unsigned long ierr_hist[8], fail_entry_user, sregs_einval;
static unsigned long ends_done, ends_limit, ends_exc, ends_hlt;
static unsigned long ends_shutdown, ends_ierr, ends_eintr, ends_other;
static uint64_t seed;
static uint64_t cur_iter;
static int verbose;
static bool keep_going;

/*
 * The SVM test host is QEMU 7.2's TCG, which the guest (L2 there) can
 * crash or hang in four ways (Documentation/testing.rst, "Quirks of the
 * emulators"); there, and only there, the fuzzer builds none of them:
 *
 * - #VMEXIT restores the host's CR0 before its EFER and CR4: with the
 *   guest's EFER.LME=1, CR0.PG=0 and CR4.PAE=0 still loaded,
 *   cpu_x86_update_cr0() takes the host's CR0 for an entry into long mode
 *   without PAE and drops it, and the host runs on with paging off (an
 *   RCU stall, NMIs ignored; in-tree kvm_amd too).  LME goes only with PAE.
 * - An interrupt or exception that switches to a more privileged stack
 *   outside long mode reads the stack from the TSS, and aborts QEMU
 *   ("fatal: invalid tss type") unless TR's cached type is an available
 *   TSS (1 or 9), which is all its own LTR and task switch leave there;
 *   VMLOAD takes the busy type KVM's ABI gives TR (11) as it is, and a not
 *   present TR aborts it in long mode too ("invalid tss").  Real CPUs
 *   ignore the busy bit there.  TR is always present and available.
 * - Breakpoints, which VMRUN loads from the VMCB without arming them
 *   (kvisor arms the guest's DR7 just before VMRUN on QEMU, svm/vcpu.c;
 *   under kvm_amd the guest's own MOV to DR7 does, once KVM stops
 *   intercepting DR accesses):
 *   an instruction breakpoint (R/W=00) hit where CS.base is not 0 (real
 *   mode always) segfaults QEMU: the TB matches the linear address,
 *   breakpoint_handler() then looks for EIP, finds none, and passes the
 *   debug exception on to the gdbstub, which is not there;
 *   a data breakpoint (R/W=01, 11) hit by an access of an interrupt or
 *   exception delivery (IVT or IDT, stack) aborts it: do_interrupt runs
 *   under the iothread lock and cpu_check_watchpoint() takes it again
 *   ("qemu_mutex_lock_iothread_impl: assertion failed").  No DR7 the
 *   fuzzer loads enables either kind: only I/O breakpoints (R/W=10).
 *
 * The helpers are include/qemu_quirks.h's, shared with fuzz_ioctl.
 */
static int progress_fd = -1;
static unsigned long failures;
static uint8_t last_code[256];
static timer_t tick;
static unsigned int last_code_len;

static void on_tick(int sig)
{
	(void)sig;
}

/*
 * Before the guest runs: whatever was printed is out on FUZZ_PROGRESS.
 * A console's driver sends in the background, so a host (or emulator)
 * that dies in the guest would otherwise take the last lines with it.
 */
static void progress_sync(void)
{
	if (progress_fd < 0)
		return;
	fflush(stdout);
	tcdrain(progress_fd);	/* ENOTTY for a file: nothing to wait for */
}

/* ------------------------------------------------------------------ */
/* Code generation                                                      */

static void emit(struct gen *g, const void *bytes, unsigned int n)
{
	if (g->p + n > g->end)
		return;
	memcpy(g->p, bytes, n);
	g->p += n;
}

static void emit1(struct gen *g, uint8_t b)
{
	emit(g, &b, 1);
}

/* reg = val, a full-width register (32 bits in the 16-bit and 32-bit modes) */
static void emit_mov_imm(struct gen *g, int reg, uint64_t val)
{
	uint32_t v32 = val;

	if (g->bits == 16)
		emit1(g, 0x66);
	if (g->bits == 64) {
		emit1(g, 0x48);
		emit1(g, 0xb8 + reg);
		emit(g, &val, 8);
		return;
	}
	emit1(g, 0xb8 + reg);
	emit(g, &v32, 4);
}

/* The address-size prefix that makes real mode code address with EBX. */
static void emit_addr32(struct gen *g)
{
	if (g->bits == 16)
		emit1(g, 0x67);
}

/*
 * An operand-size prefix (and REX.W) for a random operand size of 16, 32
 * or (in 64-bit mode) 64 bits; returns the size of an immz immediate.
 * @rex: REX bits other than W the instruction wants.
 */
static unsigned int emit_opsize(struct gen *g, uint8_t rex)
{
	unsigned int size = 16 << fuzz_below(g->r, g->bits == 64 ? 3 : 2);

	if ((size == 16) != (g->bits == 16))
		emit1(g, 0x66);
	if (size == 64)
		rex |= 0x48;
	if (rex)
		emit1(g, rex | 0x40);
	return size == 16 ? 2 : 4;
}

static const uint16_t ports[] = {
	0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
	0x80, 0x92, 0xcf8, 0xcfc, 0x3f8, 0x3fd, 0x4d0, 0x4d1, 0x510, 0xffff,
	0x1002,
};

static uint16_t pick_port(struct fuzz_rng *r)
{
	if (fuzz_one_in(r, 3))
		return fuzz_u64(r);
	return ports[fuzz_below(r, ARRAY_SIZE(ports))];
}

/* A GPA the MMIO paths handle: unbacked, read-only, the APICs, an edge. */
static uint64_t pick_mmio(struct gen *g)
{
	struct fuzz_rng *r = g->r;
	uint64_t off = fuzz_one_in(r, 2) ? fuzz_below(r, 0x400) & ~3ULL :
					   fuzz_below(r, 0x1000);

	switch (fuzz_below(r, 9)) {
	case 0:
		return g->slot0_end - 8 + fuzz_below(r, 16);	/* RAM|MMIO */
	case 1:
		return g->slot0_end + fuzz_below(r, PAGE_SIZE_2M);
	case 2:
		return RO_SLOT_GPA - 8 + fuzz_below(r, 16);	/* MMIO|ROM */
	case 3:
		return RO_SLOT_GPA + fuzz_below(r, 2 * PAGE_SIZE_4K + 8);
	case 4:
	case 5:
		return LAPIC_GPA + off;
	case 6:
		return IOAPIC_GPA + (fuzz_one_in(r, 2) ? fuzz_below(r, 0x48) : off);
	case 7:
		return HPET_GPA + off;
	default:
		return SCRATCH_GPA + fuzz_below(r, 2 * PAGE_SIZE_4K);	/* RAM */
	}
}

/*
 * Instructions with a memory operand, as the MMIO emulator meets them.
 * digit: the ModRM reg field, or -1 for a random register.
 * imm: 0 none, 1 imm8, 2 immz (16 or 32 bits).  sized: takes 66/REX.W.
 */
struct mem_op {
	uint8_t op[2], len;
	int8_t digit;
	uint8_t imm, sized;
};

static const struct mem_op mem_ops[] = {
	{ { 0x88 }, 1, -1, 0, 0 }, { { 0x89 }, 1, -1, 0, 1 },	/* mov */
	{ { 0x8a }, 1, -1, 0, 0 }, { { 0x8b }, 1, -1, 0, 1 },
	{ { 0xc6 }, 1, 0, 1, 0 }, { { 0xc7 }, 1, 0, 2, 1 },
	{ { 0x0f, 0xb6 }, 2, -1, 0, 1 }, { { 0x0f, 0xb7 }, 2, -1, 0, 1 },
	{ { 0x0f, 0xbe }, 2, -1, 0, 1 }, { { 0x0f, 0xbf }, 2, -1, 0, 1 },
	{ { 0x63 }, 1, -1, 0, 1 },				/* movsxd */
	{ { 0x86 }, 1, -1, 0, 0 }, { { 0x87 }, 1, -1, 0, 1 },	/* xchg */
	{ { 0x0f, 0xb0 }, 2, -1, 0, 0 }, { { 0x0f, 0xb1 }, 2, -1, 0, 1 },
	{ { 0x0f, 0xc0 }, 2, -1, 0, 0 }, { { 0x0f, 0xc1 }, 2, -1, 0, 1 },
	{ { 0x0f, 0xc7 }, 2, 1, 0, 1 },				/* cmpxchg8b */
	{ { 0x00 }, 1, -1, 0, 0 }, { { 0x01 }, 1, -1, 0, 1 },	/* add */
	{ { 0x03 }, 1, -1, 0, 1 }, { { 0x09 }, 1, -1, 0, 1 },	/* or */
	{ { 0x0a }, 1, -1, 0, 0 }, { { 0x11 }, 1, -1, 0, 1 },	/* adc */
	{ { 0x19 }, 1, -1, 0, 1 }, { { 0x21 }, 1, -1, 0, 1 },	/* sbb, and */
	{ { 0x23 }, 1, -1, 0, 1 }, { { 0x29 }, 1, -1, 0, 1 },	/* sub */
	{ { 0x31 }, 1, -1, 0, 1 }, { { 0x33 }, 1, -1, 0, 1 },	/* xor */
	{ { 0x38 }, 1, -1, 0, 0 }, { { 0x39 }, 1, -1, 0, 1 },	/* cmp */
	{ { 0x3b }, 1, -1, 0, 1 }, { { 0x84 }, 1, -1, 0, 0 },	/* test */
	{ { 0x85 }, 1, -1, 0, 1 },
	{ { 0x80 }, 1, -1, 1, 0 }, { { 0x81 }, 1, -1, 2, 1 },	/* grp1 */
	{ { 0x83 }, 1, -1, 1, 1 },
	{ { 0xf6 }, 1, 0, 1, 0 }, { { 0xf7 }, 1, 0, 2, 1 },	/* test imm */
	{ { 0xf6 }, 1, -1, 0, 0 }, { { 0xf7 }, 1, -1, 0, 1 },	/* grp3 */
	{ { 0xfe }, 1, 0, 0, 0 }, { { 0xff }, 1, 1, 0, 1 },	/* inc, dec */
	{ { 0xff }, 1, 6, 0, 1 }, { { 0x8f }, 1, 0, 0, 1 },	/* push, pop */
	{ { 0xff }, 1, 2, 0, 1 }, { { 0xff }, 1, 4, 0, 1 },	/* call, jmp */
	{ { 0xff }, 1, 3, 0, 1 }, { { 0xff }, 1, 5, 0, 1 },	/* far */
	{ { 0xd0 }, 1, -1, 0, 0 }, { { 0xd3 }, 1, -1, 0, 1 },	/* shifts */
	{ { 0xc1 }, 1, -1, 1, 1 },
	{ { 0x0f, 0xa3 }, 2, -1, 0, 1 }, { { 0x0f, 0xab }, 2, -1, 0, 1 },
	{ { 0x0f, 0xb3 }, 2, -1, 0, 1 }, { { 0x0f, 0xbb }, 2, -1, 0, 1 },
	{ { 0x0f, 0xba }, 2, -1, 1, 1 },			/* bt imm */
	{ { 0x0f, 0x94 }, 2, 0, 0, 0 }, { { 0x0f, 0x45 }, 2, -1, 0, 1 },
	{ { 0x0f, 0xc3 }, 2, -1, 0, 1 },			/* movnti */
	{ { 0x0f, 0x10 }, 2, -1, 0, 0 }, { { 0x0f, 0x11 }, 2, -1, 0, 0 },
	{ { 0x0f, 0x6f }, 2, -1, 0, 1 }, { { 0x0f, 0x7f }, 2, -1, 0, 1 },
	{ { 0x0f, 0x7e }, 2, -1, 0, 1 }, { { 0x0f, 0xd6 }, 2, -1, 0, 1 },
	{ { 0x0f, 0xae }, 2, -1, 0, 0 },	/* fxsave .. clflush */
	{ { 0x0f, 0x01 }, 2, -1, 0, 1 },	/* sgdt .. invlpg */
	{ { 0x0f, 0x00 }, 2, -1, 0, 1 },	/* sldt .. verw */
	{ { 0x0f, 0x18 }, 2, -1, 0, 0 }, { { 0x0f, 0x0d }, 2, 1, 0, 0 },
	{ { 0x8c }, 1, -1, 0, 1 }, { { 0x8e }, 1, -1, 0, 1 },	/* sreg */
	{ { 0xc4 }, 1, -1, 0, 1 }, { { 0x62 }, 1, -1, 0, 1 },	/* les, bound */
	{ { 0x8d }, 1, -1, 0, 1 },				/* lea */
	{ { 0xd9 }, 1, -1, 0, 0 }, { { 0xdd }, 1, -1, 0, 0 },	/* x87 */
	{ { 0xdf }, 1, -1, 0, 0 },
};

/* One instruction on [rbx + disp]. */
static void emit_mem_insn(struct gen *g)
{
	const struct mem_op *m = &mem_ops[fuzz_below(g->r, ARRAY_SIZE(mem_ops))];
	unsigned int imm = m->imm == 1 ? 1 : m->imm == 2 ? 4 : 0;
	int reg = m->digit >= 0 ? m->digit : (int)fuzz_below(g->r, 8);
	unsigned int mod = fuzz_below(g->r, 3);
	uint64_t disp = fuzz_u64(g->r);

	if (fuzz_one_in(g->r, 8))
		emit1(g, 0xf0);				/* lock */
	if (fuzz_one_in(g->r, 16))
		emit1(g, (uint8_t[]){ 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
				      0xf2, 0xf3 }[fuzz_below(g->r, 8)]);
	emit_addr32(g);
	if (m->sized) {
		unsigned int immz = emit_opsize(g, 0);

		if (m->imm == 2)
			imm = immz;
	} else if (fuzz_one_in(g->r, 8)) {
		emit1(g, 0x66);				/* SSE forms */
	}
	emit(g, m->op, m->len);
	emit1(g, mod << 6 | reg << 3 | R_BX);
	if (mod == 1)
		emit(g, &disp, 1);
	else if (mod == 2)
		emit(g, &disp, 4);
	emit(g, &disp, imm);
	if (mod == 2)	/* disp32 is random: fix it up to stay near */
		memset(g->p - imm - 4 + 2, (disp >> 60) & 1 ? 0xff : 0, 2);
}

/* MOV to/from the MMIO at some GPA, with ebx/rbx = address. */
static void gen_mmio(struct gen *g)
{
	unsigned int i, n = 1 + fuzz_below(g->r, 3);

	emit_mov_imm(g, R_BX, pick_mmio(g));
	emit_mov_imm(g, fuzz_one_in(g->r, 2) ? R_AX : R_CX,
		     fuzz_interesting(g->r));
	for (i = 0; i < n; i++)
		emit_mem_insn(g);
}

/* String instructions with either end on MMIO, maybe REP, maybe STD. */
static void gen_string(struct gen *g)
{
	static const uint8_t ops[] = { 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab,
				       0xac, 0xad, 0xae, 0xaf, 0x6c, 0x6d,
				       0x6e, 0x6f };
	uint8_t op = ops[fuzz_below(g->r, ARRAY_SIZE(ops))];

	emit_mov_imm(g, R_SI, pick_mmio(g));
	emit_mov_imm(g, R_DI, pick_mmio(g));
	emit_mov_imm(g, R_CX, fuzz_one_in(g->r, 8) ? fuzz_interesting(g->r) :
						    fuzz_below(g->r, 40));
	emit_mov_imm(g, R_DX, pick_port(g->r));
	emit1(g, fuzz_one_in(g->r, 3) ? 0xfd : 0xfc);	/* std / cld */
	if (fuzz_one_in(g->r, 3) == 0)
		emit1(g, fuzz_one_in(g->r, 4) ? 0xf2 : 0xf3);
	emit_addr32(g);
	if (op & 1)
		emit_opsize(g, 0);
	emit1(g, op);
}

/* IN/OUT with an immediate or DX port, sizes 1, 2, 4. */
static void gen_pio(struct gen *g)
{
	static const uint8_t ops[] = { 0xe4, 0xe5, 0xe6, 0xe7,
				       0xec, 0xed, 0xee, 0xef };
	uint8_t op = ops[fuzz_below(g->r, ARRAY_SIZE(ops))];
	uint16_t port = pick_port(g->r);

	emit_mov_imm(g, R_DX, port);
	emit_mov_imm(g, R_AX, fuzz_interesting(g->r));
	if ((op & 1) && fuzz_one_in(g->r, 2))
		emit1(g, 0x66);
	emit1(g, op);
	if (op < 0xe8)
		emit1(g, port);
}

static const uint32_t msrs[] = {
	0x10, 0x1b, 0x3a, 0x3b, 0x48, 0x49, 0x8b, 0xce, 0xfe, 0x10a, 0x140,
	0x174, 0x175, 0x176, 0x179, 0x17a, 0x17b, 0x1a0, 0x200, 0x201, 0x20f,
	0x250, 0x258, 0x259, 0x268, 0x26f, 0x277, 0x2ff, 0x345, 0x400, 0x401,
	0x402, 0x403, 0x41f, 0x480, 0x48d, 0x491, 0x6e0, 0xda0, 0x11, 0x12,
	0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04,
	0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
	0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103, 0xc0010114,
	0xc0010117, 0xc0010015, 0xc0011029,
	0x802, 0x803, 0x808, 0x80b, 0x80d, 0x80f, 0x828, 0x830, 0x832,
	0x835, 0x836, 0x837, 0x838, 0x839, 0x83e, 0x83f,
};

static uint32_t pick_msr(struct fuzz_rng *r)
{
	switch (fuzz_below(r, 4)) {
	case 0:
		return 0x800 + fuzz_below(r, 0x100);	/* x2APIC */
	case 1:
		return fuzz_interesting(r);
	default:
		return msrs[fuzz_below(r, ARRAY_SIZE(msrs))];
	}
}

static void gen_msr(struct gen *g)
{
	uint32_t msr = pick_msr(g->r);
	uint64_t lo = fuzz_interesting(g->r);

	if (qemu_svm_host() && msr == MSR_EFER)
		lo &= ~EFER_LME;
	emit_mov_imm(g, R_CX, msr);
	emit_mov_imm(g, R_AX, lo);
	emit_mov_imm(g, R_DX, fuzz_one_in(g->r, 2) ? 0 : fuzz_interesting(g->r));
	emit(g, fuzz_one_in(g->r, 2) ? "\x0f\x30" : "\x0f\x32", 2);
}

/* A value for CRn: a bit flipped in the current one, or anything. */
static uint64_t cr_value(struct gen *g, const struct kvm_sregs *s, int n)
{
	uint64_t cur = n == 0 ? s->cr0 : n == 3 ? s->cr3 : n == 4 ? s->cr4 :
		       fuzz_below(g->r, 16);
	uint64_t v;

	if (fuzz_one_in(g->r, 4))
		v = fuzz_interesting(g->r);
	else
		v = cur ^ (1ULL << fuzz_below(g->r, n == 8 ? 4 : 32));
	/* EFER.LME may be set already: CR4.PAE stays (qemu_svm_host()) */
	if (qemu_svm_host() && n == 4)
		v |= X86_CR4_PAE;
	return v;
}

/* MOV to/from CRn or DRn, with rax/eax as the other operand. */
static void gen_crdr(struct gen *g, const struct kvm_sregs *s)
{
	static const int crs[] = { 0, 0, 2, 3, 4, 4, 8, 1, 5, 9 };
	bool dr = fuzz_one_in(g->r, 3);
	int n = dr ? (int)fuzz_below(g->r, 8) : crs[fuzz_below(g->r, 10)];
	bool write = fuzz_below(g->r, 3);
	uint64_t v;

	if (dr)
		v = n < 4 ? (fuzz_one_in(g->r, 2) ? CODE_GPA + fuzz_below(g->r, 64) :
			     pick_mmio(g)) : fuzz_interesting(g->r);
	else
		v = cr_value(g, s, n);
	if (dr && (n == 7 || n == 5))	/* DR5 is DR7 without CR4.DE */
		v = qemu_safe_dr7(v);
	emit_mov_imm(g, R_AX, v);
	if (n >= 8) {
		if (g->bits == 64)
			emit1(g, 0x44);		/* REX.R */
		else
			emit1(g, 0xf0);		/* AMD's LOCK MOV CR0 = CR8 */
	}
	emit1(g, 0x0f);
	emit1(g, (dr ? 0x21 : 0x20) | (write ? 2 : 0));
	emit1(g, 0xc0 | (n & 7) << 3 | R_AX);
}

/* Single instructions that exit, fault or must be refused. */
#define I(s)	{ s, sizeof(s) - 1 }

static const struct {
	const char *b;
	unsigned int len;
} misc_insns[] = {
	I("\x0f\xa2"),		/* cpuid */
	I("\x0f\x01\xd1"),		/* xsetbv */
	I("\x0f\x01\xd0"),		/* xgetbv */
	I("\x0f\x08"), I("\x0f\x09"),	/* invd, wbinvd */
	I("\xf4"), I("\xf3\x90"),	/* hlt, pause */
	I("\xcc"), I("\xcd\x03"), I("\xcd\x80"), I("\xcd\x02"), I("\xce"), I("\xf1"),
	I("\x0f\x0b"),		/* ud2 */
	I("\x0f\x01\xc1"), I("\x0f\x01\xd9"),			/* vmcall, vmmcall */
	I("\x0f\x01\xc2"), I("\x0f\x01\xc3"), I("\x0f\x01\xc4"),	/* vmlaunch .. vmxoff */
	I("\xf3\x0f\xc7\x33"), I("\x0f\xc7\x33"), I("\x66\x0f\xc7\x33"), /* vmxon .. */
	I("\x0f\xc7\x3b"),					/* vmptrst */
	I("\x0f\x78\xc3"), I("\x0f\x79\xd8"),			/* vmread, vmwrite */
	I("\x66\x0f\x38\x80\x03"), I("\x66\x0f\x38\x81\x03"),	/* invept, invvpid */
	I("\x66\x0f\x38\x82\x03"),				/* invpcid */
	I("\x0f\x01\xd8"), I("\x0f\x01\xda"), I("\x0f\x01\xdb"),	/* vmrun .. vmsave */
	I("\x0f\x01\xdc"), I("\x0f\x01\xdd"), I("\x0f\x01\xde"),	/* stgi, clgi, skinit */
	I("\x0f\x01\xdf"), I("\x0f\x01\xfe"), I("\x0f\x01\xff"),	/* invlpga, invlpgb */
	I("\x0f\x31"), I("\x0f\x01\xf9"), I("\xf3\x0f\xc7\xf8"),	/* rdtsc(p), rdpid */
	I("\x0f\x01\xfd"), I("\x0f\x33"),			/* rdpru, rdpmc */
	I("\x0f\x01\xc8"), I("\x0f\x01\xc9"),			/* monitor, mwait */
	I("\x0f\x01\xfa"), I("\x0f\x01\xfb"),			/* monitorx, mwaitx */
	I("\x0f\xae\x23"), I("\x0f\xae\x2b"),			/* xsave, xrstor */
	I("\x0f\xc7\x2b"), I("\x0f\xc7\x1b"),			/* xsaves, xrstors */
	I("\x0f\xae\x03"), I("\x0f\xae\x0b"),			/* fxsave, fxrstor */
	I("\x0f\x05"), I("\x0f\x07"), I("\x0f\x34"), I("\x0f\x35"),	/* syscall .. sysexit */
	I("\x0f\x06"), I("\x0f\x01\x33"), I("\x0f\x01\xe0"),	/* clts, lmsw, smsw */
	I("\x0f\x01\xf8"), I("\x0f\xaa"), I("\x0f\x37"),		/* swapgs, rsm, getsec */
	I("\x0f\x00\xd8"), I("\x0f\x00\xd0"),			/* ltr ax, lldt ax */
	I("\x8e\xd8"), I("\x8e\xd0"), I("\x8e\xe0"), I("\x8e\xc0"),	/* mov sreg, ax */
	I("\x0f\x01\x13"), I("\x0f\x01\x1b"),			/* lgdt, lidt [rbx] */
	I("\x0f\x01\x3b"), I("\x0f\x01\xcf"), I("\x0f\x01\xd7"),	/* invlpg, encls/u */
	I("\x0f\x01\xee"), I("\x0f\x01\xef"),			/* rdpkru, wrpkru */
	I("\xf3\x0f\xae\xf0"), I("\xf2\x0f\xae\xf0"),		/* umonitor, umwait */
	I("\x66\x0f\xae\xf0"), I("\x0f\xc7\xf0"),		/* tpause, rdrand */
	I("\x0f\x01\xca"), I("\x0f\x01\xcb"),			/* clac, stac */
	I("\x0f\x01\xe8"), I("\xfb"), I("\xfa"), I("\xfd"),		/* serialize, sti .. */
	I("\x9d"), I("\xcf"), I("\xca\x00\x00"), I("\xc3"),		/* popf, iret, ret */
	I("\xeb\xfe"),					/* jmp . */
	I("\xfb\xf4"),					/* sti; hlt */
	I("\x0f\xfe"), I("\x0f\xff"), I("\xd6"),			/* reserved */
	I("\x0f\x01\xc5"), I("\x0f\x01\xc6"),			/* pconfig, wrmsrns */
};
#undef I

/* Before a misc instruction: registers it reads, some memory for rbx. */
static void gen_misc(struct gen *g)
{
	unsigned int k = fuzz_below(g->r, ARRAY_SIZE(misc_insns));
	const char *insn = misc_insns[k].b;
	int i;

	emit_mov_imm(g, R_BX, fuzz_one_in(g->r, 4) ? pick_mmio(g) :
		     SCRATCH_GPA + fuzz_below(g->r, PAGE_SIZE_4K));
	for (i = R_AX; i <= R_DX; i++)
		if (fuzz_one_in(g->r, 2))
			emit_mov_imm(g, i, fuzz_one_in(g->r, 2) ?
				     fuzz_below(g->r, 0x20) :
				     fuzz_interesting(g->r));
	/* IRET, RET and POPF get garbage frames */
	if (misc_insns[k].len <= 3 && strchr("\x9d\xcf\xca\xc3", insn[0]))
		for (i = fuzz_below(g->r, 6); i > 0; i--) {
			emit1(g, 0x68);			/* push imm32 */
			emit(g, (uint32_t[]){ fuzz_interesting(g->r) }, 4);
		}
	if (insn[0] == '\xcf' && g->bits == 64 && fuzz_one_in(g->r, 2))
		emit1(g, 0x48);				/* iretq */
	emit_addr32(g);
	emit(g, insn, misc_insns[k].len);
}

/* Move the stack to MMIO and push, pop, call there. */
static void gen_stack_mmio(struct gen *g)
{
	static const char *const ops[] = { "\x50", "\x5b", "\x9c", "\x9d",
		"\xe8\x00\x00\x00\x00", "\x6a\x55", "\xff\x33", "\x8f\x03",
		"\xc8\x08\x00\x01", "\xc9" };
	int i, n = 1 + fuzz_below(g->r, 3);

	emit_mov_imm(g, R_BX, pick_mmio(g));
	emit_mov_imm(g, R_SP, pick_mmio(g) + 8);
	for (i = 0; i < n; i++) {
		const char *op = ops[fuzz_below(g->r, ARRAY_SIZE(ops))];

		emit_addr32(g);
		emit(g, op, op[0] == '\xe8' ? 5 : op[0] == '\xc8' ? 4 :
			    strlen(op) ? strlen(op) : 1);
	}
}

/* Raw random bytes, sometimes after a random prefix soup. */
static void gen_raw(struct gen *g)
{
	uint8_t b[16];
	unsigned int n = 1 + fuzz_below(g->r, 16);

	fuzz_fill(g->r, b, n);
	if (fuzz_one_in(g->r, 4))
		b[0] = 0x0f;
	emit(g, b, n);
}

static void gen_code(struct gen *g, const struct kvm_sregs *s)
{
	unsigned int i, n = 1 + fuzz_below(g->r, 6);
	uint16_t done = DONE_PORT;

	for (i = 0; i < n; i++) {
		switch (fuzz_below(g->r, 16)) {
		case 0: case 1: case 2:
			gen_raw(g);
			break;
		case 3: case 4: case 5: case 6:
			gen_mmio(g);
			break;
		case 7: case 8:
			gen_string(g);
			break;
		case 9:
			gen_pio(g);
			break;
		case 10:
			gen_msr(g);
			break;
		case 11: case 12:
			gen_crdr(g, s);
			break;
		case 13:
			gen_stack_mmio(g);
			break;
		default:
			gen_misc(g);
			break;
		}
	}
	/* mov $DONE_PORT, %dx; out %al, %dx */
	if (g->bits != 16)
		emit1(g, 0x66);
	emit1(g, 0xba);
	emit(g, &done, 2);
	emit1(g, 0xee);
}

/* ------------------------------------------------------------------ */
/* VMs                                                                  */

/* The library wants some real mode code; ours is generated. */
asm(".pushsection guest16, \"a\"\n"
"	.code16\n"
"fuzz_real_entry:\n"
"	hlt\n"
"	.code64\n"
"	.popsection\n");
extern const char fuzz_real_entry[];

static void fuzz_prot_entry(void)
{
}

/*
 * Exception stubs: "mov $vector, %al; mov $EXC_PORT, %dx; out %al, %dx;
 * 1: hlt; jmp 1b", and an IDT (real mode: the IVT) pointing at them.
 */
static void write_idt(struct fvm *f)
{
	uint8_t *stubs = addr_gpa2hva(f->vm, STUBS_GPA);
	int v;

	for (v = 0; v < 256; v++) {
		uint8_t *s = stubs + 16 * v;
		uint64_t addr = STUBS_GPA + 16 * v;
		uint64_t gate = (addr & 0xffff) | (uint64_t)KERNEL_CS << 16 |
				0x8eULL << 40 | ((addr >> 16) & 0xffff) << 48;

		memset(s, 0xf4, 16);
		*s++ = 0xb0;
		*s++ = v;
		if (f->bits != 16)
			*s++ = 0x66;
		*s++ = 0xba;
		*s++ = EXC_PORT & 0xff;
		*s++ = EXC_PORT >> 8;
		*s++ = 0xee;
		*s++ = 0xf4;
		*s++ = 0xeb;
		*s++ = 0xfd;
		if (f->bits == 16)
			((uint32_t *)addr_gpa2hva(f->vm, 0))[v] =
				(STUBS_GPA >> 4) << 16 | 16 * v;
		else if (f->bits == 32)
			((uint64_t *)addr_gpa2hva(f->vm, IDT_GPA))[v] = gate;
		else
			memcpy((uint64_t *)addr_gpa2hva(f->vm, IDT_GPA) + 2 * v,
			       (uint64_t[]){ gate, 0 }, 16);
	}
}

static void fvm_create(struct fvm *f, uint64_t group)
{
	static const enum vm_guest_mode modes[] = {
		VM_MODE_REAL, VM_MODE_PROT32, VM_MODE_LONG_4K, VM_MODE_LONG_2M,
	};
	struct fuzz_rng r;
	uint64_t slot0_end;

	fuzz_rng_init(&r, seed, 1ULL << 63 | group);
	memset(f, 0, sizeof(*f));
	f->mode = modes[fuzz_below(&r, ARRAY_SIZE(modes))];
	f->bits = f->mode == VM_MODE_REAL ? 16 :
		  f->mode == VM_MODE_PROT32 ? 32 : 64;
	f->irqchip = (group & 1) && kvm_check_cap(KVM_CAP_IRQCHIP);
	f->vm = vm_create(f->mode);
	if (f->irqchip) {
		vm_ioctl(f->vm, KVM_CREATE_IRQCHIP, NULL);
		if (fuzz_one_in(&r, 2) && kvm_check_cap(KVM_CAP_PIT2))
			vm_ioctl(f->vm, KVM_CREATE_PIT2,
				 (&(struct kvm_pit_config){ .flags = 1 }));
	}
	f->vcpu = vm_vcpu_add(f->vm, 0, f->bits == 16 ?
			      (void *)fuzz_real_entry : (void *)fuzz_prot_entry);
	vm_userspace_mem_region_add(f->vm, RO_SLOT, RO_SLOT_GPA, 2,
				    KVM_MEM_READONLY);
	memset(addr_gpa2hva(f->vm, RO_SLOT_GPA), 0xa5, 2 * PAGE_SIZE_4K);
	slot0_end = f->vm->slot0_size;
	if (f->bits == 64) {
		virt_map(f->vm, slot0_end, slot0_end, PAGE_SIZE_2M);
		virt_map(f->vm, RO_SLOT_GPA, RO_SLOT_GPA, PAGE_SIZE_2M);
		virt_map(f->vm, IOAPIC_GPA, IOAPIC_GPA, 2 * PAGE_SIZE_2M);
	}
	write_idt(f);

	vcpu_sregs_get(f->vcpu, &f->sregs0);
	vcpu_regs_get(f->vcpu, &f->regs0);
	qemu_safe_tr(&f->sregs0.tr);
	if (f->bits == 16) {
		f->sregs0.cs.selector = CODE_GPA >> 4;
		f->sregs0.cs.base = CODE_GPA;
		f->regs0.rip = 0;
		f->regs0.rsp = REAL_STACK_TOP;
	} else {
		f->sregs0.idt.base = IDT_GPA;
		f->sregs0.idt.limit = 256 * (f->bits == 64 ? 16 : 8) - 1;
		f->regs0.rip = CODE_GPA;
	}
	f->regs0.rflags = X86_EFLAGS_FIXED;

	f->snap_low = malloc(SNAP_LOW_END);
	f->snap_pt_len = f->vm->next_page - PAGE_ALLOC_START;
	f->snap_pt = malloc(f->snap_pt_len);
	TEST_ASSERT(f->snap_low && f->snap_pt, "out of memory");
	memcpy(f->snap_low, addr_gpa2hva(f->vm, 0), SNAP_LOW_END);
	memcpy(f->snap_pt, addr_gpa2hva(f->vm, PAGE_ALLOC_START),
	       f->snap_pt_len);
}

static void fvm_free(struct fvm *f)
{
	if (!f->vm)
		return;
	kvm_vm_free(f->vm);
	free(f->snap_low);
	free(f->snap_pt);
	f->vm = NULL;
}

/* ------------------------------------------------------------------ */
/* State loaded by userspace                                            */

static void mutate_segment(struct fuzz_rng *r, struct kvm_segment *s)
{
	switch (fuzz_below(r, 8)) {
	case 0:
		s->selector = fuzz_u64(r);
		break;
	case 1:
		s->base = fuzz_interesting(r);
		break;
	case 2:
		s->limit = fuzz_interesting(r);
		break;
	case 3:
		s->type = fuzz_below(r, 16);
		break;
	case 4:
		s->dpl = fuzz_below(r, 4);
		break;
	case 5:
		s->present ^= 1;
		break;
	case 6:
		s->db ^= fuzz_one_in(r, 2);
		s->l ^= fuzz_one_in(r, 2);
		s->g ^= fuzz_one_in(r, 2);
		s->s ^= fuzz_one_in(r, 2);
		break;
	default:
		s->unusable ^= 1;
		break;
	}
}

static void mutate_sregs(struct fuzz_rng *r, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
				       &s->gs, &s->ss, &s->tr, &s->ldt };
	int i, n = 1 + fuzz_below(r, 3);

	for (i = 0; i < n; i++) {
		switch (fuzz_below(r, 8)) {
		case 0:
			s->cr0 ^= 1ULL << fuzz_below(r, 32);
			break;
		case 1:
			s->cr4 ^= 1ULL << fuzz_below(r, 32);
			break;
		case 2:
			s->efer ^= 1ULL << fuzz_below(r, 16);
			break;
		case 3:
			s->cr3 = fuzz_interesting(r);
			break;
		case 4:
			s->cr8 = fuzz_below(r, 32);
			break;
		case 5:
			s->gdt.limit = fuzz_u64(r);
			s->idt.base = fuzz_interesting(r);
			break;
		default:
			mutate_segment(r, segs[fuzz_below(r, ARRAY_SIZE(segs))]);
			break;
		}
	}
}

/* Real mode with 4G data segments, so that MMIO above 1M is in reach. */
static void unreal(struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = { &s->ds, &s->es, &s->fs, &s->gs };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(segs); i++) {
		segs[i]->limit = 0xffffffff;
		segs[i]->g = 1;
	}
}

static void random_regs(struct fuzz_rng *r, struct kvm_regs *regs)
{
	__u64 *gpr = &regs->rax;	/* rax .. r15 are the first 16 */
	int i;

	for (i = 0; i < 16; i++)
		if (&gpr[i] != &regs->rsp && fuzz_one_in(r, 2))
			gpr[i] = fuzz_interesting(r);
	/* CF PF AF ZF SF DF OF, sometimes IF, TF, NT, AC, RF */
	regs->rflags |= fuzz_u64(r) & 0xcd5;
	if (fuzz_one_in(r, 3))
		regs->rflags |= X86_EFLAGS_IF;
	if (fuzz_one_in(r, 16))
		regs->rflags |= 1 << 8;		/* TF */
	if (fuzz_one_in(r, 32))
		regs->rflags |= fuzz_u64(r) & (1 << 14 | 1 << 16 | 1 << 18 |
					       3 << 12);
}

/* Random debug registers, guest debugging, MSRs and events. */
static bool random_host_state(struct fvm *f, struct fuzz_rng *r)
{
	bool fuzzed = false;
	int ret;

	if (fuzz_one_in(r, 16)) {
		struct kvm_debugregs d = { .dr7 = qemu_safe_dr7((uint32_t)fuzz_u64(r)),
					   .dr6 = (uint32_t)fuzz_interesting(r) };
		int i;

		for (i = 0; i < 4; i++)
			d.db[i] = fuzz_one_in(r, 2) ? CODE_GPA + fuzz_below(r, 64) :
						     fuzz_interesting(r);
		ret = __vcpu_ioctl(f->vcpu, KVM_SET_DEBUGREGS, &d);
		if (verbose)
			printf("#  debugregs %#llx %#llx %#llx %#llx dr6 %#llx dr7 %#llx: %d\n",
			       d.db[0], d.db[1], d.db[2], d.db[3], d.dr6, d.dr7, ret);
		f->dregs_fuzzed = fuzzed = true;
	}
	if (fuzz_one_in(r, 16)) {
		struct kvm_guest_debug dbg = {
			.control = KVM_GUESTDBG_ENABLE | (fuzz_u64(r) & 0xf0003),
		};
		int i;

		for (i = 0; i < 4; i++)
			dbg.arch.debugreg[i] = CODE_GPA + fuzz_below(r, 64);
		dbg.arch.debugreg[7] = qemu_safe_dr7(fuzz_u64(r) & 0xffff00ff);
		ret = __vcpu_ioctl(f->vcpu, KVM_SET_GUEST_DEBUG, &dbg);
		if (verbose)
			printf("#  guest debug %#x dr7 %#llx: %d\n", dbg.control,
			       dbg.arch.debugreg[7], ret);
		f->gdbg_fuzzed = fuzzed = true;
	}
	if (fuzz_one_in(r, 32)) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e[4];
		} m = { .hdr.nmsrs = 1 + fuzz_below(r, 4) };
		unsigned int i;

		for (i = 0; i < m.hdr.nmsrs; i++) {
			m.e[i].index = pick_msr(r);
			m.e[i].data = fuzz_interesting(r);
			if (qemu_svm_host() && m.e[i].index == MSR_EFER)
				m.e[i].data &= ~EFER_LME;
		}
		ret = __vcpu_ioctl(f->vcpu, KVM_SET_MSRS, &m.hdr);
		if (verbose)
			printf("#  msrs %#x=%#llx ...: %d\n", m.e[0].index,
			       m.e[0].data, ret);
		f->msrs_fuzzed = true;
	}
	if (fuzz_one_in(r, 16)) {
		struct kvm_vcpu_events ev = {
			.flags = KVM_VCPUEVENT_VALID_NMI_PENDING,
		};

		switch (fuzz_below(r, 3)) {
		case 0:
			ev.exception.injected = 1;
			ev.exception.nr = fuzz_below(r, 32);
			ev.exception.has_error_code = fuzz_below(r, 2);
			ev.exception.error_code = fuzz_interesting(r);
			break;
		case 1:
			ev.nmi.pending = 1;
			ev.nmi.masked = fuzz_below(r, 2);
			break;
		default:
			ev.interrupt.injected = 1;
			ev.interrupt.nr = fuzz_u64(r);
			ev.interrupt.soft = fuzz_below(r, 2);
			ev.interrupt.shadow = fuzz_below(r, 2);
			break;
		}
		ret = __vcpu_ioctl(f->vcpu, KVM_SET_VCPU_EVENTS, &ev);
		if (verbose)
			printf("#  events exc %u/%u/%u/%#x nmi %u/%u intr %u/%u/%u/%u: %d\n",
			       ev.exception.injected, ev.exception.nr,
			       ev.exception.has_error_code,
			       ev.exception.error_code, ev.nmi.pending,
			       ev.nmi.masked, ev.interrupt.injected,
			       ev.interrupt.nr, ev.interrupt.soft,
			       ev.interrupt.shadow, ret);
		fuzzed = true;
	}
	return fuzzed;
}

/* Undo what the last iteration loaded, so that this one starts clean. */
static void reset_vcpu(struct fvm *f)
{
	struct kvm_vcpu_events ev = { .flags = KVM_VCPUEVENT_VALID_NMI_PENDING };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	memcpy(addr_gpa2hva(f->vm, 0), f->snap_low, SNAP_LOW_END);
	memcpy(addr_gpa2hva(f->vm, PAGE_ALLOC_START), f->snap_pt,
	       f->snap_pt_len);
	vcpu_ioctl(f->vcpu, KVM_SET_VCPU_EVENTS, &ev);
	if (f->irqchip)
		vcpu_ioctl(f->vcpu, KVM_SET_MP_STATE, &mp);
	if (f->dregs_fuzzed) {
		struct kvm_debugregs d = { .dr6 = 0xffff0ff0, .dr7 = 0x400 };

		vcpu_ioctl(f->vcpu, KVM_SET_DEBUGREGS, &d);
		f->dregs_fuzzed = false;
	}
	if (f->gdbg_fuzzed) {
		struct kvm_guest_debug dbg = { 0 };

		vcpu_ioctl(f->vcpu, KVM_SET_GUEST_DEBUG, &dbg);
		f->gdbg_fuzzed = false;
	}
}

/* ------------------------------------------------------------------ */
/* Running                                                              */

/*
 * A timer on this thread whose signal makes KVM_RUN return EINTR.  Its
 * handler is installed without SA_RESTART, so KVM_RUN is not restarted.
 */
static void create_tick(void)
{
	struct sigaction sa = { .sa_handler = on_tick };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGUSR1 };

	sigaction(SIGUSR1, &sa, NULL);
	sev.sigev_notify_thread_id = syscall(SYS_gettid);
	TEST_ASSERT(!timer_create(CLOCK_MONOTONIC, &sev, &tick), "timer_create");
}

/*
 * Periodic while an iteration runs (a tick that came between two KVM_RUNs
 * is followed by another), off otherwise.
 */
static void arm_tick(bool on)
{
	struct itimerspec its = {
		.it_value.tv_nsec = on ? RUN_TICK_NS : 0,
		.it_interval.tv_nsec = on ? RUN_TICK_NS : 0,
	};

	TEST_ASSERT(!timer_settime(tick, 0, &its, NULL), "timer_settime");
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	printf("# %s sel %#x base %#llx limit %#x type %u s %u dpl %u p %u db %u l %u g %u avl %u unusable %u\n",
	       name, s->selector, (unsigned long long)s->base, s->limit,
	       s->type, s->s, s->dpl, s->present, s->db, s->l, s->g, s->avl,
	       s->unusable);
}

/* What the vCPU looks like now, for the report of a failure. */
static void dump_state(struct fvm *f)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;
	struct kvm_regs r;

	if (__vcpu_ioctl(f->vcpu, KVM_GET_SREGS, &s) ||
	    __vcpu_ioctl(f->vcpu, KVM_GET_REGS, &r) ||
	    __vcpu_ioctl(f->vcpu, KVM_GET_VCPU_EVENTS, &ev))
		return;
	printf("# rip %#llx rsp %#llx rflags %#llx rax %#llx rcx %#llx rsi %#llx rdi %#llx\n",
	       r.rip, r.rsp, r.rflags, r.rax, r.rcx, r.rsi, r.rdi);
	printf("# cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx cr8 %#llx efer %#llx apic_base %#llx\n",
	       s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer, s.apic_base);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	dump_seg("ds", &s.ds);
	dump_seg("es", &s.es);
	dump_seg("tr", &s.tr);
	printf("# gdt %#llx/%#x idt %#llx/%#x\n", s.gdt.base, s.gdt.limit,
	       s.idt.base, s.idt.limit);
	printf("# events: exception inj %u nr %u ec %u/%#x; interrupt inj %u nr %u soft %u shadow %#x; nmi inj %u pend %u masked %u\n",
	       ev.exception.injected, ev.exception.nr,
	       ev.exception.has_error_code, ev.exception.error_code,
	       ev.interrupt.injected, ev.interrupt.nr, ev.interrupt.soft,
	       ev.interrupt.shadow, ev.nmi.injected, ev.nmi.pending,
	       ev.nmi.masked);
}

/* kvisor's own view of the vCPU (its VMCB or VMCS), where there is one. */
static void dump_kvisor_state(void)
{
	char prefix[32], path[512], line[256];
	struct dirent *e;
	FILE *fp;
	DIR *d;

	d = opendir(KVISOR_DEBUGFS);
	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), "vm-%d-", getpid());
	path[0] = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			snprintf(path, sizeof(path), "%s/%s/vcpu0/state",
				 KVISOR_DEBUGFS, e->d_name);
	closedir(d);
	fp = path[0] ? fopen(path, "r") : NULL;
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp))
		printf("# | %s", line);
	fclose(fp);
}

/*
 * Report a failure with what it takes to replay it; the test fails, now
 * or, with FUZZ_KEEP_GOING=1, at the end (to see more than the first).
 */
static void __attribute__((format(printf, 2, 3)))
fuzz_fail(struct fvm *f, const char *fmt, ...)
{
	struct kvm_run *run = f->vcpu->run;
	unsigned int i;
	va_list ap;

	printf("# FAIL at iteration %llu (replay: FUZZ_SEED=%#llx FUZZ_ONLY=%llu, or its VM's run: FUZZ_START=%llu FUZZ_COUNT=%llu), %s%s: ",
	       (unsigned long long)cur_iter, (unsigned long long)seed,
	       (unsigned long long)cur_iter,
	       (unsigned long long)(cur_iter / VM_GROUP * VM_GROUP),
	       (unsigned long long)cur_iter + 1, vm_modes[f->mode].name,
	       f->irqchip ? ", irqchip" : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# exit reason %u (%s)%s\n", run->exit_reason,
	       exit_reason_str(run->exit_reason), vcpu_exit_details(f->vcpu));
	dump_state(f);
	dump_kvisor_state();
	printf("# code:");
	for (i = 0; i < last_code_len; i++)
		printf(" %02x", last_code[i]);
	printf("\n");
	fflush(stdout);
	failures++;
	if (!keep_going)
		exit(KSFT_FAIL);
}

/* Complete an I/O or MMIO exit; false when it ends the iteration. */
static bool handle_io(struct fvm *f, struct fuzz_rng *r)
{
	struct kvm_run *run = f->vcpu->run;

	if (run->exit_reason == KVM_EXIT_MMIO) {
		if (!run->mmio.is_write)
			fuzz_fill(r, run->mmio.data, sizeof(run->mmio.data));
		return true;
	}
	if (run->io.port == DONE_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
		ends_done++;
		return false;
	}
	if (run->io.port == EXC_PORT && run->io.direction == KVM_EXIT_IO_OUT &&
	    run->io.size == 1 && run->io.count == 1) {
		exc_hist[*((uint8_t *)run + run->io.data_offset)]++;
		ends_exc++;
		return false;
	}
	if (run->io.direction == KVM_EXIT_IO_IN)
		fuzz_fill(r, (uint8_t *)run + run->io.data_offset,
			  run->io.size * run->io.count);
	return true;
}

/*
 * Run until the iteration ends: DONE_PORT, an exception stub, HLT,
 * shutdown, an error exit, MAX_EXITS exits or the timer.
 */
static void run_iteration(struct fvm *f, struct fuzz_rng *r, bool user_state)
{
	struct kvm_run *run = f->vcpu->run;
	int exits, ret;

	for (exits = 0; exits < MAX_EXITS; exits++) {
		progress_sync();
		ret = ioctl(f->vcpu->fd, KVM_RUN, NULL);
		if (ret < 0) {
			if (errno == EINTR) {
				ends_eintr++;
				errno_hist[0]++;
				return;
			}
			if (errno == EAGAIN) {
				errno_hist[1]++;
				return;
			}
			fuzz_fail(f, "KVM_RUN failed: errno %d (%s)", errno,
				  strerror(errno));
			return;
		}
		TEST_ASSERT(run->exit_reason < ARRAY_SIZE(exit_hist),
			    "exit reason %u", run->exit_reason);
		exit_hist[run->exit_reason]++;
		if (verbose > 1)
			printf("#   exit %s%s mmio %#llx/%u/%u io %#x/%u/%u/%u\n",
			       exit_reason_str(run->exit_reason),
			       vcpu_exit_details(f->vcpu), run->mmio.phys_addr,
			       run->mmio.len, run->mmio.is_write, run->io.port,
			       run->io.size, run->io.count, run->io.direction);
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
		case KVM_EXIT_MMIO:
			if (!handle_io(f, r))
				return;
			break;
		case KVM_EXIT_DEBUG:
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			break;
		case KVM_EXIT_HLT:
			ends_hlt++;
			return;
		case KVM_EXIT_SHUTDOWN:
			ends_shutdown++;
			return;
		case KVM_EXIT_INTERNAL_ERROR:
			ierr_hist[run->internal.suberror < 8 ?
				  run->internal.suberror : 0]++;
			ends_ierr++;
			return;
		case KVM_EXIT_FAIL_ENTRY:
			/* A guest alone must not be able to fail VM entry. */
			if (!user_state) {
				fuzz_fail(f, "failed VM entry after guest code alone");
				return;
			}
			fail_entry_user++;
			return;
		case KVM_EXIT_SYSTEM_EVENT:
		case KVM_EXIT_UNKNOWN:
			ends_other++;
			return;
		default:
			fuzz_fail(f, "undocumented exit");
			return;
		}
	}
	ends_limit++;
}

static void iteration(struct fvm *f, uint64_t iter)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct fuzz_rng r;
	struct gen g;
	bool user_state = f->msrs_fuzzed, sregs_mutated = false;
	uint8_t *code = addr_gpa2hva(f->vm, CODE_GPA);

	fuzz_rng_init(&r, seed, iter);
	if (progress_fd >= 0)	/* a console, say: seen even if the host hangs */
		dprintf(progress_fd, "fuzz_guest: iteration %llu\n",
			(unsigned long long)iter);
	reset_vcpu(f);

	sregs = f->sregs0;
	if (f->bits == 16 && !fuzz_one_in(&r, 4))
		unreal(&sregs);
	if (fuzz_one_in(&r, 8)) {
		mutate_sregs(&r, &sregs);
		sregs_mutated = true;
	}
	if (qemu_svm_host() && (sregs.efer & EFER_LME))
		sregs.cr4 |= X86_CR4_PAE;
	qemu_safe_tr(&sregs.tr);
	if (verbose && sregs_mutated) {
		printf("#  sregs mutated: cr0 %#llx cr3 %#llx cr4 %#llx cr8 %#llx efer %#llx gdt %#llx/%#x idt %#llx/%#x\n",
		       sregs.cr0, sregs.cr3, sregs.cr4, sregs.cr8, sregs.efer,
		       sregs.gdt.base, sregs.gdt.limit, sregs.idt.base,
		       sregs.idt.limit);
		dump_seg("cs", &sregs.cs);
		dump_seg("ds", &sregs.ds);
		dump_seg("es", &sregs.es);
		dump_seg("fs", &sregs.fs);
		dump_seg("gs", &sregs.gs);
		dump_seg("ss", &sregs.ss);
		dump_seg("tr", &sregs.tr);
		dump_seg("ldt", &sregs.ldt);
		fflush(stdout);
	}
	if (__vcpu_ioctl(f->vcpu, KVM_SET_SREGS, &sregs) < 0) {
		TEST_ASSERT(sregs_mutated && errno == EINVAL,
			    "KVM_SET_SREGS: errno %d", errno);
		sregs_einval++;
		vcpu_sregs_set(f->vcpu, &f->sregs0);
	}
	regs = f->regs0;
	random_regs(&r, &regs);
	vcpu_regs_set(f->vcpu, &regs);
	user_state |= sregs_mutated;
	user_state |= random_host_state(f, &r);

	fuzz_fill(&r, addr_gpa2hva(f->vm, SCRATCH_GPA), 2 * PAGE_SIZE_4K);
	fuzz_fill(&r, code, PAGE_SIZE_4K);
	g = (struct gen){ .r = &r, .buf = code, .p = code,
			  .end = code + PAGE_SIZE_4K, .bits = f->bits,
			  .slot0_end = f->vm->slot0_size };
	gen_code(&g, &sregs);
	last_code_len = g.p - code;
	if (last_code_len > sizeof(last_code))
		last_code_len = sizeof(last_code);
	memcpy(last_code, code, last_code_len);
	if (verbose) {
		unsigned int i;

		printf("# %llu:", (unsigned long long)iter);
		for (i = 0; i < last_code_len; i++)
			printf(" %02x", last_code[i]);
		printf("\n");
		fflush(stdout);
	}
	arm_tick(true);
	run_iteration(f, &r, user_state);
	arm_tick(false);
	if (verbose) {
		struct kvm_run *run = f->vcpu->run;

		vcpu_regs_get(f->vcpu, &regs);
		printf("#  -> exit %s%s, rip %#llx, al %#x\n",
		       exit_reason_str(run->exit_reason),
		       vcpu_exit_details(f->vcpu), regs.rip,
		       (uint8_t)regs.rax);
	}
}

static void print_summary(uint64_t count)
{
	unsigned int i;

	ksft_print_msg("%llu iterations; ends: done %lu, exception %lu, hlt %lu, shutdown %lu, internal error %lu, timer %lu, %d exits %lu, other %lu\n",
		       (unsigned long long)count, ends_done, ends_exc, ends_hlt,
		       ends_shutdown, ends_ierr, ends_eintr, MAX_EXITS,
		       ends_limit, ends_other);
	ksft_print_msg("failed entries after userspace state %lu, KVM_SET_SREGS EINVAL %lu, EAGAIN %lu\n",
		       fail_entry_user, sregs_einval, errno_hist[1]);
	for (i = 0; i < ARRAY_SIZE(exit_hist); i++)
		if (exit_hist[i])
			ksft_print_msg("  exit %-16s %lu\n", exit_reason_str(i),
				       exit_hist[i]);
	for (i = 0; i < ARRAY_SIZE(ierr_hist); i++)
		if (ierr_hist[i])
			ksft_print_msg("  internal error suberror %u: %lu\n", i,
				       ierr_hist[i]);
	printf("# guest exceptions:");
	for (i = 0; i < 256; i++)
		if (exc_hist[i])
			printf(" #%u:%lu", i, exc_hist[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	uint64_t count, iter, only, start, group = ~0ULL;
	struct fvm f = { 0 };

	(void)argc;
	fuzz_setup(argv[0], host_cpu_is_amd() ? DEFAULT_COUNT_AMD :
		   DEFAULT_COUNT_INTEL, &seed, &count);
	only = fuzz_env("FUZZ_ONLY", ~0ULL);
	start = fuzz_env("FUZZ_START", 0);
	verbose = fuzz_env("FUZZ_VERBOSE", 0);
	keep_going = fuzz_env("FUZZ_KEEP_GOING", 0);
	if (getenv("FUZZ_PROGRESS"))
		progress_fd = open(getenv("FUZZ_PROGRESS"), O_WRONLY);
	if (progress_fd >= 0 && verbose)	/* all of it, as it happens */
		dup2(progress_fd, 1);
	if (!kvm_check_cap(KVM_CAP_READONLY_MEM))
		ksft_exit_skip("no KVM_CAP_READONLY_MEM\n");
	/*
	 * QEMU's SVM (7.2 and 10.0 alike) can stop running the guest of a
	 * fuzzed VM with host interrupts pending, for tens of seconds under
	 * kvisor and for good under in-tree kvm_amd, at the same iteration
	 * and RIP (seed 1, iterations 2450 then 2469; testing.rst).
	 */
	if (qemu_svm_host() && !fuzz_env("FUZZ_QEMU_SVM", 0))
		ksft_exit_skip("QEMU's SVM stalls fuzzed guests (in-tree kvm_amd too; Documentation/testing.rst); FUZZ_QEMU_SVM=1 runs it\n");
	create_tick();

	for (iter = start; iter < count; iter++) {
		if (only != ~0ULL)
			iter = only;
		cur_iter = iter;
		if (iter / VM_GROUP != group) {
			fvm_free(&f);
			group = iter / VM_GROUP;
			fvm_create(&f, group);
		}
		iteration(&f, iter);
		if (only != ~0ULL)
			break;
	}
	timer_delete(tick);
	fvm_free(&f);
	print_summary(only != ~0ULL ? 1 : count - start);
	if (failures) {
		ksft_print_msg("%lu failures\n", failures);
		exit(KSFT_FAIL);
	}
	ksft_exit_pass();
}
