/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor MMIO instruction emulator.
 *
 * When a guest touches guest-physical memory that is not backed by a memory
 * slot, the hardware only reports the faulting address.  To turn the access
 * into a KVM_EXIT_MMIO the hypervisor has to decode the instruction, find
 * out the access width and direction, and finish the instruction on behalf
 * of the guest.  This emulator covers the instructions that compilers and
 * drivers actually use on device memory (MOV and friends, ALU read-modify-
 * write, TEST, BT*, XCHG and the MOVS/STOS/LODS string moves).
 *
 * The emulator is pure: it includes no headers and calls nothing but the
 * callbacks in struct emu_ops, so that the same file builds into the kernel
 * module and into a userspace unit test.
 *
 * Re-execution protocol
 * ---------------------
 * emu_execute() performs every read an instruction needs before it changes
 * anything.  If the read callback returns EMU_PENDING (the data lives in a
 * device model in userspace), emu_execute() returns EMU_PENDING with no side
 * effect at all.  The caller exits to userspace with KVM_EXIT_MMIO and, once
 * the data is available, decodes and executes the same instruction again;
 * this time the read callback returns the data and the instruction runs to
 * completion.
 *
 * A memory write is always the last step of an instruction.  If the write
 * callback returns EMU_PENDING it means "the write has been handed to
 * userspace and completes there": the emulator treats that as success,
 * commits registers, flags and RIP, and returns EMU_OK.  The caller then
 * exits to userspace to deliver the write and simply resumes the guest
 * afterwards.  A read-modify-write on MMIO therefore costs one round trip
 * for the read and one for the write.
 *
 * REP string instructions run one iteration per emu_execute() call.  RIP
 * only moves past the instruction when the count reaches zero; until then
 * insn.rep_more is set and the caller may call emu_execute() again (the
 * decoded instruction stays valid because the string registers are read at
 * execution time) or re-enter the guest, which re-executes the instruction.
 *
 * LOCK is accepted exactly where the CPU accepts it, but the emulator does
 * not make a read-modify-write atomic: the read and the write are separate
 * callbacks.  For MMIO the device model sees both accesses in order, which
 * is all a device can observe anyway.
 *
 * No segment limit, privilege, alignment or canonical-address checks are
 * made: the access already faulted at the hardware level after those checks
 * passed, and the caller's fetch/read/write callbacks walk the guest page
 * tables and report page faults through emu_set_fault().
 */
#ifndef KVISOR_EMULATE_H
#define KVISOR_EMULATE_H

typedef __UINT8_TYPE__ emu_u8;
typedef __UINT16_TYPE__ emu_u16;
typedef __UINT32_TYPE__ emu_u32;
typedef __UINT64_TYPE__ emu_u64;
typedef __INT8_TYPE__ emu_s8;
typedef __INT16_TYPE__ emu_s16;
typedef __INT32_TYPE__ emu_s32;
typedef __INT64_TYPE__ emu_s64;

/* The architectural limit; longer instructions raise #GP(0). */
#define EMU_MAX_INSN_LEN	15

/* Exception vectors the emulator itself can raise. */
#define EMU_VEC_UD		6
#define EMU_VEC_GP		13

/* RFLAGS bits the emulator reads or writes. */
#define EMU_FLAG_CF		0x001ull
#define EMU_FLAG_PF		0x004ull
#define EMU_FLAG_AF		0x010ull
#define EMU_FLAG_ZF		0x040ull
#define EMU_FLAG_SF		0x080ull
#define EMU_FLAG_DF		0x400ull
#define EMU_FLAG_OF		0x800ull
#define EMU_FLAGS_ARITH		(EMU_FLAG_CF | EMU_FLAG_PF | EMU_FLAG_AF | \
				 EMU_FLAG_ZF | EMU_FLAG_SF | EMU_FLAG_OF)

/* Register numbers follow the ModRM/REX encoding. */
enum emu_reg {
	EMU_RAX, EMU_RCX, EMU_RDX, EMU_RBX, EMU_RSP, EMU_RBP, EMU_RSI, EMU_RDI,
	EMU_R8, EMU_R9, EMU_R10, EMU_R11, EMU_R12, EMU_R13, EMU_R14, EMU_R15,
	EMU_NR_GPRS
};

/* Segment numbers follow the encoding of segment registers in MOV Sreg. */
enum emu_seg {
	EMU_SEG_ES, EMU_SEG_CS, EMU_SEG_SS, EMU_SEG_DS, EMU_SEG_FS, EMU_SEG_GS,
	EMU_NR_SEGS
};

/* The CPU mode the instruction executes in. */
enum emu_mode {
	EMU_MODE_REAL,		/* 16-bit defaults; seg_base = selector << 4 */
	EMU_MODE_PROT16,	/* protected mode, CS.D = 0 */
	EMU_MODE_PROT32,	/* protected or compatibility mode, CS.D = 1 */
	EMU_MODE_LONG64,	/* 64-bit mode, CS.L = 1 */
};

enum emu_result {
	EMU_OK,		/* executed: registers, RFLAGS and RIP updated */
	EMU_PENDING,	/* a read went to userspace; nothing was committed */
	EMU_UNHANDLED,	/* instruction or form not implemented */
	EMU_FAULT,	/* fault_vector/fault_error_code describe a fault */
};

/*
 * Guest memory access.  All addresses are linear (segment base already
 * added); translating them through the guest page tables is the caller's
 * job.
 *
 * Each callback returns 0 on success, EMU_PENDING if the access has to be
 * completed by userspace (MMIO), or a negative value if the guest must take
 * a fault, in which case the callback records the fault with
 * emu_set_fault() before returning.  fetch() must not return EMU_PENDING.
 * Multi-byte values are little-endian in buf, as in guest memory.
 */
struct emu_ops {
	int (*fetch)(void *opaque, emu_u64 linear, void *buf, unsigned int len);
	int (*read)(void *opaque, emu_u64 linear, void *buf, unsigned int len);
	int (*write)(void *opaque, emu_u64 linear, const void *buf,
		     unsigned int len);
};

/* The decoded instruction.  Filled by emu_decode(). */
struct emu_insn {
	emu_u8 bytes[EMU_MAX_INSN_LEN];	/* raw bytes fetched so far */
	emu_u8 nr_fetched;		/* valid entries in bytes[] */
	emu_u8 len;			/* instruction length */
	emu_u16 opcode;			/* 0x00XX, or 0x0FXX after 0F escape */
	emu_u8 op_bytes;		/* operand size: 1, 2, 4 or 8 */
	emu_u8 ad_bytes;		/* address size: 2, 4 or 8 */
	emu_u8 rep;			/* 0, 0xF2 or 0xF3 */
	emu_u8 lock;			/* LOCK prefix present */
	emu_u8 opsize_prefix;		/* 0x66 present */
	emu_u8 adsize_prefix;		/* 0x67 present */
	emu_u8 rex;			/* REX byte (0x40-0x4F), 0 if none */
	/*
	 * enum emu_seg, or -1 if none.  In 64-bit mode ES/CS/SS/DS
	 * overrides are null prefixes and are not recorded.
	 */
	emu_s8 seg_override;
	emu_u8 seg;			/* segment of the memory operand */
	emu_u8 has_modrm;
	emu_u8 modrm;
	emu_u8 mod;			/* ModRM.mod */
	emu_u8 reg;			/* ModRM.reg, REX.R applied */
	emu_u8 rm;			/* ModRM.rm, REX.B applied */
	emu_u8 has_sib;
	emu_u8 sib;
	emu_u8 rip_relative;
	emu_u8 mem;			/* the r/m (or moffs) operand is memory */
	emu_u8 imm_bytes;		/* immediate length in bytes */
	emu_s64 disp;			/* sign-extended displacement or moffs */
	emu_u64 imm;			/* sign-extended immediate */
	emu_u64 ea;			/* effective address, address-size wide */
	emu_u64 linear;			/* segment base + ea */
	/* Private to the emulator: how to execute the instruction. */
	emu_u8 valid;
	emu_u8 op_class;
	emu_u8 op_sub;
	emu_u16 op_flags;
	/* Output of emu_execute(): a REP iteration ran, more remain. */
	emu_u8 rep_more;
};

struct emu_ctxt {
	/* Input, set by the caller. */
	enum emu_mode mode;
	emu_u64 gpr[EMU_NR_GPRS];
	emu_u64 rip;
	emu_u64 rflags;
	/*
	 * linear address = seg_base[seg] + effective address.  In 64-bit
	 * mode only the FS and GS bases are used; ES, CS, SS and DS are
	 * treated as 0 as the CPU does.
	 */
	emu_u64 seg_base[EMU_NR_SEGS];
	const struct emu_ops *ops;
	void *opaque;

	/* Decoded instruction. */
	struct emu_insn insn;

	/* Fault to inject when a call returns EMU_FAULT; -1 if none. */
	int fault_vector;
	emu_u32 fault_error_code;
	int has_error_code;
};

/* Record a fault; for use by callbacks that return a negative value. */
void emu_set_fault(struct emu_ctxt *c, int vector, emu_u32 error_code,
		   int has_error_code);

/*
 * Fetch and decode the instruction at CS base + RIP.  Returns EMU_OK,
 * EMU_UNHANDLED or EMU_FAULT (fetch fault, #GP(0) for an instruction longer
 * than 15 bytes, #UD for a misplaced LOCK prefix); never EMU_PENDING.
 */
int emu_decode(struct emu_ctxt *c);

/*
 * Execute the instruction decoded by emu_decode().  Returns EMU_OK,
 * EMU_PENDING, EMU_UNHANDLED or EMU_FAULT; see the protocol above.
 */
int emu_execute(struct emu_ctxt *c);

/*
 * Whether the instruction emu_decode() decoded has two memory operands
 * (MOVS, CMPS): then the address a nested page fault named may be either.
 */
int emu_insn_two_mem_operands(const struct emu_ctxt *c);

/* Human-readable name of an enum emu_result value, for logging. */
const char *emu_result_name(int r);

#endif /* KVISOR_EMULATE_H */
