// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor MMIO instruction emulator: decoder and executor.
 *
 * See emulate.h for the calling protocol.  The file is organised as:
 *
 *   1. opcode tables: one descriptor per opcode says how to decode it and
 *      which operation class executes it;
 *   2. the decoder: prefixes, opcode, ModRM/SIB/displacement, immediates,
 *      and the effective and linear address of the memory operand;
 *   3. the executor: every instruction is run against a private copy of
 *      the register state, and the copy is committed only when the
 *      instruction has completed (after its single memory write, if any).
 *
 * The file includes no headers so that it builds unchanged in the kernel
 * and in the userspace unit test.
 */
#include "emulate.h"

/* ------------------------------------------------------------------------ */
/* Opcode tables                                                            */
/* ------------------------------------------------------------------------ */

/* Which executor function runs the instruction. */
enum op_class {
	OC_NONE,	/* not implemented: EMU_UNHANDLED */
	OC_GROUP,	/* ModRM.reg selects the real entry in group_table */
	OC_MOV,
	OC_MOVX,	/* MOVZX/MOVSX/MOVSXD; sub = source size | MOVX_SIGN */
	OC_ALU,		/* sub = enum alu_op */
	OC_TEST,
	OC_UNARY,	/* sub = enum unary_op */
	OC_BT,		/* sub = enum bt_op */
	OC_XCHG,
	OC_STRING,	/* sub = enum string_op */
};

/* Numbered as the x86 encoding numbers them (opcode bits 5:3, /digit). */
enum alu_op {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
};

enum unary_op { UN_INC, UN_DEC, UN_NOT, UN_NEG };

enum bt_op { BT_BT, BT_BTS, BT_BTR, BT_BTC };

enum string_op { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS };

#define MOVX_SIGN	0x80

enum group {
	GRP1,		/* 80-83: ALU r/m, imm */
	GRP3,		/* F6/F7: TEST, NOT, NEG (MUL/DIV not handled) */
	GRP_INCDEC,	/* FE/FF: INC, DEC (CALL/JMP/PUSH not handled) */
	GRP8,		/* 0F BA: BT/BTS/BTR/BTC r/m, imm8 */
	GRP11,		/* C6/C7: MOV r/m, imm */
	NR_GROUPS
};

/*
 * Decode flags.  The operand form is described by D_DST_REG and D_SRC_IMM:
 *
 *   neither             destination r/m, source ModRM.reg (e.g. 01 ADD)
 *   D_DST_REG           destination ModRM.reg, source r/m (e.g. 03 ADD)
 *   D_SRC_IMM           destination r/m, source immediate (e.g. 81 /0)
 *
 * Opcodes without a ModRM byte leave reg = rm = 0 and mem = 0, which is
 * exactly the accumulator operand of 04/05, A8/A9 and A0-A3; for A0-A3 the
 * decoder turns the r/m operand into the moffs memory operand.
 */
#define D_MODRM		0x0001	/* a ModRM byte follows the opcode */
#define D_BYTE		0x0002	/* 8-bit operands whatever the prefixes */
#define D_IMM8		0x0004	/* 8-bit immediate, sign-extended */
#define D_IMMZ		0x0008	/* operand-size immediate, at most 32 bits */
#define D_MOFFS		0x0010	/* address-size absolute memory offset */
#define D_LOCK		0x0020	/* LOCK allowed if the destination is memory */
#define D_NO64		0x0040	/* invalid in 64-bit mode */
#define D_ONLY64	0x0080	/* means something else outside 64-bit mode */
#define D_DST_REG	0x0100	/* ModRM.reg is the destination */
#define D_SRC_IMM	0x0200	/* the immediate is the source */

struct opdesc {
	emu_u8 cls;
	emu_u8 sub;
	emu_u16 flags;
};

/* The six classic encodings shared by ADD, OR, ADC, SBB, AND, SUB, XOR, CMP. */
#define ALU_ROW(first, op, lock)					\
	[(first) + 0] = { OC_ALU, op, D_MODRM | D_BYTE | (lock) },	\
	[(first) + 1] = { OC_ALU, op, D_MODRM | (lock) },		\
	[(first) + 2] = { OC_ALU, op, D_MODRM | D_BYTE | D_DST_REG },	\
	[(first) + 3] = { OC_ALU, op, D_MODRM | D_DST_REG },		\
	[(first) + 4] = { OC_ALU, op, D_BYTE | D_SRC_IMM | D_IMMZ },	\
	[(first) + 5] = { OC_ALU, op, D_SRC_IMM | D_IMMZ }

static const struct opdesc onebyte_table[256] = {
	ALU_ROW(0x00, ALU_ADD, D_LOCK),
	ALU_ROW(0x08, ALU_OR, D_LOCK),
	ALU_ROW(0x10, ALU_ADC, D_LOCK),
	ALU_ROW(0x18, ALU_SBB, D_LOCK),
	ALU_ROW(0x20, ALU_AND, D_LOCK),
	ALU_ROW(0x28, ALU_SUB, D_LOCK),
	ALU_ROW(0x30, ALU_XOR, D_LOCK),
	ALU_ROW(0x38, ALU_CMP, 0),
	/* Outside 64-bit mode 63 is ARPL, which never touches MMIO. */
	[0x63] = { OC_MOVX, 4 | MOVX_SIGN, D_MODRM | D_DST_REG | D_ONLY64 },
	[0x80] = { OC_GROUP, GRP1, D_MODRM | D_BYTE | D_SRC_IMM | D_IMM8 },
	[0x81] = { OC_GROUP, GRP1, D_MODRM | D_SRC_IMM | D_IMMZ },
	[0x82] = { OC_GROUP, GRP1,
		   D_MODRM | D_BYTE | D_SRC_IMM | D_IMM8 | D_NO64 },
	[0x83] = { OC_GROUP, GRP1, D_MODRM | D_SRC_IMM | D_IMM8 },
	[0x84] = { OC_TEST, 0, D_MODRM | D_BYTE },
	[0x85] = { OC_TEST, 0, D_MODRM },
	/* XCHG with memory is locked whether or not the prefix is there. */
	[0x86] = { OC_XCHG, 0, D_MODRM | D_BYTE | D_LOCK },
	[0x87] = { OC_XCHG, 0, D_MODRM | D_LOCK },
	[0x88] = { OC_MOV, 0, D_MODRM | D_BYTE },
	[0x89] = { OC_MOV, 0, D_MODRM },
	[0x8a] = { OC_MOV, 0, D_MODRM | D_BYTE | D_DST_REG },
	[0x8b] = { OC_MOV, 0, D_MODRM | D_DST_REG },
	[0xa0] = { OC_MOV, 0, D_MOFFS | D_BYTE | D_DST_REG },
	[0xa1] = { OC_MOV, 0, D_MOFFS | D_DST_REG },
	[0xa2] = { OC_MOV, 0, D_MOFFS | D_BYTE },
	[0xa3] = { OC_MOV, 0, D_MOFFS },
	[0xa4] = { OC_STRING, STR_MOVS, D_BYTE },
	[0xa5] = { OC_STRING, STR_MOVS, 0 },
	[0xa8] = { OC_TEST, 0, D_BYTE | D_SRC_IMM | D_IMMZ },
	[0xa9] = { OC_TEST, 0, D_SRC_IMM | D_IMMZ },
	[0xa6] = { OC_STRING, STR_CMPS, D_BYTE },
	[0xa7] = { OC_STRING, STR_CMPS, 0 },
	[0xaa] = { OC_STRING, STR_STOS, D_BYTE },
	[0xab] = { OC_STRING, STR_STOS, 0 },
	[0xae] = { OC_STRING, STR_SCAS, D_BYTE },
	[0xaf] = { OC_STRING, STR_SCAS, 0 },
	[0xac] = { OC_STRING, STR_LODS, D_BYTE },
	[0xad] = { OC_STRING, STR_LODS, 0 },
	[0xc6] = { OC_GROUP, GRP11, D_MODRM | D_BYTE },
	[0xc7] = { OC_GROUP, GRP11, D_MODRM },
	[0xf6] = { OC_GROUP, GRP3, D_MODRM | D_BYTE },
	[0xf7] = { OC_GROUP, GRP3, D_MODRM },
	[0xfe] = { OC_GROUP, GRP_INCDEC, D_MODRM | D_BYTE },
	[0xff] = { OC_GROUP, GRP_INCDEC, D_MODRM },
};

/* Opcodes after the 0F escape byte. */
static const struct opdesc twobyte_table[256] = {
	[0xa3] = { OC_BT, BT_BT, D_MODRM },
	[0xab] = { OC_BT, BT_BTS, D_MODRM | D_LOCK },
	[0xb3] = { OC_BT, BT_BTR, D_MODRM | D_LOCK },
	[0xb6] = { OC_MOVX, 1, D_MODRM | D_DST_REG },
	[0xb7] = { OC_MOVX, 2, D_MODRM | D_DST_REG },
	[0xba] = { OC_GROUP, GRP8, D_MODRM },
	[0xbb] = { OC_BT, BT_BTC, D_MODRM | D_LOCK },
	[0xbe] = { OC_MOVX, 1 | MOVX_SIGN, D_MODRM | D_DST_REG },
	[0xbf] = { OC_MOVX, 2 | MOVX_SIGN, D_MODRM | D_DST_REG },
};

/*
 * Group members, indexed by ModRM.reg.  Their flags are added to those of
 * the opcode, which carries the ModRM, size and (for group 1) immediate.
 */
static const struct opdesc group_table[NR_GROUPS][8] = {
	[GRP1] = {
		{ OC_ALU, ALU_ADD, D_LOCK }, { OC_ALU, ALU_OR, D_LOCK },
		{ OC_ALU, ALU_ADC, D_LOCK }, { OC_ALU, ALU_SBB, D_LOCK },
		{ OC_ALU, ALU_AND, D_LOCK }, { OC_ALU, ALU_SUB, D_LOCK },
		{ OC_ALU, ALU_XOR, D_LOCK }, { OC_ALU, ALU_CMP, 0 },
	},
	[GRP3] = {
		[0] = { OC_TEST, 0, D_SRC_IMM | D_IMMZ },
		[2] = { OC_UNARY, UN_NOT, D_LOCK },
		[3] = { OC_UNARY, UN_NEG, D_LOCK },
	},
	[GRP_INCDEC] = {
		[0] = { OC_UNARY, UN_INC, D_LOCK },
		[1] = { OC_UNARY, UN_DEC, D_LOCK },
	},
	[GRP8] = {
		[4] = { OC_BT, BT_BT, D_SRC_IMM | D_IMM8 },
		[5] = { OC_BT, BT_BTS, D_SRC_IMM | D_IMM8 | D_LOCK },
		[6] = { OC_BT, BT_BTR, D_SRC_IMM | D_IMM8 | D_LOCK },
		[7] = { OC_BT, BT_BTC, D_SRC_IMM | D_IMM8 | D_LOCK },
	},
	[GRP11] = {
		[0] = { OC_MOV, 0, D_SRC_IMM | D_IMMZ },
	},
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static emu_u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static emu_u64 sign_extend(emu_u64 val, unsigned int size)
{
	unsigned int shift = 64 - 8 * size;

	return (emu_u64)((emu_s64)(val << shift) >> shift);
}

static emu_u64 le_to_u64(const emu_u8 *buf, unsigned int len)
{
	emu_u64 val = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		val |= (emu_u64)buf[i] << (8 * i);
	return val;
}

static void u64_to_le(emu_u8 *buf, emu_u64 val, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		buf[i] = val >> (8 * i);
}

void emu_set_fault(struct emu_ctxt *c, int vector, emu_u32 error_code,
		   int has_error_code)
{
	c->fault_vector = vector;
	c->fault_error_code = error_code;
	c->has_error_code = has_error_code;
}

/*
 * Map a callback's return value onto an emulator result.  A callback that
 * reports a fault without recording one leaves nothing to inject, so that
 * counts as unhandled rather than as a fault with a garbage vector.
 */
static int callback_result(struct emu_ctxt *c, int ret, int pending_ok)
{
	if (ret == 0)
		return EMU_OK;
	if (ret == EMU_PENDING && pending_ok)
		return EMU_PENDING;
	if (ret < 0 && c->fault_vector >= 0)
		return EMU_FAULT;
	return EMU_UNHANDLED;
}

/*
 * Outside 64-bit mode linear addresses are 32 bits wide and wrap; in 64-bit
 * mode only FS and GS still have a base.
 */
static emu_u64 linear_addr(const struct emu_ctxt *c, unsigned int seg,
			   emu_u64 ea)
{
	if (c->mode == EMU_MODE_LONG64) {
		if (seg == EMU_SEG_FS || seg == EMU_SEG_GS)
			return c->seg_base[seg] + ea;
		return ea;
	}
	return (c->seg_base[seg] + ea) & 0xffffffffull;
}

/*
 * Outside 64-bit mode EIP is 32 bits wide.  16-bit code that runs past
 * 0xFFFF faults on its next fetch (segment limit), which is not ours to
 * model.
 */
static emu_u64 rip_add(const struct emu_ctxt *c, emu_u64 n)
{
	if (c->mode == EMU_MODE_LONG64)
		return c->rip + n;
	return (c->rip + n) & 0xffffffffull;
}

/* Linear address of the instruction byte 'offset' bytes past RIP. */
static emu_u64 fetch_linear(const struct emu_ctxt *c, unsigned int offset)
{
	return linear_addr(c, EMU_SEG_CS, rip_add(c, offset));
}

/* ------------------------------------------------------------------------ */
/* Decoder                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Fetch the rest of the 15-byte window, but never past the end of the page
 * on the first call: a short instruction at the end of a page must not
 * fault because the next page is unmapped.  Only when the decoder really
 * needs a byte from the next page is that page fetched.
 */
static int fetch_more(struct emu_ctxt *c)
{
	struct emu_insn *in = &c->insn;
	emu_u64 linear = fetch_linear(c, in->nr_fetched);
	unsigned int len = EMU_MAX_INSN_LEN - in->nr_fetched;
	unsigned int to_page_end = 4096 - (linear & 4095);
	int ret;

	if (len > to_page_end)
		len = to_page_end;
	ret = c->ops->fetch(c->opaque, linear, in->bytes + in->nr_fetched,
			    len);
	ret = callback_result(c, ret, 0);
	if (ret == EMU_OK)
		in->nr_fetched += len;
	return ret;
}

/* Consume 'n' instruction bytes as a little-endian value. */
static int next_bytes(struct emu_ctxt *c, unsigned int n, emu_u64 *val)
{
	struct emu_insn *in = &c->insn;
	unsigned int i;
	int ret;

	*val = 0;
	for (i = 0; i < n; i++) {
		if (in->len >= EMU_MAX_INSN_LEN) {
			emu_set_fault(c, EMU_VEC_GP, 0, 1);
			return EMU_FAULT;
		}
		if (in->len >= in->nr_fetched) {
			ret = fetch_more(c);
			if (ret != EMU_OK)
				return ret;
		}
		*val |= (emu_u64)in->bytes[in->len++] << (8 * i);
	}
	return EMU_OK;
}

static int next_byte(struct emu_ctxt *c, emu_u8 *byte)
{
	emu_u64 val;
	int ret = next_bytes(c, 1, &val);

	*byte = val;
	return ret;
}

/* Returns the segment a prefix selects, or -1 if it is no segment prefix. */
static int segment_prefix(emu_u8 byte)
{
	switch (byte) {
	case 0x26:
		return EMU_SEG_ES;
	case 0x2e:
		return EMU_SEG_CS;
	case 0x36:
		return EMU_SEG_SS;
	case 0x3e:
		return EMU_SEG_DS;
	case 0x64:
		return EMU_SEG_FS;
	case 0x65:
		return EMU_SEG_GS;
	}
	return -1;
}

/* Consume prefixes; on success *opcode is the first non-prefix byte. */
static int decode_prefixes(struct emu_ctxt *c, emu_u8 *opcode)
{
	struct emu_insn *in = &c->insn;
	emu_u8 b;
	int ret, seg;

	for (;;) {
		ret = next_byte(c, &b);
		if (ret != EMU_OK)
			return ret;

		seg = segment_prefix(b);
		if (seg >= 0) {
			/*
			 * In 64-bit mode the ES/CS/SS/DS overrides are null
			 * prefixes that do not even cancel an earlier FS/GS
			 * (documented by AMD, and what AMD hardware does).
			 */
			if (c->mode != EMU_MODE_LONG64 || seg >= EMU_SEG_FS)
				in->seg_override = seg;
		} else if (b == 0x66) {
			in->opsize_prefix = 1;
		} else if (b == 0x67) {
			in->adsize_prefix = 1;
		} else if (b == 0xf0) {
			in->lock = 1;
		} else if (b == 0xf2 || b == 0xf3) {
			/* The last of F2/F3 wins, as on hardware. */
			in->rep = b;
		} else if (c->mode == EMU_MODE_LONG64 && (b & 0xf0) == 0x40) {
			in->rex = b;
			continue;
		} else {
			*opcode = b;
			return EMU_OK;
		}
		/* A REX prefix only counts right before the opcode. */
		in->rex = 0;
	}
}

static void set_sizes(struct emu_ctxt *c, emu_u16 flags)
{
	struct emu_insn *in = &c->insn;

	switch (c->mode) {
	case EMU_MODE_LONG64:
		in->op_bytes = 4;
		in->ad_bytes = in->adsize_prefix ? 4 : 8;
		break;
	case EMU_MODE_PROT32:
		in->op_bytes = 4;
		in->ad_bytes = in->adsize_prefix ? 2 : 4;
		break;
	default:
		in->op_bytes = 2;
		in->ad_bytes = in->adsize_prefix ? 4 : 2;
		break;
	}
	if (in->opsize_prefix)
		in->op_bytes ^= 2 ^ 4;
	/* REX.W beats 0x66. */
	if (in->rex & 0x08)
		in->op_bytes = 8;
	if (flags & D_BYTE)
		in->op_bytes = 1;
}

/* 16-bit addressing: fixed base/index pairs, no SIB, no scaling. */
static int decode_ea16(struct emu_ctxt *c)
{
	static const emu_u8 base[8] = {
		EMU_RBX, EMU_RBX, EMU_RBP, EMU_RBP,
		EMU_RSI, EMU_RDI, EMU_RBP, EMU_RBX,
	};
	static const emu_u8 index[4] = { EMU_RSI, EMU_RDI, EMU_RSI, EMU_RDI };
	struct emu_insn *in = &c->insn;
	unsigned int rm = in->modrm & 7;
	emu_u64 disp = 0;
	int ret = EMU_OK;

	if (in->mod == 1) {
		ret = next_bytes(c, 1, &disp);
		disp = sign_extend(disp, 1);
	} else if (in->mod == 2 || (in->mod == 0 && rm == 6)) {
		ret = next_bytes(c, 2, &disp);
		disp = sign_extend(disp, 2);
	}
	if (ret != EMU_OK)
		return ret;

	in->disp = disp;
	in->seg = EMU_SEG_DS;
	if (in->mod == 0 && rm == 6) {
		in->ea = disp & 0xffff;
		return EMU_OK;
	}
	in->ea = c->gpr[base[rm]] + disp;
	if (rm < 4)
		in->ea += c->gpr[index[rm]];
	in->ea &= 0xffff;
	if (base[rm] == EMU_RBP)
		in->seg = EMU_SEG_SS;
	return EMU_OK;
}

/*
 * 32/64-bit addressing.  REX.X and REX.B extend the index and base, but the
 * special encodings (rm = 4 means SIB, base = 5 with mod = 0 means no base)
 * look at the low three bits only.
 */
static int decode_ea32(struct emu_ctxt *c)
{
	struct emu_insn *in = &c->insn;
	int base = in->rm, index = -1;
	unsigned int scale = 0;
	emu_u64 disp = 0;
	int ret = EMU_OK;

	if ((in->modrm & 7) == 4) {
		ret = next_byte(c, &in->sib);
		if (ret != EMU_OK)
			return ret;
		in->has_sib = 1;
		scale = in->sib >> 6;
		index = ((in->sib >> 3) & 7) | ((in->rex & 0x02) << 2);
		if (index == EMU_RSP)
			index = -1;
		base = (in->sib & 7) | ((in->rex & 0x01) << 3);
		if ((in->sib & 7) == 5 && in->mod == 0)
			base = -1;
	} else if ((in->modrm & 7) == 5 && in->mod == 0) {
		base = -1;
		in->rip_relative = c->mode == EMU_MODE_LONG64;
	}

	if (in->mod == 1) {
		ret = next_bytes(c, 1, &disp);
		disp = sign_extend(disp, 1);
	} else if (in->mod == 2 || base < 0) {
		ret = next_bytes(c, 4, &disp);
		disp = sign_extend(disp, 4);
	}
	if (ret != EMU_OK)
		return ret;

	in->disp = disp;
	in->ea = disp;
	if (base >= 0)
		in->ea += c->gpr[base];
	if (index >= 0)
		in->ea += c->gpr[index] << scale;
	in->ea &= size_mask(in->ad_bytes);
	in->seg = (base == EMU_RSP || base == EMU_RBP) ? EMU_SEG_SS :
							    EMU_SEG_DS;
	return EMU_OK;
}

static int decode_modrm(struct emu_ctxt *c)
{
	struct emu_insn *in = &c->insn;
	int ret;

	ret = next_byte(c, &in->modrm);
	if (ret != EMU_OK)
		return ret;
	in->has_modrm = 1;
	in->mod = in->modrm >> 6;
	in->reg = ((in->modrm >> 3) & 7) | ((in->rex & 0x04) << 1);
	in->rm = (in->modrm & 7) | ((in->rex & 0x01) << 3);
	if (in->mod == 3)
		return EMU_OK;

	in->mem = 1;
	if (in->ad_bytes == 2)
		return decode_ea16(c);
	return decode_ea32(c);
}

static int decode_moffs(struct emu_ctxt *c)
{
	struct emu_insn *in = &c->insn;
	emu_u64 offset;
	int ret;

	ret = next_bytes(c, in->ad_bytes, &offset);
	if (ret != EMU_OK)
		return ret;
	in->mem = 1;
	in->disp = offset;
	in->ea = offset;
	in->seg = EMU_SEG_DS;
	return EMU_OK;
}

static int decode_imm(struct emu_ctxt *c, emu_u16 flags)
{
	struct emu_insn *in = &c->insn;
	int ret;

	if (flags & D_IMM8)
		in->imm_bytes = 1;
	else if (flags & D_IMMZ)
		in->imm_bytes = in->op_bytes > 4 ? 4 : in->op_bytes;
	else
		return EMU_OK;

	ret = next_bytes(c, in->imm_bytes, &in->imm);
	if (ret == EMU_OK)
		in->imm = sign_extend(in->imm, in->imm_bytes);
	return ret;
}

/* Look up the opcode (after 0F if present) and resolve groups. */
static int decode_opcode(struct emu_ctxt *c, emu_u8 byte, struct opdesc *d)
{
	struct emu_insn *in = &c->insn;
	int ret;

	in->opcode = byte;
	*d = onebyte_table[byte];
	if (byte == 0x0f) {
		ret = next_byte(c, &byte);
		if (ret != EMU_OK)
			return ret;
		in->opcode = 0x0f00 | byte;
		*d = twobyte_table[byte];
	}
	if (d->cls == OC_NONE)
		return EMU_UNHANDLED;
	if ((d->flags & D_NO64) && c->mode == EMU_MODE_LONG64)
		return EMU_UNHANDLED;
	if ((d->flags & D_ONLY64) && c->mode != EMU_MODE_LONG64)
		return EMU_UNHANDLED;

	set_sizes(c, d->flags);
	if (d->flags & D_MODRM) {
		ret = decode_modrm(c);
		if (ret != EMU_OK)
			return ret;
	}
	if (d->cls == OC_GROUP) {
		const struct opdesc *g = &group_table[d->sub][in->reg & 7];

		if (g->cls == OC_NONE)
			return EMU_UNHANDLED;
		d->cls = g->cls;
		d->sub = g->sub;
		d->flags |= g->flags;
	}
	return EMU_OK;
}

/* LOCK is only legal on a read-modify-write whose destination is memory. */
static int lock_allowed(const struct emu_insn *in, emu_u16 flags)
{
	return (flags & D_LOCK) && in->mem && !(flags & D_DST_REG);
}

int emu_decode(struct emu_ctxt *c)
{
	struct emu_insn *in = &c->insn;
	struct opdesc d;
	emu_u8 byte;
	int ret;

	__builtin_memset(in, 0, sizeof(*in));
	in->seg_override = -1;
	emu_set_fault(c, -1, 0, 0);

	ret = decode_prefixes(c, &byte);
	if (ret == EMU_OK)
		ret = decode_opcode(c, byte, &d);
	if (ret == EMU_OK && (d.flags & D_MOFFS))
		ret = decode_moffs(c);
	if (ret == EMU_OK)
		ret = decode_imm(c, d.flags);
	if (ret != EMU_OK)
		return ret;

	/* RIP-relative addresses count from the end of the instruction. */
	if (in->rip_relative) {
		in->ea = rip_add(c, in->len) + in->disp;
		in->ea &= size_mask(in->ad_bytes);
	}
	if (in->lock && !lock_allowed(in, d.flags)) {
		emu_set_fault(c, EMU_VEC_UD, 0, 0);
		return EMU_FAULT;
	}
	if (in->seg_override >= 0)
		in->seg = in->seg_override;
	if (in->mem)
		in->linear = linear_addr(c, in->seg, in->ea);

	in->op_class = d.cls;
	in->op_sub = d.sub;
	in->op_flags = d.flags;
	in->valid = 1;
	return EMU_OK;
}

/* ------------------------------------------------------------------------ */
/* Executor                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Everything an instruction changes is staged here and copied back to the
 * context only once the instruction completes, so that a read that has to
 * go to userspace, or a fault, leaves the context untouched.
 */
struct emu_state {
	emu_u64 gpr[EMU_NR_GPRS];
	emu_u64 rflags;
	emu_u64 rip;
	int rep_more;
	/* At most one memory write, performed as the very last step. */
	int write;
	unsigned int write_len;
	emu_u64 write_linear;
	emu_u64 write_val;
};

/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
static int is_high_byte(const struct emu_ctxt *c, unsigned int reg,
			unsigned int size)
{
	return size == 1 && !c->insn.rex && reg >= 4 && reg < 8;
}

static emu_u64 reg_get(const struct emu_ctxt *c, const struct emu_state *s,
		       unsigned int reg, unsigned int size)
{
	if (is_high_byte(c, reg, size))
		return (s->gpr[reg - 4] >> 8) & 0xff;
	return s->gpr[reg] & size_mask(size);
}

/* 8/16-bit writes merge; 32-bit writes zero the upper half, as on x86-64. */
static void reg_set(const struct emu_ctxt *c, struct emu_state *s,
		    unsigned int reg, unsigned int size, emu_u64 val)
{
	emu_u64 *r = &s->gpr[reg];

	switch (size) {
	case 1:
		if (is_high_byte(c, reg, size)) {
			r = &s->gpr[reg - 4];
			*r = (*r & ~0xff00ull) | ((val & 0xff) << 8);
		} else {
			*r = (*r & ~0xffull) | (val & 0xff);
		}
		break;
	case 2:
		*r = (*r & ~0xffffull) | (val & 0xffff);
		break;
	case 4:
		*r = val & 0xffffffffull;
		break;
	default:
		*r = val;
		break;
	}
}

static int mem_read(struct emu_ctxt *c, emu_u64 linear, unsigned int size,
		    emu_u64 *val)
{
	emu_u8 buf[8] = { 0 };
	int ret;

	ret = c->ops->read(c->opaque, linear, buf, size);
	ret = callback_result(c, ret, 1);
	if (ret == EMU_OK)
		*val = le_to_u64(buf, size);
	return ret;
}

static void mem_write(struct emu_state *s, emu_u64 linear, unsigned int size,
		      emu_u64 val)
{
	s->write = 1;
	s->write_linear = linear;
	s->write_len = size;
	s->write_val = val;
}

/* The r/m operand: a register if ModRM.mod = 3, else memory at insn.linear. */
static int rm_read(struct emu_ctxt *c, const struct emu_state *s,
		   unsigned int size, emu_u64 *val)
{
	if (!c->insn.mem) {
		*val = reg_get(c, s, c->insn.rm, size);
		return EMU_OK;
	}
	return mem_read(c, c->insn.linear, size, val);
}

static void rm_write(struct emu_ctxt *c, struct emu_state *s,
		     unsigned int size, emu_u64 val)
{
	if (c->insn.mem)
		mem_write(s, c->insn.linear, size, val);
	else
		reg_set(c, s, c->insn.rm, size, val);
}

/* Source and destination of two-operand forms, see the D_* comment. */
static int src_read(struct emu_ctxt *c, const struct emu_state *s,
		    emu_u64 *val)
{
	const struct emu_insn *in = &c->insn;

	if (in->op_flags & D_SRC_IMM) {
		*val = in->imm & size_mask(in->op_bytes);
		return EMU_OK;
	}
	if (in->op_flags & D_DST_REG)
		return rm_read(c, s, in->op_bytes, val);
	*val = reg_get(c, s, in->reg, in->op_bytes);
	return EMU_OK;
}

static int dst_read(struct emu_ctxt *c, const struct emu_state *s,
		    emu_u64 *val)
{
	const struct emu_insn *in = &c->insn;

	if (in->op_flags & D_DST_REG) {
		*val = reg_get(c, s, in->reg, in->op_bytes);
		return EMU_OK;
	}
	return rm_read(c, s, in->op_bytes, val);
}

static void dst_write(struct emu_ctxt *c, struct emu_state *s, emu_u64 val)
{
	const struct emu_insn *in = &c->insn;

	if (in->op_flags & D_DST_REG)
		reg_set(c, s, in->reg, in->op_bytes, val);
	else
		rm_write(c, s, in->op_bytes, val);
}

/* ZF, SF and PF describe the result the same way for every ALU op. */
static emu_u64 result_flags(emu_u64 res, unsigned int size)
{
	emu_u64 flags = 0;
	unsigned int low = res & 0xff;

	if (!(res & size_mask(size)))
		flags |= EMU_FLAG_ZF;
	if (res & (1ull << (8 * size - 1)))
		flags |= EMU_FLAG_SF;
	/* PF is set when the low byte has an even number of one bits. */
	low ^= low >> 4;
	if (!((0x6996 >> (low & 0xf)) & 1))
		flags |= EMU_FLAG_PF;
	return flags;
}

/*
 * Compute a binary ALU operation and its six status flags.  Carry and
 * overflow are derived from the operands and the truncated result, which
 * works the same for every operand size including 64 bits.  The logical
 * operations clear AF, as current Intel and AMD processors do.
 */
static emu_u64 alu_calc(unsigned int op, emu_u64 a, emu_u64 b,
			unsigned int size, emu_u64 *rflags)
{
	emu_u64 mask = size_mask(size), sign = 1ull << (8 * size - 1);
	emu_u64 cin = 0, res, flags = 0;

	a &= mask;
	b &= mask;
	if (op == ALU_ADC || op == ALU_SBB)
		cin = *rflags & EMU_FLAG_CF;

	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		res = (a + b + cin) & mask;
		if (res < a || (cin && res == a))
			flags |= EMU_FLAG_CF;
		if ((a ^ res) & (b ^ res) & sign)
			flags |= EMU_FLAG_OF;
		flags |= (a ^ b ^ res) & EMU_FLAG_AF;
		break;
	case ALU_SUB:
	case ALU_SBB:
	case ALU_CMP:
		res = (a - b - cin) & mask;
		if (a < b || (cin && a == b))
			flags |= EMU_FLAG_CF;
		if ((a ^ b) & (a ^ res) & sign)
			flags |= EMU_FLAG_OF;
		flags |= (a ^ b ^ res) & EMU_FLAG_AF;
		break;
	case ALU_OR:
		res = a | b;
		break;
	case ALU_AND:
		res = a & b;
		break;
	default:
		res = a ^ b;
		break;
	}
	*rflags = (*rflags & ~EMU_FLAGS_ARITH) | flags |
		  result_flags(res, size);
	return res;
}

static int exec_mov(struct emu_ctxt *c, struct emu_state *s)
{
	emu_u64 val;
	int ret;

	ret = src_read(c, s, &val);
	if (ret == EMU_OK)
		dst_write(c, s, val);
	return ret;
}

/* MOVZX, MOVSX and MOVSXD: the source is never wider than the destination */
static int exec_movx(struct emu_ctxt *c, struct emu_state *s)
{
	const struct emu_insn *in = &c->insn;
	unsigned int size = in->op_sub & ~MOVX_SIGN;
	emu_u64 val;
	int ret;

	if (size > in->op_bytes)
		size = in->op_bytes;
	ret = rm_read(c, s, size, &val);
	if (ret != EMU_OK)
		return ret;
	if (in->op_sub & MOVX_SIGN)
		val = sign_extend(val, size);
	reg_set(c, s, in->reg, in->op_bytes, val);
	return EMU_OK;
}

/* Two-operand arithmetic and TEST; CMP and TEST write no destination. */
static int exec_alu(struct emu_ctxt *c, struct emu_state *s)
{
	const struct emu_insn *in = &c->insn;
	unsigned int op = in->op_class == OC_TEST ? ALU_AND : in->op_sub;
	emu_u64 src, dst, res;
	int ret;

	ret = src_read(c, s, &src);
	if (ret == EMU_OK)
		ret = dst_read(c, s, &dst);
	if (ret != EMU_OK)
		return ret;

	res = alu_calc(op, dst, src, in->op_bytes, &s->rflags);
	if (in->op_class != OC_TEST && op != ALU_CMP)
		dst_write(c, s, res);
	return EMU_OK;
}

/* INC and DEC keep CF; NOT changes no flags. */
static int exec_unary(struct emu_ctxt *c, struct emu_state *s)
{
	const struct emu_insn *in = &c->insn;
	emu_u64 val, cf = s->rflags & EMU_FLAG_CF;
	int ret;

	ret = rm_read(c, s, in->op_bytes, &val);
	if (ret != EMU_OK)
		return ret;

	switch (in->op_sub) {
	case UN_INC:
		val = alu_calc(ALU_ADD, val, 1, in->op_bytes, &s->rflags);
		s->rflags = (s->rflags & ~EMU_FLAG_CF) | cf;
		break;
	case UN_DEC:
		val = alu_calc(ALU_SUB, val, 1, in->op_bytes, &s->rflags);
		s->rflags = (s->rflags & ~EMU_FLAG_CF) | cf;
		break;
	case UN_NOT:
		val = ~val;
		break;
	default:
		val = alu_calc(ALU_SUB, 0, val, in->op_bytes, &s->rflags);
		break;
	}
	rm_write(c, s, in->op_bytes, val & size_mask(in->op_bytes));
	return EMU_OK;
}

/*
 * BT, BTS, BTR, BTC.  With a register bit offset and a memory operand the
 * offset is a signed number that may select a bit outside the operand: the
 * CPU then accesses the operand-sized word (offset >> log2(bits)) words
 * away.  An immediate offset, or a register operand, wraps within the
 * operand.  Only CF is defined (the other flags are left alone, as the
 * hardware does).
 */
static int exec_bt(struct emu_ctxt *c, struct emu_state *s)
{
	const struct emu_insn *in = &c->insn;
	unsigned int size = in->op_bytes;
	unsigned int log2_size = size == 2 ? 1 : size == 4 ? 2 : 3;
	unsigned int log2_bits = log2_size + 3;
	emu_u64 offset, val, bit, ea, linear = in->linear;
	int ret;

	if (in->op_flags & D_SRC_IMM)
		offset = in->imm;
	else
		offset = sign_extend(reg_get(c, s, in->reg, size), size);

	if (in->mem && !(in->op_flags & D_SRC_IMM)) {
		ea = (emu_s64)offset >> log2_bits;
		ea = (in->ea + (ea << log2_size)) & size_mask(in->ad_bytes);
		linear = linear_addr(c, in->seg, ea);
	}
	bit = 1ull << (offset & ((1u << log2_bits) - 1));

	if (in->mem)
		ret = mem_read(c, linear, size, &val);
	else
		ret = rm_read(c, s, size, &val);
	if (ret != EMU_OK)
		return ret;

	s->rflags &= ~EMU_FLAG_CF;
	if (val & bit)
		s->rflags |= EMU_FLAG_CF;

	if (in->op_sub == BT_BT)
		return EMU_OK;
	if (in->op_sub == BT_BTS)
		val |= bit;
	else if (in->op_sub == BT_BTR)
		val &= ~bit;
	else
		val ^= bit;

	if (in->mem)
		mem_write(s, linear, size, val);
	else
		rm_write(c, s, size, val);
	return EMU_OK;
}

static int exec_xchg(struct emu_ctxt *c, struct emu_state *s)
{
	const struct emu_insn *in = &c->insn;
	emu_u64 old_rm, old_reg;
	int ret;

	ret = rm_read(c, s, in->op_bytes, &old_rm);
	if (ret != EMU_OK)
		return ret;
	old_reg = reg_get(c, s, in->reg, in->op_bytes);
	rm_write(c, s, in->op_bytes, old_reg);
	reg_set(c, s, in->reg, in->op_bytes, old_rm);
	return EMU_OK;
}

/* Advance a string pointer by one element, wrapping at the address size. */
static void string_advance(const struct emu_ctxt *c, struct emu_state *s,
			   unsigned int reg)
{
	const struct emu_insn *in = &c->insn;
	emu_u64 step = in->op_bytes;

	if (s->rflags & EMU_FLAG_DF)
		step = -step;
	reg_set(c, s, reg, in->ad_bytes,
		reg_get(c, s, reg, in->ad_bytes) + step);
}

/*
 * One iteration of MOVS, STOS, LODS, CMPS or SCAS.  The source is DS:rSI
 * (segment override allowed), the destination ES:rDI (no override).  With
 * a REP prefix RIP stays on the instruction until rCX reaches zero, so the
 * guest re-executes it; a REP with rCX = 0 does nothing but advance RIP.
 * CMPS compares source minus destination, SCAS rAX minus destination, as
 * CMP does, and their REPE (F3) also stops once ZF is clear, REPNE (F2)
 * once it is set.
 */
static int exec_string(struct emu_ctxt *c, struct emu_state *s)
{
	const struct emu_insn *in = &c->insn;
	unsigned int src_seg = in->seg_override >= 0 ? in->seg_override :
						       EMU_SEG_DS;
	unsigned int size = in->op_bytes, ad = in->ad_bytes;
	emu_u64 src = linear_addr(c, src_seg, reg_get(c, s, EMU_RSI, ad));
	emu_u64 dst = linear_addr(c, EMU_SEG_ES, reg_get(c, s, EMU_RDI, ad));
	emu_u64 count = reg_get(c, s, EMU_RCX, ad);
	emu_u64 val = 0, cmp = 0;
	int ret = EMU_OK;

	if (in->rep && count == 0)
		return EMU_OK;

	if (in->op_sub == STR_STOS || in->op_sub == STR_SCAS)
		val = reg_get(c, s, EMU_RAX, size);
	else
		ret = mem_read(c, src, size, &val);
	if (ret == EMU_OK &&
	    (in->op_sub == STR_CMPS || in->op_sub == STR_SCAS))
		ret = mem_read(c, dst, size, &cmp);
	if (ret != EMU_OK)
		return ret;

	if (in->op_sub == STR_LODS)
		reg_set(c, s, EMU_RAX, size, val);
	else if (in->op_sub == STR_CMPS || in->op_sub == STR_SCAS)
		alu_calc(ALU_CMP, val, cmp, size, &s->rflags);
	else
		mem_write(s, dst, size, val);
	if (in->op_sub != STR_STOS && in->op_sub != STR_SCAS)
		string_advance(c, s, EMU_RSI);
	if (in->op_sub != STR_LODS)
		string_advance(c, s, EMU_RDI);

	if (in->rep) {
		int zf = !!(s->rflags & EMU_FLAG_ZF);

		reg_set(c, s, EMU_RCX, ad, count - 1);
		if ((in->op_sub == STR_CMPS || in->op_sub == STR_SCAS) &&
		    zf != (in->rep == 0xf3))
			return EMU_OK;
		if (count - 1 != 0) {
			s->rip = c->rip;
			s->rep_more = 1;
		}
	}
	return EMU_OK;
}

/*
 * Perform the staged write, then publish the staged state.  A write callback
 * returning EMU_PENDING has handed the write to userspace, which completes
 * it; from the guest's point of view the instruction is done.
 */
static int commit(struct emu_ctxt *c, const struct emu_state *s)
{
	emu_u8 buf[8];
	int ret;

	if (s->write) {
		u64_to_le(buf, s->write_val, s->write_len);
		ret = c->ops->write(c->opaque, s->write_linear, buf,
				    s->write_len);
		if (ret != EMU_PENDING) {
			ret = callback_result(c, ret, 0);
			if (ret != EMU_OK)
				return ret;
		}
	}
	__builtin_memcpy(c->gpr, s->gpr, sizeof(c->gpr));
	c->rflags = s->rflags;
	c->rip = s->rip;
	c->insn.rep_more = s->rep_more;
	return EMU_OK;
}

int emu_execute(struct emu_ctxt *c)
{
	struct emu_state s;
	int ret;

	if (!c->insn.valid)
		return EMU_UNHANDLED;

	__builtin_memcpy(s.gpr, c->gpr, sizeof(s.gpr));
	s.rflags = c->rflags;
	s.rip = rip_add(c, c->insn.len);
	s.rep_more = 0;
	s.write = 0;
	emu_set_fault(c, -1, 0, 0);

	switch (c->insn.op_class) {
	case OC_MOV:
		ret = exec_mov(c, &s);
		break;
	case OC_MOVX:
		ret = exec_movx(c, &s);
		break;
	case OC_ALU:
	case OC_TEST:
		ret = exec_alu(c, &s);
		break;
	case OC_UNARY:
		ret = exec_unary(c, &s);
		break;
	case OC_BT:
		ret = exec_bt(c, &s);
		break;
	case OC_XCHG:
		ret = exec_xchg(c, &s);
		break;
	case OC_STRING:
		ret = exec_string(c, &s);
		break;
	default:
		ret = EMU_UNHANDLED;
		break;
	}
	if (ret != EMU_OK)
		return ret;
	return commit(c, &s);
}

int emu_insn_two_mem_operands(const struct emu_ctxt *c)
{
	return c->insn.op_class == OC_STRING &&
	       (c->insn.op_sub == STR_MOVS || c->insn.op_sub == STR_CMPS);
}

const char *emu_result_name(int r)
{
	switch (r) {
	case EMU_OK:
		return "OK";
	case EMU_PENDING:
		return "PENDING";
	case EMU_UNHANDLED:
		return "UNHANDLED";
	case EMU_FAULT:
		return "FAULT";
	}
	return "?";
}
