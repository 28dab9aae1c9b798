// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit test for the kvisor MMIO emulator.
 *
 * Every row of the table below describes one instruction run against a
 * fake guest: the code bytes sit at CS base + RIP, data memory is a few
 * 8-byte cells (everything else reads as zero), and every read and write
 * callback is logged.  After decoding and executing, the test compares the
 * result, the instruction length, all registers, RFLAGS, RIP and the exact
 * sequence of memory accesses with the row's expectations.
 *
 * Flag expectations for the arithmetic rows were checked against the CPU
 * the test was written on by running the same operations natively.
 *
 * A second part feeds pseudo-random bytes to the emulator and checks that
 * it neither crashes nor breaks its own invariants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../emulate.h"

/* RFLAGS shorthands; F() adds the always-one bit 1. */
#define CF	0x001ull
#define PF	0x004ull
#define AF	0x010ull
#define ZF	0x040ull
#define SF	0x080ull
#define DF	0x400ull
#define OF	0x800ull
#define F(x)	(0x2ull | (x))

/* Row flags: how the fake guest behaves and what to expect. */
#define T_PENDING	0x01	/* first pass: first read returns PENDING */
#define T_WPENDING	0x02	/* writes return PENDING (handed off) */
#define T_FETCH_FAULT	0x04	/* every fetch raises #PF */
#define T_FETCH_PAGE	0x08	/* fetches beyond RIP's page raise #PF */
#define T_READ_FAULT	0x10	/* data reads raise #PF */
#define T_WRITE_FAULT	0x20	/* data writes raise #PF */
#define T_NO_FAULT_SET	0x40	/* faulting callbacks forget emu_set_fault */
#define T_REP_MORE	0x80	/* a REP iteration ran, RIP must not move */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define PF_VEC		14
#define PF_ERR		0x10

struct reg_val {
	unsigned char set;
	unsigned char reg;
	emu_u64 val;
};

struct seg_val {
	unsigned char set;
	unsigned char seg;
	emu_u64 base;
};

struct mem_val {
	unsigned char set;
	emu_u64 addr;
	emu_u64 val;
};

struct access {
	char type;		/* 'R' or 'W'; 0 ends the list */
	unsigned char len;
	emu_u64 addr;
	emu_u64 val;		/* checked for writes only */
};

struct row {
	int line;
	enum emu_mode mode;
	const char *code;
	unsigned int code_len;
	emu_u64 rip;		/* 0 means 0x1000 */
	emu_u64 rflags;		/* 0 means F(0) */
	struct reg_val in[5];
	struct seg_val seg[5];
	struct mem_val mem[3];
	unsigned int flags;
	int iters;		/* emu_execute() calls; 0 means 1 */
	/* expectations */
	int result;
	unsigned int len;	/* checked when nonzero */
	int vector;		/* for EMU_FAULT */
	struct reg_val out[5];	/* registers that change */
	emu_u64 out_rflags;	/* 0 means unchanged */
	struct access acc[8];
};

#define ROW(m, s)	.line = __LINE__, .mode = EMU_MODE_##m, \
			.code = (s), .code_len = sizeof(s) - 1
#define R(r, v)		{ 1, EMU_##r, (v) }
#define S(s, b)		{ 1, EMU_SEG_##s, (b) }
#define M(a, v)		{ 1, (a), (v) }
#define RD(a, n)	{ 'R', (n), (a), 0 }
#define WR(a, n, v)	{ 'W', (n), (a), (v) }
#define IN(...)		.in = { __VA_ARGS__ }
#define OUT(...)	.out = { __VA_ARGS__ }
#define SEG(...)	.seg = { __VA_ARGS__ }
#define MEM(...)	.mem = { __VA_ARGS__ }
#define ACC(...)	.acc = { __VA_ARGS__ }
#define OK(n)		.result = EMU_OK, .len = (n)
#define UNH		.result = EMU_UNHANDLED
#define FAULT(v)	.result = EMU_FAULT, .vector = (v)
#define FL(x)		.out_rflags = F(x)
#define B		R(RBX, 0x2000)
#define ALL1		0xffffffffffffffffull
#define M0(v)		MEM(M(0x2000, (v)))

/* Real and 16/32-bit protected mode segment bases used by most rows. */
#define RSEG	SEG(S(DS, 0x10000), S(SS, 0x20000), S(ES, 0x30000), \
		    S(FS, 0x40000), S(GS, 0x50000))
#define PSEG	SEG(S(DS, 0x100000), S(SS, 0x200000), S(ES, 0x300000), \
		    S(FS, 0x400000), S(GS, 0x500000))

static const struct row rows[] = {
	/* ---- MOV stores, 64-bit ---- */
	{ ROW(LONG64, "\x89\x03"), IN(B, R(RAX, 0x1122334455667788)), OK(2),
	  ACC(WR(0x2000, 4, 0x55667788)) },
	{ ROW(LONG64, "\x48\x89\x03"), IN(B, R(RAX, 0x1122334455667788)),
	  OK(3), ACC(WR(0x2000, 8, 0x1122334455667788)) },
	{ ROW(LONG64, "\x66\x89\x03"), IN(B, R(RAX, 0x1122334455667788)),
	  OK(3), ACC(WR(0x2000, 2, 0x7788)) },
	{ ROW(LONG64, "\x88\x23"), IN(B, R(RAX, 0x1122334455667788)), OK(2),
	  ACC(WR(0x2000, 1, 0x77)) },
	{ ROW(LONG64, "\x40\x88\x23"), IN(B, R(RSP, 0x12345678)), OK(3),
	  ACC(WR(0x2000, 1, 0x78)) },
	{ ROW(LONG64, "\x44\x88\x03"), IN(B, R(R8, 0xab)), OK(3),
	  ACC(WR(0x2000, 1, 0xab)) },
	{ ROW(LONG64, "\x4c\x89\x3b"), IN(B, R(R15, 0xfedcba9876543210)),
	  OK(3), ACC(WR(0x2000, 8, 0xfedcba9876543210)) },
	/* ---- MOV loads ---- */
	{ ROW(LONG64, "\x8b\x03"), IN(B, R(RAX, ALL1)),
	  M0(0x8877665544332211), OK(2), OUT(R(RAX, 0x44332211)),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x48\x8b\x03"), IN(B, R(RAX, ALL1)),
	  M0(0x8877665544332211), OK(3), OUT(R(RAX, 0x8877665544332211)),
	  ACC(RD(0x2000, 8)) },
	{ ROW(LONG64, "\x66\x8b\x03"), IN(B, R(RAX, ALL1)),
	  M0(0x8877665544332211), OK(3), OUT(R(RAX, 0xffffffffffff2211)),
	  ACC(RD(0x2000, 2)) },
	{ ROW(LONG64, "\x8a\x03"), IN(B, R(RAX, ALL1)),
	  M0(0x8877665544332211), OK(2), OUT(R(RAX, 0xffffffffffffff11)),
	  ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x8a\x23"), IN(B, R(RAX, ALL1)),
	  M0(0x8877665544332211), OK(2), OUT(R(RAX, 0xffffffffffff11ff)),
	  ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x40\x8a\x23"), IN(B, R(RSP, 0x7fff0000)),
	  M0(0x11), OK(3), OUT(R(RSP, 0x7fff0011)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x44\x8a\x3b"), IN(B, R(R15, 0)), M0(0x11), OK(3),
	  OUT(R(R15, 0x11)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x4c\x8b\x0b"), IN(B), M0(0x8877665544332211), OK(3),
	  OUT(R(R9, 0x8877665544332211)), ACC(RD(0x2000, 8)) },
	{ ROW(LONG64, "\x41\x8b\x00"), IN(R(R8, 0x2000), R(RAX, ALL1)),
	  M0(0x44332211), OK(3), OUT(R(RAX, 0x44332211)),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x45\x8b\x08"), IN(R(R8, 0x2000), R(R9, ALL1)),
	  M0(0x44332211), OK(3), OUT(R(R9, 0x44332211)),
	  ACC(RD(0x2000, 4)) },
	/* ---- MOV immediate ---- */
	{ ROW(LONG64, "\xc6\x03\x5a"), IN(B), OK(3),
	  ACC(WR(0x2000, 1, 0x5a)) },
	{ ROW(LONG64, "\xc7\x03\x78\x56\x34\x12"), IN(B), OK(6),
	  ACC(WR(0x2000, 4, 0x12345678)) },
	{ ROW(LONG64, "\x48\xc7\x03\xf0\xff\xff\xff"), IN(B), OK(7),
	  ACC(WR(0x2000, 8, 0xfffffffffffffff0)) },
	{ ROW(LONG64, "\x48\xc7\x03\x78\x56\x34\x12"), IN(B), OK(7),
	  ACC(WR(0x2000, 8, 0x12345678)) },
	{ ROW(LONG64, "\x66\xc7\x03\x34\x12"), IN(B), OK(5),
	  ACC(WR(0x2000, 2, 0x1234)) },
	{ ROW(LONG64, "\xc6\x43\x10\xaa"), IN(B), OK(4),
	  ACC(WR(0x2010, 1, 0xaa)) },
	{ ROW(LONG64, "\xc6\xc3\x05"), IN(B), OK(3), OUT(R(RBX, 0x2005)) },
	/* ---- MOV moffs: 8-byte offsets in 64-bit mode unless 0x67 ---- */
	{ ROW(LONG64, "\xa0\x00\x20\x00\x00\x00\x00\x00\x00"),
	  IN(R(RAX, ALL1)), M0(0x8877665544332211), OK(9),
	  OUT(R(RAX, 0xffffffffffffff11)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x48\xa1\x00\x20\x00\x00\x00\x00\x00\x00"),
	  M0(0x8877665544332211), OK(10),
	  OUT(R(RAX, 0x8877665544332211)), ACC(RD(0x2000, 8)) },
	{ ROW(LONG64, "\xa1\x08\x20\x00\x00\x00\x00\x00\x00"),
	  IN(R(RAX, ALL1)), MEM(M(0x2008, 0xcafebabe)), OK(9),
	  OUT(R(RAX, 0xcafebabe)), ACC(RD(0x2008, 4)) },
	{ ROW(LONG64, "\xa2\x00\x20\x00\x00\x00\x00\x00\x00"),
	  IN(R(RAX, 0x1122334455667788)), OK(9),
	  ACC(WR(0x2000, 1, 0x88)) },
	{ ROW(LONG64, "\xa3\xf0\xde\xbc\x9a\x78\x56\x34\x12"),
	  IN(R(RAX, 0x1122334455667788)), OK(9),
	  ACC(WR(0x123456789abcdef0, 4, 0x55667788)) },
	{ ROW(LONG64, "\x66\xa3\x00\x20\x00\x00\x00\x00\x00\x00"),
	  IN(R(RAX, 0x1122334455667788)), OK(10),
	  ACC(WR(0x2000, 2, 0x7788)) },
	{ ROW(LONG64, "\x67\xa1\x00\x20\x00\x00"), IN(R(RAX, ALL1)),
	  M0(0x44332211), OK(6), OUT(R(RAX, 0x44332211)),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x64\xa1\x00\x20\x00\x00\x00\x00\x00\x00"),
	  SEG(S(FS, 0x7f0000000000)), IN(R(RAX, ALL1)), OK(10),
	  OUT(R(RAX, 0)), ACC(RD(0x7f0000002000, 4)) },
	/* ---- segments in 64-bit mode: only FS and GS have a base ---- */
	{ ROW(LONG64, "\x64\x89\x03"), IN(B, R(RAX, 7)),
	  SEG(S(FS, 0x7f0000000000)), OK(3),
	  ACC(WR(0x7f0000002000, 4, 7)) },
	{ ROW(LONG64, "\x65\x48\x8b\x03"), IN(B),
	  SEG(S(GS, 0xffff800000000000)), OK(4), OUT(R(RAX, 0)),
	  ACC(RD(0xffff800000002000, 8)) },
	{ ROW(LONG64, "\x3e\x89\x03"), IN(B, R(RAX, 7)), SEG(S(DS, 0x5000)),
	  OK(3), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x26\x89\x03"), IN(B, R(RAX, 7)), SEG(S(ES, 0x5000)),
	  OK(3), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x2e\x89\x03"), IN(B, R(RAX, 7)), SEG(S(CS, 0x5000)),
	  OK(3), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x36\x89\x03"), IN(B, R(RAX, 7)), SEG(S(SS, 0x5000)),
	  OK(3), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x89\x45\x00"), IN(R(RBP, 0x2000), R(RAX, 7)),
	  SEG(S(SS, 0x9000)), OK(3), ACC(WR(0x2000, 4, 7)) },
	/* ---- RIP-relative: relative to the end of the instruction ---- */
	{ ROW(LONG64, "\x89\x05\x00\x01\x00\x00"), IN(R(RAX, 7)), OK(6),
	  ACC(WR(0x1106, 4, 7)) },
	{ ROW(LONG64, "\x8b\x05\xfa\xff\xff\xff"), OK(6), OUT(R(RAX, 0)),
	  ACC(RD(0x1000, 4)) },
	{ ROW(LONG64, "\x67\x8b\x05\x00\x01\x00\x00"), .rip = 0x100001000,
	  OK(7), OUT(R(RAX, 0)), ACC(RD(0x1107, 4)) },
	{ ROW(LONG64, "\xc7\x05\x10\x00\x00\x00\x78\x56\x34\x12"), OK(10),
	  ACC(WR(0x101a, 4, 0x12345678)) },
	{ ROW(LONG64, "\x80\x05\x10\x00\x00\x00\x01"), OK(7), FL(0),
	  ACC(RD(0x1017, 1), WR(0x1017, 1, 1)) },
	{ ROW(LONG64, "\x41\x89\x05\x00\x01\x00\x00"), IN(R(RAX, 7)), OK(7),
	  ACC(WR(0x1107, 4, 7)) },
	{ ROW(LONG64, "\x64\x89\x05\x00\x01\x00\x00"), IN(R(RAX, 7)),
	  SEG(S(FS, 0x10000)), OK(7), ACC(WR(0x11107, 4, 7)) },
	/* ---- ModRM/SIB forms, REX.X/B, address size ---- */
	{ ROW(LONG64, "\x89\x04\x8b"), IN(B, R(RCX, 3), R(RAX, 7)), OK(3),
	  ACC(WR(0x200c, 4, 7)) },
	{ ROW(LONG64, "\x89\x44\x8b\x10"), IN(B, R(RCX, 3), R(RAX, 7)),
	  OK(4), ACC(WR(0x201c, 4, 7)) },
	{ ROW(LONG64, "\x89\x04\xcd\x00\x20\x00\x00"), IN(R(RCX, 2),
	  R(RAX, 7)), OK(7), ACC(WR(0x2010, 4, 7)) },
	{ ROW(LONG64, "\x89\x04\x24"), IN(R(RSP, 0x3000), R(RAX, 7)), OK(3),
	  ACC(WR(0x3000, 4, 7)) },
	{ ROW(LONG64, "\x42\x89\x04\xa3"), IN(B, R(R12, 5), R(RAX, 7)),
	  OK(4), ACC(WR(0x2014, 4, 7)) },
	{ ROW(LONG64, "\x41\x89\x04\x25\x00\x30\x00\x00"),
	  IN(R(R13, 0x9999), R(RAX, 7)), OK(8), ACC(WR(0x3000, 4, 7)) },
	{ ROW(LONG64, "\x41\x89\x45\x08"), IN(R(R13, 0x2000), R(RAX, 7)),
	  OK(4), ACC(WR(0x2008, 4, 7)) },
	{ ROW(LONG64, "\x41\x89\x04\x24"), IN(R(R12, 0x4000), R(RAX, 7)),
	  OK(4), ACC(WR(0x4000, 4, 7)) },
	{ ROW(LONG64, "\x43\x89\x04\x24"), IN(R(R12, 0x1000), R(RAX, 7)),
	  OK(4), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x89\x43\xf0"), IN(B, R(RAX, 7)), OK(3),
	  ACC(WR(0x1ff0, 4, 7)) },
	{ ROW(LONG64, "\x67\x89\x03"), IN(R(RBX, 0xffffffff00002000),
	  R(RAX, 7)), OK(3), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x67\x89\x43\x10"), IN(R(RBX, 0xfffffff8),
	  R(RAX, 7)), OK(4), ACC(WR(0x8, 4, 7)) },
	{ ROW(LONG64, "\x89\x84\x4b\x00\x01\x00\x00"), IN(B, R(RCX, 8),
	  R(RAX, 7)), OK(7), ACC(WR(0x2110, 4, 7)) },
	{ ROW(LONG64, "\x89\x83\x00\x00\x00\x80"), IN(R(RBX, 0x80002000),
	  R(RAX, 7)), OK(6), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x89\x04\x65\x00\x10\x00\x00"), IN(R(RAX, 7)), OK(7),
	  ACC(WR(0x1000, 4, 7)) },
	/* ---- MOVZX / MOVSX / MOVSXD ---- */
	{ ROW(LONG64, "\x0f\xb6\x03"), IN(B, R(RAX, ALL1)), M0(0x80), OK(3),
	  OUT(R(RAX, 0x80)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x48\x0f\xb6\x03"), IN(B, R(RAX, ALL1)), M0(0x80),
	  OK(4), OUT(R(RAX, 0x80)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x66\x0f\xb6\x03"), IN(B, R(RAX, ALL1)), M0(0x80),
	  OK(4), OUT(R(RAX, 0xffffffffffff0080)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x0f\xb7\x03"), IN(B, R(RAX, ALL1)), M0(0x8001),
	  OK(3), OUT(R(RAX, 0x8001)), ACC(RD(0x2000, 2)) },
	{ ROW(LONG64, "\x0f\xbe\x03"), IN(B, R(RAX, ALL1)), M0(0x80), OK(3),
	  OUT(R(RAX, 0xffffff80)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x48\x0f\xbe\x03"), IN(B), M0(0x80), OK(4),
	  OUT(R(RAX, 0xffffffffffffff80)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x48\x0f\xbf\x03"), IN(B), M0(0x8001), OK(4),
	  OUT(R(RAX, 0xffffffffffff8001)), ACC(RD(0x2000, 2)) },
	{ ROW(LONG64, "\x66\x0f\xbe\x03"), IN(B, R(RAX, 0x1111111111111111)),
	  M0(0x7f), OK(4), OUT(R(RAX, 0x111111111111007f)),
	  ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x48\x63\x03"), IN(B), M0(0x80000000), OK(3),
	  OUT(R(RAX, 0xffffffff80000000)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x63\x03"), IN(B, R(RAX, ALL1)), M0(0x80000000),
	  OK(2), OUT(R(RAX, 0x80000000)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x66\x63\x03"), IN(B, R(RAX, 0x1111111111111111)),
	  M0(0x89abcdef), OK(3), OUT(R(RAX, 0x111111111111cdef)),
	  ACC(RD(0x2000, 2)) },
	{ ROW(LONG64, "\x4c\x63\x03"), IN(B), M0(0xfffffffe), OK(3),
	  OUT(R(R8, 0xfffffffffffffffe)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x0f\xb6\xc4"), IN(R(RAX, 0x1234)), OK(3),
	  OUT(R(RAX, 0x12)) },
	{ ROW(PROT32, "\x63\x03"), UNH },
	/* ---- ADD ---- */
	{ ROW(LONG64, "\x01\x03"), IN(B, R(RAX, 1)), M0(0x7fffffff), OK(2),
	  FL(OF | SF | AF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0x80000000)) },
	{ ROW(LONG64, "\x00\x03"), IN(B, R(RAX, 1)), M0(0xff), OK(2),
	  FL(CF | ZF | AF | PF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0)) },
	{ ROW(LONG64, "\x48\x01\x03"), IN(B, R(RAX, 1)), M0(ALL1), OK(3),
	  FL(CF | ZF | AF | PF), ACC(RD(0x2000, 8), WR(0x2000, 8, 0)) },
	{ ROW(LONG64, "\x66\x01\x03"), IN(B, R(RAX, 0x8000)), M0(0x8000),
	  OK(3), FL(CF | OF | ZF | PF),
	  ACC(RD(0x2000, 2), WR(0x2000, 2, 0)) },
	{ ROW(LONG64, "\x03\x03"), IN(B, R(RAX, 1)), M0(2), OK(2), FL(PF),
	  OUT(R(RAX, 3)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x02\x23"), IN(B, R(RAX, 0x100)), M0(0xff), OK(2),
	  FL(CF | ZF | AF | PF), OUT(R(RAX, 0)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x83\x03\x01"), IN(B), M0(0xffffffff), OK(3),
	  FL(CF | ZF | AF | PF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x83\x03\xff"), IN(B), M0(1), OK(3),
	  FL(CF | ZF | AF | PF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x48\x83\x03\xff"), IN(B), M0(5), OK(4), FL(CF | AF),
	  ACC(RD(0x2000, 8), WR(0x2000, 8, 4)) },
	{ ROW(LONG64, "\x81\x03\x00\x00\x00\x80"), IN(B), M0(0x80000000),
	  OK(6), FL(CF | OF | ZF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x48\x81\x03\x00\x00\x00\x80"), IN(B), M0(0x80000000),
	  OK(7), FL(CF | ZF | PF), ACC(RD(0x2000, 8), WR(0x2000, 8, 0)) },
	{ ROW(LONG64, "\x80\x03\x7f"), IN(B), M0(1), OK(3),
	  FL(OF | SF | AF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0x80)) },
	{ ROW(LONG64, "\x04\x01"), IN(R(RAX, 0xff)), OK(2),
	  FL(CF | ZF | AF | PF), OUT(R(RAX, 0)) },
	{ ROW(LONG64, "\x05\x01\x00\x00\x00"), IN(R(RAX, 0xffffffff7fffffff)),
	  OK(5), FL(OF | SF | AF | PF), OUT(R(RAX, 0x80000000)) },
	{ ROW(LONG64, "\x48\x05\xff\xff\xff\xff"), IN(R(RAX, 5)), OK(6),
	  FL(CF | AF), OUT(R(RAX, 4)) },
	{ ROW(LONG64, "\x66\x05\x34\x12"), IN(R(RAX, 0)), OK(4), FL(0),
	  OUT(R(RAX, 0x1234)) },
	{ ROW(LONG64, "\x01\xc3"), IN(R(RBX, 0xffffffff00000001), R(RAX, 1)),
	  OK(2), FL(0), OUT(R(RBX, 2)) },
	/* ---- OR ---- */
	{ ROW(LONG64, "\x09\x03"), .rflags = F(CF | PF | AF | ZF | SF | OF),
	  IN(B, R(RAX, 0x0f)), M0(0xf0), OK(2), FL(PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0xff)) },
	{ ROW(LONG64, "\x80\x0b\x80"), IN(B), M0(0), OK(3), FL(SF),
	  ACC(RD(0x2000, 1), WR(0x2000, 1, 0x80)) },
	{ ROW(LONG64, "\x0a\x03"), IN(B, R(RAX, 0x100)), M0(0), OK(2),
	  FL(ZF | PF), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x66\x0d\x00\x80"), IN(R(RAX, 0)), OK(4), FL(SF | PF),
	  OUT(R(RAX, 0x8000)) },
	/* ---- ADC / SBB: carry in ---- */
	{ ROW(LONG64, "\x11\x03"), .rflags = F(CF), IN(B, R(RAX, 0)),
	  M0(0xffffffff), OK(2), FL(CF | ZF | AF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x13\x03"), IN(B, R(RAX, 5)), M0(3), OK(2), FL(0),
	  OUT(R(RAX, 8)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x83\x13\x00"), .rflags = F(CF), IN(B),
	  M0(0x7fffffff), OK(3), FL(OF | SF | AF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0x80000000)) },
	{ ROW(LONG64, "\x10\x03"), .rflags = F(CF), IN(B, R(RAX, 0xff)),
	  M0(0), OK(2), FL(CF | ZF | AF | PF),
	  ACC(RD(0x2000, 1), WR(0x2000, 1, 0)) },
	{ ROW(LONG64, "\x19\x03"), .rflags = F(CF), IN(B, R(RAX, 0)), M0(0),
	  OK(2), FL(CF | SF | AF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0xffffffff)) },
	{ ROW(LONG64, "\x1b\x03"), .rflags = F(CF), IN(B, R(RAX, 5)), M0(5),
	  OK(2), FL(CF | SF | AF | PF), OUT(R(RAX, 0xffffffff)),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x80\x1b\x01"), IN(B), M0(0x80), OK(3),
	  FL(OF | AF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0x7f)) },
	{ ROW(LONG64, "\x48\x19\x03"), IN(B, R(RAX, 1)), M0(0), OK(3),
	  FL(CF | SF | AF | PF), ACC(RD(0x2000, 8), WR(0x2000, 8, ALL1)) },
	/* ---- AND ---- */
	{ ROW(LONG64, "\x21\x03"), .rflags = F(CF | PF | AF | ZF | SF | OF),
	  IN(B, R(RAX, 0x0ff00ff0)), M0(0xff00ff00), OK(2), FL(PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0x0f000f00)) },
	{ ROW(LONG64, "\x81\x23\x00\x00\x00\x00"), IN(B), M0(0x12345678),
	  OK(6), FL(ZF | PF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x48\x83\x23\xf0"), IN(B), M0(0x8000000000000001),
	  OK(4), FL(SF | PF),
	  ACC(RD(0x2000, 8), WR(0x2000, 8, 0x8000000000000000)) },
	{ ROW(LONG64, "\x22\x03"), IN(B, R(RAX, 0x1ff)), M0(0x0f), OK(2),
	  FL(PF), OUT(R(RAX, 0x10f)), ACC(RD(0x2000, 1)) },
	/* ---- SUB ---- */
	{ ROW(LONG64, "\x29\x03"), IN(B, R(RAX, 1)), M0(0), OK(2),
	  FL(CF | SF | AF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0xffffffff)) },
	{ ROW(LONG64, "\x29\x03"), IN(B, R(RAX, 1)), M0(0x80000000), OK(2),
	  FL(OF | AF | PF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0x7fffffff)) },
	{ ROW(LONG64, "\x2b\x03"), IN(B, R(RAX, 3)), M0(3), OK(2),
	  FL(ZF | PF), OUT(R(RAX, 0)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x66\x83\x2b\x01"), IN(B), M0(0x8000), OK(4),
	  FL(OF | AF | PF), ACC(RD(0x2000, 2), WR(0x2000, 2, 0x7fff)) },
	{ ROW(LONG64, "\x80\x2b\x10"), IN(B), M0(0x10), OK(3), FL(ZF | PF),
	  ACC(RD(0x2000, 1), WR(0x2000, 1, 0)) },
	{ ROW(LONG64, "\x28\x23"), IN(B, R(RAX, 0x100)), M0(0), OK(2),
	  FL(CF | SF | AF | PF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0xff)) },
	/* ---- XOR ---- */
	{ ROW(LONG64, "\x31\x03"), IN(B, R(RAX, 0x12345678)), M0(0x12345678),
	  OK(2), FL(ZF | PF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x80\x33\xff"), IN(B), M0(0x0f), OK(3), FL(SF | PF),
	  ACC(RD(0x2000, 1), WR(0x2000, 1, 0xf0)) },
	{ ROW(LONG64, "\x32\x03"), IN(B, R(RAX, 0xaa)), M0(0x55), OK(2),
	  FL(SF | PF), OUT(R(RAX, 0xff)), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x4c\x31\x03"), IN(B, R(R8, ALL1)), M0(0), OK(3),
	  FL(SF | PF), ACC(RD(0x2000, 8), WR(0x2000, 8, ALL1)) },
	/* ---- CMP: flags only ---- */
	{ ROW(LONG64, "\x39\x03"), IN(B, R(RAX, 7)), M0(5), OK(2),
	  FL(CF | SF | AF), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x3b\x03"), IN(B, R(RAX, 7)), M0(5), OK(2), FL(0),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x80\x3b\x80"), IN(B), M0(0x7f), OK(3),
	  FL(CF | OF | SF | PF), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x48\x83\x3b\xff"), IN(B), M0(ALL1), OK(4),
	  FL(ZF | PF), ACC(RD(0x2000, 8)) },
	{ ROW(LONG64, "\x38\x03"), IN(B, R(RAX, 0x10)), M0(0x10), OK(2),
	  FL(ZF | PF), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\x3c\x05"), IN(R(RAX, 5)), OK(2), FL(ZF | PF) },
	{ ROW(LONG64, "\x66\x3d\x00\x80"), IN(R(RAX, 0)), OK(4),
	  FL(CF | OF | SF | PF) },
	/* ---- LOCK: only on RMW with a memory destination ---- */
	{ ROW(LONG64, "\xf0\x01\x03"), IN(B, R(RAX, 1)), M0(1), OK(3), FL(0),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 2)) },
	{ ROW(LONG64, "\xf0\x48\x0f\xab\x03"), IN(B, R(RAX, 3)), M0(0),
	  OK(5), FL(0), ACC(RD(0x2000, 8), WR(0x2000, 8, 8)) },
	{ ROW(LONG64, "\xf0\x87\x03"), IN(B, R(RAX, 0x1111)), M0(0x2222),
	  OK(3), OUT(R(RAX, 0x2222)),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0x1111)) },
	{ ROW(LONG64, "\xf0\x80\x0b\x01"), IN(B), M0(0), OK(4), FL(0),
	  ACC(RD(0x2000, 1), WR(0x2000, 1, 1)) },
	{ ROW(LONG64, "\xf0\x0f\xba\x2b\x01"), IN(B), M0(0), OK(5), FL(0),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 2)) },
	{ ROW(LONG64, "\xf0\xf6\x13"), IN(B), M0(0), OK(3),
	  ACC(RD(0x2000, 1), WR(0x2000, 1, 0xff)) },
	{ ROW(LONG64, "\xf0\x89\x03"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x03\x03"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x01\xc3"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x85\x03"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x0f\xa3\x03"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\xa4"), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x80\x3b\x01"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x0f\xba\x23\x01"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x0f\xb6\x03"), IN(B), FAULT(EMU_VEC_UD) },
	{ ROW(LONG64, "\xf0\x0f\x0b"), UNH },
	/* ---- TEST ---- */
	{ ROW(LONG64, "\x85\x03"), .rflags = F(CF | PF | AF | ZF | SF | OF),
	  IN(B, R(RAX, ALL1)), M0(0x80000000), OK(2), FL(SF | PF),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x84\x23"), IN(B, R(RAX, 0x100)), M0(1), OK(2),
	  FL(0), ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\xf6\x03\x01"), IN(B), M0(0xfe), OK(3), FL(ZF | PF),
	  ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\xf7\x03\x00\x00\x01\x00"), IN(B), M0(0x10000), OK(6),
	  FL(PF), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x66\xf7\x03\x00\x80"), IN(B), M0(0x8000), OK(5),
	  FL(SF | PF), ACC(RD(0x2000, 2)) },
	{ ROW(LONG64, "\x48\xf7\x03\xff\xff\xff\xff"), IN(B),
	  M0(0x8000000000000000), OK(7), FL(SF | PF), ACC(RD(0x2000, 8)) },
	{ ROW(LONG64, "\xa8\x01"), IN(R(RAX, 3)), OK(2), FL(0) },
	{ ROW(LONG64, "\xa9\x00\x00\x00\x80"), IN(R(RAX, 0x80000000)), OK(5),
	  FL(SF | PF) },
	/* ---- NOT / NEG / INC / DEC ---- */
	{ ROW(LONG64, "\xf7\x13"), .rflags = F(CF | PF | AF | ZF | SF | OF),
	  IN(B), M0(0x0f0f0f0f), OK(2),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0xf0f0f0f0)) },
	{ ROW(LONG64, "\xf6\x1b"), IN(B), M0(1), OK(2),
	  FL(CF | SF | AF | PF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0xff)) },
	{ ROW(LONG64, "\xf7\x1b"), IN(B), M0(0), OK(2), FL(ZF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\xf6\x1b"), IN(B), M0(0x80), OK(2),
	  FL(CF | OF | SF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0x80)) },
	{ ROW(LONG64, "\x48\xf7\x1b"), IN(B), M0(1), OK(3),
	  FL(CF | SF | AF | PF), ACC(RD(0x2000, 8), WR(0x2000, 8, ALL1)) },
	{ ROW(LONG64, "\xfe\x03"), .rflags = F(CF), IN(B), M0(0x7f), OK(2),
	  FL(CF | OF | SF | AF), ACC(RD(0x2000, 1), WR(0x2000, 1, 0x80)) },
	{ ROW(LONG64, "\xff\x0b"), IN(B), M0(1), OK(2), FL(ZF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x48\xff\x03"), IN(B), M0(ALL1), OK(3),
	  FL(ZF | AF | PF), ACC(RD(0x2000, 8), WR(0x2000, 8, 0)) },
	{ ROW(LONG64, "\x66\xff\x0b"), IN(B), M0(0), OK(3),
	  FL(SF | AF | PF), ACC(RD(0x2000, 2), WR(0x2000, 2, 0xffff)) },
	{ ROW(LONG64, "\xf6\x33"), IN(B), UNH },
	{ ROW(LONG64, "\xf7\x23"), IN(B), UNH },
	{ ROW(LONG64, "\xfe\x13"), IN(B), UNH },
	{ ROW(LONG64, "\xff\x13"), IN(B), UNH },
	{ ROW(LONG64, "\xff\x33"), IN(B), UNH },
	{ ROW(LONG64, "\xc6\x4b\x00\x05"), IN(B), UNH },
	/* ---- BT family ---- */
	{ ROW(LONG64, "\x0f\xa3\x03"), IN(B, R(RAX, 5)), M0(0x20), OK(3),
	  FL(CF), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x0f\xa3\x03"), .rflags = F(PF | AF | ZF | SF | OF),
	  IN(B, R(RAX, 37)), MEM(M(0x2004, 0x20)), OK(3),
	  FL(CF | PF | AF | ZF | SF | OF), ACC(RD(0x2004, 4)) },
	{ ROW(LONG64, "\x0f\xa3\x03"), IN(B, R(RAX, 0xffffffff)),
	  MEM(M(0x1ffc, 0x80000000)), OK(3), FL(CF), ACC(RD(0x1ffc, 4)) },
	{ ROW(LONG64, "\x48\x0f\xa3\x03"), IN(B, R(RAX, 64)),
	  MEM(M(0x2008, 1)), OK(4), FL(CF), ACC(RD(0x2008, 8)) },
	{ ROW(LONG64, "\x48\x0f\xa3\x03"), IN(B, R(RAX, -65ull)),
	  MEM(M(0x1ff0, 0x8000000000000000)), OK(4), FL(CF),
	  ACC(RD(0x1ff0, 8)) },
	{ ROW(LONG64, "\x66\x0f\xa3\x03"), IN(B, R(RAX, 0x12340000fff0)),
	  MEM(M(0x1ffe, 1)), OK(4), FL(CF), ACC(RD(0x1ffe, 2)) },
	{ ROW(LONG64, "\x0f\xa3\x43\x04"), IN(B, R(RAX, -33ull)),
	  MEM(M(0x1ffc, 0x80000000)), OK(4), FL(CF), ACC(RD(0x1ffc, 4)) },
	{ ROW(LONG64, "\x67\x0f\xa3\x03"), IN(R(RBX, 0), R(RAX, ALL1)),
	  OK(4), FL(0), ACC(RD(0xfffffffc, 4)) },
	{ ROW(LONG64, "\x0f\xba\x23\x05"), IN(B), M0(0x20), OK(4), FL(CF),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x0f\xba\x23\x25"), IN(B), M0(0x20), OK(4), FL(CF),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x0f\xba\x2b\x00"), .rflags = F(CF), IN(B), M0(0),
	  OK(4), FL(0), ACC(RD(0x2000, 4), WR(0x2000, 4, 1)) },
	{ ROW(LONG64, "\x0f\xba\x33\x1f"), IN(B), M0(0xffffffff), OK(4),
	  FL(CF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0x7fffffff)) },
	{ ROW(LONG64, "\x0f\xba\x3b\x00"), IN(B), M0(1), OK(4), FL(CF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x48\x0f\xab\x03"), IN(B, R(RAX, 65)), OK(4), FL(0),
	  ACC(RD(0x2008, 8), WR(0x2008, 8, 2)) },
	{ ROW(LONG64, "\x0f\xb3\x03"), IN(B, R(RAX, 0)), M0(1), OK(3),
	  FL(CF), ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\x0f\xbb\x03"), IN(B, R(RAX, 31)), M0(0), OK(3),
	  FL(0), ACC(RD(0x2000, 4), WR(0x2000, 4, 0x80000000)) },
	{ ROW(LONG64, "\x0f\xa3\xc3"), IN(R(RAX, 33), R(RBX, 2)), OK(3),
	  FL(CF) },
	{ ROW(LONG64, "\x0f\xab\xc3"),
	  IN(R(RAX, 32), R(RBX, 0xffffffff00000000)), OK(3), FL(0),
	  OUT(R(RBX, 1)) },
	{ ROW(LONG64, "\x0f\xba\x03\x00"), IN(B), UNH },
	/* ---- XCHG ---- */
	{ ROW(LONG64, "\x87\x03"), IN(B, R(RAX, 0xffffffff22222222)),
	  M0(0x11111111), OK(2), OUT(R(RAX, 0x11111111)),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0x22222222)) },
	{ ROW(LONG64, "\x86\x23"), IN(B, R(RAX, 0xab00)), M0(0xcd), OK(2),
	  OUT(R(RAX, 0xcd00)), ACC(RD(0x2000, 1), WR(0x2000, 1, 0xab)) },
	{ ROW(LONG64, "\x48\x87\x0b"), IN(B, R(RCX, 0x1122334455667788)),
	  M0(0x8877665544332211), OK(3), OUT(R(RCX, 0x8877665544332211)),
	  ACC(RD(0x2000, 8), WR(0x2000, 8, 0x1122334455667788)) },
	{ ROW(LONG64, "\x66\x87\x03"), IN(B, R(RAX, 0xffffffffffff1234)),
	  M0(0x5678), OK(3), OUT(R(RAX, 0xffffffffffff5678)),
	  ACC(RD(0x2000, 2), WR(0x2000, 2, 0x1234)) },
	{ ROW(LONG64, "\x4c\x87\x03"), IN(B, R(R8, 1)), M0(2), OK(3),
	  OUT(R(R8, 2)), ACC(RD(0x2000, 8), WR(0x2000, 8, 1)) },
	{ ROW(LONG64, "\x87\xd8"), IN(R(RAX, 1), R(RBX, 0xffffffff00000002)),
	  OK(2), OUT(R(RAX, 2), R(RBX, 1)) },
	/* ---- string instructions, 64-bit ---- */
	{ ROW(LONG64, "\xa4"), IN(R(RSI, 0x2000), R(RDI, 0x3000)), M0(0x5a),
	  OK(1), OUT(R(RSI, 0x2001), R(RDI, 0x3001)),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0x5a)) },
	{ ROW(LONG64, "\xa5"), .rflags = F(DF),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000)), M0(0x12345678), OK(1),
	  OUT(R(RSI, 0x1ffc), R(RDI, 0x2ffc)),
	  ACC(RD(0x2000, 4), WR(0x3000, 4, 0x12345678)) },
	{ ROW(LONG64, "\x48\xa5"), IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  M0(ALL1), OK(2), OUT(R(RSI, 0x2008), R(RDI, 0x3008)),
	  ACC(RD(0x2000, 8), WR(0x3000, 8, ALL1)) },
	{ ROW(LONG64, "\x66\xa5"), IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  M0(0xbeef), OK(2), OUT(R(RSI, 0x2002), R(RDI, 0x3002)),
	  ACC(RD(0x2000, 2), WR(0x3000, 2, 0xbeef)) },
	{ ROW(LONG64, "\xf3\xa4"), .flags = T_REP_MORE,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 3)), M0(0x5a), OK(2),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 2)),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0x5a)) },
	{ ROW(LONG64, "\xf3\xa4"),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 1)), M0(0x5a), OK(2),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 0)),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0x5a)) },
	{ ROW(LONG64, "\xf3\xa4"),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 0)), OK(2) },
	{ ROW(LONG64, "\xf3\x48\xa5"), .iters = 3,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 3)),
	  MEM(M(0x2000, 0x1111), M(0x2008, 0x2222)), OK(3),
	  OUT(R(RSI, 0x2018), R(RDI, 0x3018), R(RCX, 0)),
	  ACC(RD(0x2000, 8), WR(0x3000, 8, 0x1111),
	      RD(0x2008, 8), WR(0x3008, 8, 0x2222),
	      RD(0x2010, 8), WR(0x3010, 8, 0)) },
	{ ROW(LONG64, "\xf3\xa5"), .iters = 2, .rflags = F(DF),
	  .flags = T_REP_MORE,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 5)),
	  MEM(M(0x2000, 0x1111), M(0x1ff8, 0x222200000000)), OK(2),
	  OUT(R(RSI, 0x1ff8), R(RDI, 0x2ff8), R(RCX, 3)),
	  ACC(RD(0x2000, 4), WR(0x3000, 4, 0x1111),
	      RD(0x1ffc, 4), WR(0x2ffc, 4, 0x2222)) },
	{ ROW(LONG64, "\xaa"), IN(R(RAX, 0x12ab), R(RDI, 0x3000)), OK(1),
	  OUT(R(RDI, 0x3001)), ACC(WR(0x3000, 1, 0xab)) },
	{ ROW(LONG64, "\xf3\xab"), .iters = 2,
	  IN(R(RAX, 0x11223344), R(RDI, 0x3000), R(RCX, 2)), OK(2),
	  OUT(R(RDI, 0x3008), R(RCX, 0)),
	  ACC(WR(0x3000, 4, 0x11223344), WR(0x3004, 4, 0x11223344)) },
	{ ROW(LONG64, "\x48\xab"), .rflags = F(DF),
	  IN(R(RAX, 0x1122334455667788), R(RDI, 0x3000)), OK(2),
	  OUT(R(RDI, 0x2ff8)), ACC(WR(0x3000, 8, 0x1122334455667788)) },
	{ ROW(LONG64, "\xac"), IN(R(RAX, ALL1), R(RSI, 0x2000)), M0(0x77),
	  OK(1), OUT(R(RAX, 0xffffffffffffff77), R(RSI, 0x2001)),
	  ACC(RD(0x2000, 1)) },
	{ ROW(LONG64, "\xad"), IN(R(RAX, ALL1), R(RSI, 0x2000)),
	  M0(0x12345678), OK(1),
	  OUT(R(RAX, 0x12345678), R(RSI, 0x2004)), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x48\xad"), .rflags = F(DF), IN(R(RSI, 0x2000)),
	  M0(0x8877665544332211), OK(2),
	  OUT(R(RAX, 0x8877665544332211), R(RSI, 0x1ff8)),
	  ACC(RD(0x2000, 8)) },
	{ ROW(LONG64, "\x67\xf3\xa4"), .flags = T_REP_MORE,
	  IN(R(RSI, 0x100002000), R(RDI, 0x200003000), R(RCX, 0x300000002)),
	  M0(0x5a), OK(3), OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 1)),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0x5a)) },
	{ ROW(LONG64, "\x64\xa4"), IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  SEG(S(FS, 0x10000)), OK(2), OUT(R(RSI, 0x2001), R(RDI, 0x3001)),
	  ACC(RD(0x12000, 1), WR(0x3000, 1, 0)) },
	{ ROW(LONG64, "\xf2\xa4"), .flags = T_REP_MORE,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 2)), OK(2),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 1)),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0)) },
	{ ROW(LONG64, "\xf3\xac"), IN(R(RAX, 0), R(RSI, 0x2000), R(RCX, 1)),
	  M0(0x99), OK(2), OUT(R(RAX, 0x99), R(RSI, 0x2001), R(RCX, 0)),
	  ACC(RD(0x2000, 1)) },
	/* CMPS: [rSI] - [rDI], both read; REPE/REPNE stop on ZF too */
	{ ROW(LONG64, "\xa6"), IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  MEM(M(0x2000, 5), M(0x3000, 7)), OK(1), FL(CF | SF | AF),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001)),
	  ACC(RD(0x2000, 1), RD(0x3000, 1)) },
	{ ROW(LONG64, "\x48\xa7"), .rflags = F(DF),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  MEM(M(0x2000, ALL1), M(0x3000, ALL1)), OK(2), FL(DF | ZF | PF),
	  OUT(R(RSI, 0x1ff8), R(RDI, 0x2ff8)),
	  ACC(RD(0x2000, 8), RD(0x3000, 8)) },
	{ ROW(LONG64, "\xf3\xa7"), .flags = T_REP_MORE,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 3)),
	  MEM(M(0x2000, 0x1234), M(0x3000, 0x1234)), OK(2), FL(ZF | PF),
	  OUT(R(RSI, 0x2004), R(RDI, 0x3004), R(RCX, 2)),
	  ACC(RD(0x2000, 4), RD(0x3000, 4)) },
	{ ROW(LONG64, "\xf3\xa7"),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 3)),
	  MEM(M(0x2000, 2), M(0x3000, 1)), OK(2), FL(0),
	  OUT(R(RSI, 0x2004), R(RDI, 0x3004), R(RCX, 2)),
	  ACC(RD(0x2000, 4), RD(0x3000, 4)) },
	{ ROW(LONG64, "\xf2\xa6"), .flags = T_REP_MORE,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 2)),
	  MEM(M(0x2000, 2), M(0x3000, 1)), OK(2), FL(0),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 1)),
	  ACC(RD(0x2000, 1), RD(0x3000, 1)) },
	{ ROW(LONG64, "\xf2\xa6"),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 2)),
	  MEM(M(0x2000, 9), M(0x3000, 9)), OK(2), FL(ZF | PF),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 1)),
	  ACC(RD(0x2000, 1), RD(0x3000, 1)) },
	{ ROW(LONG64, "\xf3\xa6"),
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 0)), OK(2) },
	/* SCAS: rAX - [rDI] */
	{ ROW(LONG64, "\xae"), IN(R(RAX, 0x1207), R(RDI, 0x3000)),
	  MEM(M(0x3000, 7)), OK(1), FL(ZF | PF), OUT(R(RDI, 0x3001)),
	  ACC(RD(0x3000, 1)) },
	{ ROW(LONG64, "\xf2\xaf"), .flags = T_REP_MORE,
	  IN(R(RAX, 5), R(RDI, 0x3000), R(RCX, 4)), MEM(M(0x3000, 6)),
	  OK(2), FL(CF | SF | AF | PF), OUT(R(RDI, 0x3004), R(RCX, 3)),
	  ACC(RD(0x3000, 4)) },
	{ ROW(LONG64, "\xf2\xaf"),
	  IN(R(RAX, 6), R(RDI, 0x3000), R(RCX, 4)), MEM(M(0x3000, 6)),
	  OK(2), FL(ZF | PF), OUT(R(RDI, 0x3004), R(RCX, 3)),
	  ACC(RD(0x3000, 4)) },
	/* ---- real mode: 16-bit addressing, base = selector << 4 ---- */
	{ ROW(REAL, "\x89\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 0xffff1234)),
	  OK(2), ACC(WR(0x10100, 2, 0x1234)) },
	{ ROW(REAL, "\x89\x00"), RSEG,
	  IN(R(RBX, 0x100), R(RSI, 0x20), R(RAX, 1)), OK(2),
	  ACC(WR(0x10120, 2, 1)) },
	{ ROW(REAL, "\x89\x01"), RSEG,
	  IN(R(RBX, 0x100), R(RDI, 0x30), R(RAX, 1)), OK(2),
	  ACC(WR(0x10130, 2, 1)) },
	{ ROW(REAL, "\x89\x02"), RSEG,
	  IN(R(RBP, 0x100), R(RSI, 0x20), R(RAX, 1)), OK(2),
	  ACC(WR(0x20120, 2, 1)) },
	{ ROW(REAL, "\x89\x03"), RSEG,
	  IN(R(RBP, 0x100), R(RDI, 0x30), R(RAX, 1)), OK(2),
	  ACC(WR(0x20130, 2, 1)) },
	{ ROW(REAL, "\x89\x04"), RSEG, IN(R(RSI, 0x40), R(RAX, 1)), OK(2),
	  ACC(WR(0x10040, 2, 1)) },
	{ ROW(REAL, "\x89\x05"), RSEG, IN(R(RDI, 0x50), R(RAX, 1)), OK(2),
	  ACC(WR(0x10050, 2, 1)) },
	{ ROW(REAL, "\x89\x06\x34\x12"), RSEG, IN(R(RAX, 1)), OK(4),
	  ACC(WR(0x11234, 2, 1)) },
	{ ROW(REAL, "\x89\x46\x04"), RSEG, IN(R(RBP, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x20104, 2, 1)) },
	{ ROW(REAL, "\x89\x47\xfe"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x100fe, 2, 1)) },
	{ ROW(REAL, "\x89\x87\x00\x10"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(4), ACC(WR(0x11100, 2, 1)) },
	{ ROW(REAL, "\x89\x47\x20"), RSEG, IN(R(RBX, 0xfff0), R(RAX, 1)),
	  OK(3), ACC(WR(0x10010, 2, 1)) },
	{ ROW(REAL, "\x89\x00"), RSEG,
	  IN(R(RBX, 0xffff0100), R(RSI, 0x20), R(RAX, 1)), OK(2),
	  ACC(WR(0x10120, 2, 1)) },
	{ ROW(REAL, "\x66\x89\x07"), RSEG,
	  IN(R(RBX, 0x100), R(RAX, 0x12345678)), OK(3),
	  ACC(WR(0x10100, 4, 0x12345678)) },
	{ ROW(REAL, "\x67\x89\x03"), RSEG, IN(R(RBX, 0x12345), R(RAX, 1)),
	  OK(3), ACC(WR(0x22345, 2, 1)) },
	{ ROW(REAL, "\x67\x89\x04\x4b"), RSEG,
	  IN(R(RBX, 0x100), R(RCX, 0x10), R(RAX, 1)), OK(4),
	  ACC(WR(0x10120, 2, 1)) },
	{ ROW(REAL, "\x26\x89\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x30100, 2, 1)) },
	{ ROW(REAL, "\x2e\x89\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x100, 2, 1)) },
	{ ROW(REAL, "\x36\x89\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x20100, 2, 1)) },
	{ ROW(REAL, "\x3e\x89\x46\x00"), RSEG, IN(R(RBP, 0x100), R(RAX, 1)),
	  OK(4), ACC(WR(0x10100, 2, 1)) },
	{ ROW(REAL, "\x64\x89\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x40100, 2, 1)) },
	{ ROW(REAL, "\x65\x89\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 1)),
	  OK(3), ACC(WR(0x50100, 2, 1)) },
	{ ROW(REAL, "\x8b\x07"), RSEG,
	  IN(R(RBX, 0x100), R(RAX, 0xdeadbeef0000ffff)),
	  MEM(M(0x10100, 0x1234)), OK(2), OUT(R(RAX, 0xdeadbeef00001234)),
	  ACC(RD(0x10100, 2)) },
	{ ROW(REAL, "\xa1\x34\x12"), RSEG, IN(R(RAX, 0)),
	  MEM(M(0x11234, 0xbeef)), OK(3), OUT(R(RAX, 0xbeef)),
	  ACC(RD(0x11234, 2)) },
	{ ROW(REAL, "\xa2\x34\x12"), RSEG, IN(R(RAX, 0x99)), OK(3),
	  ACC(WR(0x11234, 1, 0x99)) },
	{ ROW(REAL, "\x67\xa1\x78\x56\x34\x12"), RSEG, IN(R(RAX, 0)), OK(6),
	  ACC(RD(0x12355678, 2)) },
	{ ROW(REAL, "\xc7\x07\x34\x12"), RSEG, IN(R(RBX, 0x100)), OK(4),
	  ACC(WR(0x10100, 2, 0x1234)) },
	{ ROW(REAL, "\x66\xc7\x07\x78\x56\x34\x12"), RSEG,
	  IN(R(RBX, 0x100)), OK(7), ACC(WR(0x10100, 4, 0x12345678)) },
	{ ROW(REAL, "\x83\x07\xff"), RSEG, IN(R(RBX, 0x100)),
	  MEM(M(0x10100, 1)), OK(3), FL(CF | ZF | AF | PF),
	  ACC(RD(0x10100, 2), WR(0x10100, 2, 0)) },
	{ ROW(REAL, "\x81\x07\x34\x12"), RSEG, IN(R(RBX, 0x100)), OK(4),
	  FL(0), ACC(RD(0x10100, 2), WR(0x10100, 2, 0x1234)) },
	{ ROW(REAL, "\xff\x07"), RSEG, IN(R(RBX, 0x100)),
	  MEM(M(0x10100, 0xffff)), OK(2), FL(ZF | AF | PF),
	  ACC(RD(0x10100, 2), WR(0x10100, 2, 0)) },
	{ ROW(REAL, "\x82\x07\x01"), RSEG, IN(R(RBX, 0x100)), OK(3), FL(0),
	  ACC(RD(0x10100, 1), WR(0x10100, 1, 1)) },
	{ ROW(REAL, "\xa4"), RSEG, IN(R(RSI, 0x10), R(RDI, 0x20)),
	  MEM(M(0x10010, 0x42)), OK(1), OUT(R(RSI, 0x11), R(RDI, 0x21)),
	  ACC(RD(0x10010, 1), WR(0x30020, 1, 0x42)) },
	{ ROW(REAL, "\xf3\xa5"), RSEG, .flags = T_REP_MORE,
	  IN(R(RSI, 0xabcd0000fffe), R(RDI, 0), R(RCX, 0x55550002)), OK(2),
	  OUT(R(RSI, 0xabcd00000000), R(RDI, 2), R(RCX, 0x55550001)),
	  ACC(RD(0x1fffe, 2), WR(0x30000, 2, 0)) },
	{ ROW(REAL, "\xf3\xaa"), RSEG, IN(R(RCX, 0x10000)), OK(2) },
	{ ROW(REAL, "\x0f\xb6\x07"), RSEG,
	  IN(R(RBX, 0x100), R(RAX, 0xffffffff)), MEM(M(0x10100, 0x80)),
	  OK(3), OUT(R(RAX, 0xffff0080)), ACC(RD(0x10100, 1)) },
	{ ROW(REAL, "\x66\x0f\xbe\x07"), RSEG,
	  IN(R(RBX, 0x100), R(RAX, 0x1111111111111111)),
	  MEM(M(0x10100, 0x80)), OK(4), OUT(R(RAX, 0xffffff80)),
	  ACC(RD(0x10100, 1)) },
	{ ROW(REAL, "\x0f\xa3\x07"), RSEG,
	  IN(R(RBX, 0x100), R(RAX, 0xffff)), MEM(M(0x100fe, 0x8000)),
	  OK(3), FL(CF), ACC(RD(0x100fe, 2)) },
	{ ROW(REAL, "\xf6\x07\x80"), RSEG, IN(R(RBX, 0x100)),
	  MEM(M(0x10100, 0x80)), OK(3), FL(SF), ACC(RD(0x10100, 1)) },
	{ ROW(REAL, "\x86\x07"), RSEG, IN(R(RBX, 0x100), R(RAX, 0x12)),
	  MEM(M(0x10100, 0x34)), OK(2), OUT(R(RAX, 0x34)),
	  ACC(RD(0x10100, 1), WR(0x10100, 1, 0x12)) },
	{ ROW(REAL, "\x89\x07"), SEG(S(CS, 0x50000), S(DS, 0x10000)),
	  .rip = 0x10, IN(R(RBX, 0x100), R(RAX, 1)), OK(2),
	  ACC(WR(0x10100, 2, 1)) },
	{ ROW(REAL, "\x63\x07"), RSEG, UNH },
	{ ROW(REAL, "\x40"), RSEG, UNH },
	/* ---- 16-bit protected mode ---- */
	{ ROW(PROT16, "\x89\x07"), PSEG, IN(R(RBX, 0x100), R(RAX, 0x1234)),
	  OK(2), ACC(WR(0x100100, 2, 0x1234)) },
	{ ROW(PROT16, "\x66\x67\x89\x03"), PSEG,
	  IN(R(RBX, 0x2000), R(RAX, 0x12345678)), OK(4),
	  ACC(WR(0x102000, 4, 0x12345678)) },
	{ ROW(PROT16, "\xa5"), PSEG, IN(R(RSI, 0x10), R(RDI, 0x20)), OK(1),
	  OUT(R(RSI, 0x12), R(RDI, 0x22)),
	  ACC(RD(0x100010, 2), WR(0x300020, 2, 0)) },
	{ ROW(PROT16, "\x66\xa5"), PSEG, IN(R(RSI, 0x10), R(RDI, 0x20)),
	  OK(2), OUT(R(RSI, 0x14), R(RDI, 0x24)),
	  ACC(RD(0x100010, 4), WR(0x300020, 4, 0)) },
	{ ROW(PROT16, "\xf3\x66\xa5"), PSEG, .flags = T_REP_MORE,
	  IN(R(RSI, 0x10), R(RDI, 0x20), R(RCX, 2)), OK(3),
	  OUT(R(RSI, 0x14), R(RDI, 0x24), R(RCX, 1)),
	  ACC(RD(0x100010, 4), WR(0x300020, 4, 0)) },
	{ ROW(PROT16, "\x8b\x46\x02"), PSEG, IN(R(RBP, 0x10), R(RAX, 0)),
	  OK(3), ACC(RD(0x200012, 2)) },
	{ ROW(PROT16, "\x0f\xb7\x07"), PSEG,
	  IN(R(RBX, 0x100), R(RAX, ALL1)), MEM(M(0x100100, 0xbeef)), OK(3),
	  OUT(R(RAX, 0xffffffffffffbeef)), ACC(RD(0x100100, 2)) },
	{ ROW(PROT16, "\x66\x0f\xa3\x07"), PSEG,
	  IN(R(RBX, 0x100), R(RAX, 32)), MEM(M(0x100104, 1)), OK(4),
	  FL(CF), ACC(RD(0x100104, 4)) },
	{ ROW(PROT16, "\x89\x07"), SEG(S(CS, 0x50000), S(DS, 0x100000)),
	  .rip = 0x10, IN(R(RBX, 0x100), R(RAX, 1)), OK(2),
	  ACC(WR(0x100100, 2, 1)) },
	/* ---- 32-bit protected mode ---- */
	{ ROW(PROT32, "\x89\x03"), PSEG, IN(B, R(RAX, 7)), OK(2),
	  ACC(WR(0x102000, 4, 7)) },
	{ ROW(PROT32, "\x66\x89\x03"), PSEG, IN(B, R(RAX, 7)), OK(3),
	  ACC(WR(0x102000, 2, 7)) },
	{ ROW(PROT32, "\x67\x89\x07"), PSEG,
	  IN(R(RBX, 0x12340100), R(RAX, 7)), OK(3),
	  ACC(WR(0x100100, 4, 7)) },
	{ ROW(PROT32, "\x89\x04\x8b"), PSEG, IN(B, R(RCX, 3), R(RAX, 7)),
	  OK(3), ACC(WR(0x10200c, 4, 7)) },
	{ ROW(PROT32, "\x89\x05\x00\x20\x00\x00"), PSEG, IN(R(RAX, 7)),
	  OK(6), ACC(WR(0x102000, 4, 7)) },
	{ ROW(PROT32, "\xa1\x00\x20\x00\x00"), PSEG, IN(R(RAX, 0)), OK(5),
	  ACC(RD(0x102000, 4)) },
	{ ROW(PROT32, "\x67\xa1\x00\x20"), PSEG, IN(R(RAX, 0)), OK(4),
	  ACC(RD(0x102000, 4)) },
	{ ROW(PROT32, "\x89\x45\x08"), PSEG, IN(R(RBP, 0x2000), R(RAX, 7)),
	  OK(3), ACC(WR(0x202008, 4, 7)) },
	{ ROW(PROT32, "\x89\x44\x24\x04"), PSEG,
	  IN(R(RSP, 0x3000), R(RAX, 7)), OK(4), ACC(WR(0x203004, 4, 7)) },
	{ ROW(PROT32, "\x89\x03"), SEG(S(DS, 0xfffff000)), IN(B, R(RAX, 7)),
	  OK(2), ACC(WR(0x1000, 4, 7)) },
	{ ROW(PROT32, "\x89\x03"), PSEG, IN(R(RBX, 0xffffffff), R(RAX, 7)),
	  OK(2), ACC(WR(0xfffff, 4, 7)) },
	{ ROW(PROT32, "\xf3\xa5"), PSEG, .iters = 2,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 2)), OK(2),
	  OUT(R(RSI, 0x2008), R(RDI, 0x3008), R(RCX, 0)),
	  ACC(RD(0x102000, 4), WR(0x303000, 4, 0),
	      RD(0x102004, 4), WR(0x303004, 4, 0)) },
	{ ROW(PROT32, "\x67\xa5"), PSEG,
	  IN(R(RSI, 0x1234fffe), R(RDI, 0x5678fffe)), OK(2),
	  OUT(R(RSI, 0x12340002), R(RDI, 0x56780002)),
	  ACC(RD(0x10fffe, 4), WR(0x30fffe, 4, 0)) },
	{ ROW(PROT32, "\x26\xa4"), PSEG, IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  OK(2), OUT(R(RSI, 0x2001), R(RDI, 0x3001)),
	  ACC(RD(0x302000, 1), WR(0x303000, 1, 0)) },
	{ ROW(PROT32, "\x64\xa4"), PSEG, IN(R(RSI, 0x2000), R(RDI, 0x3000)),
	  OK(2), OUT(R(RSI, 0x2001), R(RDI, 0x3001)),
	  ACC(RD(0x402000, 1), WR(0x303000, 1, 0)) },
	{ ROW(PROT32, "\x0f\xba\x23\x07"), PSEG, IN(B),
	  MEM(M(0x102000, 0x80)), OK(4), FL(CF), ACC(RD(0x102000, 4)) },
	{ ROW(PROT32, "\x81\x03\x78\x56\x34\x12"), PSEG, IN(B), OK(6),
	  FL(PF), ACC(RD(0x102000, 4), WR(0x102000, 4, 0x12345678)) },
	{ ROW(PROT32, "\x26\x89\x03"), PSEG, IN(B, R(RAX, 7)), OK(3),
	  ACC(WR(0x302000, 4, 7)) },
	{ ROW(PROT32, "\x65\x8b\x03"), PSEG, IN(B, R(RAX, ALL1)), OK(3),
	  OUT(R(RAX, 0)), ACC(RD(0x502000, 4)) },
	{ ROW(PROT32, "\x0f\xbf\x03"), PSEG, IN(B, R(RAX, 0)),
	  MEM(M(0x102000, 0x8000)), OK(3), OUT(R(RAX, 0xffff8000)),
	  ACC(RD(0x102000, 2)) },
	{ ROW(PROT32, "\x87\x03"), PSEG, IN(B, R(RAX, 1)),
	  MEM(M(0x102000, 2)), OK(2), OUT(R(RAX, 2)),
	  ACC(RD(0x102000, 4), WR(0x102000, 4, 1)) },
	{ ROW(PROT32, "\x82\x03\x01"), PSEG, IN(B), OK(3), FL(0),
	  ACC(RD(0x102000, 1), WR(0x102000, 1, 1)) },
	{ ROW(PROT32, "\x89\x03"), PSEG, .rip = 0xfffffffe, IN(B, R(RAX, 7)),
	  OK(2), ACC(WR(0x102000, 4, 7)) },
	{ ROW(PROT32, "\x48\x89\x03"), PSEG, UNH },
	{ ROW(PROT32, "\x40"), PSEG, UNH },
	/* ---- prefix handling ---- */
	{ ROW(LONG64, "\x48\x66\x89\x03"), IN(B, R(RAX, ALL1)), OK(4),
	  ACC(WR(0x2000, 2, 0xffff)) },
	{ ROW(LONG64, "\x66\x48\x89\x03"), IN(B, R(RAX, ALL1)), OK(4),
	  ACC(WR(0x2000, 8, ALL1)) },
	{ ROW(LONG64, "\x48\x40\x89\x03"), IN(B, R(RAX, ALL1)), OK(4),
	  ACC(WR(0x2000, 4, 0xffffffff)) },
	{ ROW(LONG64, "\x41\x66\x88\x23"), IN(B, R(RAX, 0x1234)), OK(4),
	  ACC(WR(0x2000, 1, 0x12)) },
	{ ROW(LONG64, "\x2e\x3e\x64\x89\x03"), SEG(S(FS, 0x10000)),
	  IN(B, R(RAX, 7)), OK(5), ACC(WR(0x12000, 4, 7)) },
	{ ROW(LONG64, "\x64\x3e\x89\x03"), SEG(S(FS, 0x10000)),
	  IN(B, R(RAX, 7)), OK(4), ACC(WR(0x12000, 4, 7)) },
	{ ROW(PROT32, "\x64\x3e\x89\x03"), PSEG, IN(B, R(RAX, 7)), OK(4),
	  ACC(WR(0x102000, 4, 7)) },
	{ ROW(LONG64, "\x40\x89\x03"), IN(B, R(RAX, 7)), OK(3),
	  ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\xf3\x89\x03"), IN(B, R(RAX, 7)), OK(3),
	  ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\xf2\xf3\xab"), .flags = T_REP_MORE,
	  IN(R(RDI, 0x3000), R(RCX, 2), R(RAX, 7)), OK(3),
	  OUT(R(RDI, 0x3004), R(RCX, 1)), ACC(WR(0x3000, 4, 7)) },
	/* ---- the 15-byte limit ---- */
	{ ROW(LONG64, "\x66\x66\x66\x66\x66\x66\x66\x66"
		      "\x48\xc7\x03\x78\x56\x34\x12"), IN(B), OK(15),
	  ACC(WR(0x2000, 8, 0x12345678)) },
	{ ROW(LONG64, "\x66\x66\x66\x66\x66\x66\x66\x66\x66"
		      "\x48\xc7\x03\x78\x56\x34\x12"), IN(B),
	  FAULT(EMU_VEC_GP) },
	{ ROW(LONG64, "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
		      "\x66\x66\x66\x89\x03"), IN(B), FAULT(EMU_VEC_GP) },
	{ ROW(LONG64, "\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26\x26"
		      "\x26\x26\x26\x26"), FAULT(EMU_VEC_GP) },
	{ ROW(REAL, "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
		    "\x66\x66\x89\x07"), RSEG, FAULT(EMU_VEC_GP) },
	{ ROW(PROT32, "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66"
		      "\x66\x89\x03"), PSEG, IN(B, R(RAX, 7)), OK(15),
	  ACC(WR(0x102000, 2, 7)) },
	/* ---- fetch faults, and fetches that must not cross a page ---- */
	{ ROW(LONG64, "\x89\x03"), .flags = T_FETCH_FAULT, IN(B),
	  FAULT(PF_VEC) },
	{ ROW(LONG64, "\x89\x03"), .flags = T_FETCH_PAGE, .rip = 0x1ffe,
	  IN(B, R(RAX, 7)), OK(2), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x48\x89\x03"), .flags = T_FETCH_PAGE, .rip = 0x1ffe,
	  IN(B), FAULT(PF_VEC) },
	{ ROW(LONG64, "\x48\xc7\x03\x78\x56\x34\x12"), .flags = T_FETCH_PAGE,
	  .rip = 0x1ff1, IN(B), OK(7), ACC(WR(0x2000, 8, 0x12345678)) },
	{ ROW(LONG64, "\x48\xc7\x03\x78\x56\x34\x12"), .flags = T_FETCH_PAGE,
	  .rip = 0x1ffa, IN(B), FAULT(PF_VEC) },
	{ ROW(LONG64, "\x48\xc7\x03\x78\x56\x34\x12"), .rip = 0x1ffa, IN(B),
	  OK(7), ACC(WR(0x2000, 8, 0x12345678)) },
	{ ROW(REAL, "\x89\x07"), .flags = T_FETCH_FAULT, RSEG, FAULT(PF_VEC) },
	/* ---- data faults: nothing may be committed ---- */
	{ ROW(LONG64, "\x8b\x03"), .flags = T_READ_FAULT, IN(B),
	  FAULT(PF_VEC), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x89\x03"), .flags = T_WRITE_FAULT, IN(B, R(RAX, 7)),
	  FAULT(PF_VEC), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x01\x03"), .flags = T_WRITE_FAULT, IN(B, R(RAX, 1)),
	  M0(0xffffffff), FAULT(PF_VEC),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0)) },
	{ ROW(LONG64, "\xa4"), .flags = T_WRITE_FAULT,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000)), FAULT(PF_VEC),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0)) },
	{ ROW(LONG64, "\x87\x03"), .flags = T_WRITE_FAULT, IN(B, R(RAX, 1)),
	  FAULT(PF_VEC), ACC(RD(0x2000, 4), WR(0x2000, 4, 1)) },
	{ ROW(LONG64, "\x0f\xab\x03"), .flags = T_READ_FAULT,
	  IN(B, R(RAX, 1)), FAULT(PF_VEC), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x8b\x03"), .flags = T_READ_FAULT | T_NO_FAULT_SET,
	  IN(B), UNH, ACC(RD(0x2000, 4)) },
	/* ---- the PENDING / re-execute protocol ---- */
	{ ROW(LONG64, "\x8b\x03"), .flags = T_PENDING, IN(B, R(RAX, ALL1)),
	  M0(0x12345678), OK(2), OUT(R(RAX, 0x12345678)),
	  ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\x01\x03"), .flags = T_PENDING, IN(B, R(RAX, 1)),
	  M0(0x7fffffff), OK(2), FL(OF | SF | AF | PF),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 0x80000000)) },
	{ ROW(LONG64, "\x87\x03"), .flags = T_PENDING, IN(B, R(RAX, 1)),
	  M0(2), OK(2), OUT(R(RAX, 2)),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 1)) },
	{ ROW(LONG64, "\xa5"), .flags = T_PENDING,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000)), M0(0xabcdef), OK(1),
	  OUT(R(RSI, 0x2004), R(RDI, 0x3004)),
	  ACC(RD(0x2000, 4), WR(0x3000, 4, 0xabcdef)) },
	{ ROW(LONG64, "\xf3\xa4"), .flags = T_PENDING | T_REP_MORE,
	  IN(R(RSI, 0x2000), R(RDI, 0x3000), R(RCX, 2)), M0(0x5a), OK(2),
	  OUT(R(RSI, 0x2001), R(RDI, 0x3001), R(RCX, 1)),
	  ACC(RD(0x2000, 1), WR(0x3000, 1, 0x5a)) },
	{ ROW(LONG64, "\x0f\xab\x03"), .flags = T_PENDING, IN(B, R(RAX, 4)),
	  M0(0), OK(3), FL(0), ACC(RD(0x2000, 4), WR(0x2000, 4, 0x10)) },
	{ ROW(LONG64, "\x39\x03"), .flags = T_PENDING, IN(B, R(RAX, 7)),
	  M0(5), OK(2), FL(CF | SF | AF), ACC(RD(0x2000, 4)) },
	{ ROW(LONG64, "\xac"), .flags = T_PENDING,
	  IN(R(RAX, 0), R(RSI, 0x2000)), M0(0x33), OK(1),
	  OUT(R(RAX, 0x33), R(RSI, 0x2001)), ACC(RD(0x2000, 1)) },
	{ ROW(REAL, "\x8b\x07"), .flags = T_PENDING, RSEG,
	  IN(R(RBX, 0x100), R(RAX, 0)), MEM(M(0x10100, 0x4321)), OK(2),
	  OUT(R(RAX, 0x4321)), ACC(RD(0x10100, 2)) },
	{ ROW(LONG64, "\x89\x03"), .flags = T_WPENDING, IN(B, R(RAX, 7)),
	  OK(2), ACC(WR(0x2000, 4, 7)) },
	{ ROW(LONG64, "\x01\x03"), .flags = T_PENDING | T_WPENDING,
	  IN(B, R(RAX, 1)), M0(1), OK(2), FL(0),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 2)) },
	{ ROW(LONG64, "\xf3\xaa"), .flags = T_WPENDING | T_REP_MORE,
	  IN(R(RAX, 0x55), R(RDI, 0x3000), R(RCX, 2)), OK(2),
	  OUT(R(RDI, 0x3001), R(RCX, 1)), ACC(WR(0x3000, 1, 0x55)) },
	{ ROW(LONG64, "\x87\x03"), .flags = T_WPENDING, IN(B, R(RAX, 1)),
	  M0(2), OK(2), OUT(R(RAX, 2)),
	  ACC(RD(0x2000, 4), WR(0x2000, 4, 1)) },
	/* ---- not implemented ---- */
	{ ROW(LONG64, "\x0f\x0b"), UNH },
	{ ROW(LONG64, "\x8d\x03"), IN(B), UNH },
	{ ROW(LONG64, "\xf4"), UNH },
	{ ROW(LONG64, "\x0f\x38\x00\x03"), IN(B), UNH },
	{ ROW(LONG64, "\x0f\xb1\x03"), IN(B), UNH },
	{ ROW(LONG64, "\x0f\xc1\x03"), IN(B), UNH },
	{ ROW(LONG64, "\x82\x03\x01"), IN(B), UNH },
	{ ROW(LONG64, "\xd8\x03"), IN(B), UNH },
	{ ROW(LONG64, "\x0f\x10\x03"), IN(B), UNH },
	{ ROW(LONG64, "\xe4\x10"), UNH },
	{ ROW(LONG64, "\x8c\x03"), IN(B), UNH },
};

/* ------------------------------------------------------------------------ */
/* The fake guest                                                           */
/* ------------------------------------------------------------------------ */

#define MAX_LOG 16

struct fake {
	const struct row *row;
	struct emu_ctxt *c;
	emu_u64 code_linear;
	int read_pending;	/* next read returns EMU_PENDING */
	int nlog;
	struct access log[MAX_LOG];
};

static void fake_fault(struct fake *f)
{
	if (!(f->row->flags & T_NO_FAULT_SET))
		emu_set_fault(f->c, PF_VEC, PF_ERR, 1);
}

static void fake_log(struct fake *f, char type, emu_u64 addr,
		     unsigned int len, emu_u64 val)
{
	if (f->nlog < MAX_LOG) {
		f->log[f->nlog].type = type;
		f->log[f->nlog].addr = addr;
		f->log[f->nlog].len = len;
		f->log[f->nlog].val = val;
	}
	f->nlog++;
}

static int fake_fetch(void *opaque, emu_u64 linear, void *buf,
		      unsigned int len)
{
	struct fake *f = opaque;
	const struct row *r = f->row;
	emu_u64 page_end = (f->code_linear | 0xfff) + 1;
	unsigned char *out = buf;
	unsigned int i;

	if (r->flags & T_FETCH_FAULT)
		goto fault;
	if ((r->flags & T_FETCH_PAGE) && linear + len > page_end)
		goto fault;
	/* Fetching anywhere but at the instruction is a decoder bug. */
	if (linear < f->code_linear || linear + len > f->code_linear + 32)
		goto fault;
	for (i = 0; i < len; i++) {
		emu_u64 off = linear + i - f->code_linear;

		out[i] = off < r->code_len ? (unsigned char)r->code[off] : 0xcc;
	}
	return 0;
fault:
	fake_fault(f);
	return -1;
}

static unsigned char fake_mem_byte(const struct row *r, emu_u64 addr)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		const struct mem_val *m = &r->mem[i];

		if (m->set && addr - m->addr < 8)
			return m->val >> (8 * (addr - m->addr));
	}
	return 0;
}

static int fake_read(void *opaque, emu_u64 linear, void *buf,
		     unsigned int len)
{
	struct fake *f = opaque;
	unsigned char *out = buf;
	unsigned int i;

	fake_log(f, 'R', linear, len, 0);
	if (f->row->flags & T_READ_FAULT) {
		fake_fault(f);
		return -1;
	}
	if (f->read_pending) {
		f->read_pending = 0;
		return EMU_PENDING;
	}
	for (i = 0; i < len; i++)
		out[i] = fake_mem_byte(f->row, linear + i);
	return 0;
}

static int fake_write(void *opaque, emu_u64 linear, const void *buf,
		      unsigned int len)
{
	struct fake *f = opaque;
	const unsigned char *in = buf;
	emu_u64 val = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		val |= (emu_u64)in[i] << (8 * i);
	fake_log(f, 'W', linear, len, val);
	if (f->row->flags & T_WRITE_FAULT) {
		fake_fault(f);
		return -1;
	}
	return (f->row->flags & T_WPENDING) ? EMU_PENDING : 0;
}

static const struct emu_ops fake_ops = {
	.fetch = fake_fetch,
	.read = fake_read,
	.write = fake_write,
};

/* ------------------------------------------------------------------------ */
/* Running one row                                                          */
/* ------------------------------------------------------------------------ */

static emu_u64 default_gpr(unsigned int i)
{
	return 0x5a5a5a5a5a5a5a00ull + i;
}

static void setup(struct emu_ctxt *c, struct fake *f, const struct row *r)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	memset(f, 0, sizeof(*f));
	c->mode = r->mode;
	for (i = 0; i < EMU_NR_GPRS; i++)
		c->gpr[i] = default_gpr(i);
	for (i = 0; i < 5; i++) {
		if (r->in[i].set)
			c->gpr[r->in[i].reg] = r->in[i].val;
		if (r->seg[i].set)
			c->seg_base[r->seg[i].seg] = r->seg[i].base;
	}
	c->rip = r->rip ? r->rip : 0x1000;
	c->rflags = r->rflags ? r->rflags : F(0);
	c->ops = &fake_ops;
	c->opaque = f;
	f->row = r;
	f->c = c;
	f->code_linear = c->rip;
	if (r->mode != EMU_MODE_LONG64)
		f->code_linear = (c->seg_base[EMU_SEG_CS] + c->rip) &
				 0xffffffffull;
}

static int run(struct emu_ctxt *c)
{
	int ret = emu_decode(c);

	return ret == EMU_OK ? emu_execute(c) : ret;
}

static int same_state(const struct emu_ctxt *a, const struct emu_ctxt *b)
{
	return !memcmp(a->gpr, b->gpr, sizeof(a->gpr)) &&
	       a->rip == b->rip && a->rflags == b->rflags;
}

/*
 * First pass of a T_PENDING row: the read goes to "userspace", so the
 * emulator must report EMU_PENDING and leave every register alone.
 */
static int check_pending_pass(struct emu_ctxt *c, struct fake *f,
			      char *msg, size_t size)
{
	struct emu_ctxt before = *c;
	int ret, i;

	f->read_pending = 1;
	ret = run(c);
	if (ret != EMU_PENDING) {
		snprintf(msg, size, "first pass returned %s, not PENDING",
			 emu_result_name(ret));
		return -1;
	}
	if (!same_state(c, &before)) {
		snprintf(msg, size, "PENDING pass changed the state");
		return -1;
	}
	for (i = 0; i < f->nlog; i++) {
		if (f->log[i].type == 'W') {
			snprintf(msg, size, "PENDING pass wrote memory");
			return -1;
		}
	}
	f->nlog = 0;
	return 0;
}

static int check_regs(const struct row *r, const struct emu_ctxt *c,
		      char *msg, size_t size)
{
	emu_u64 want[EMU_NR_GPRS];
	unsigned int i;

	for (i = 0; i < EMU_NR_GPRS; i++)
		want[i] = default_gpr(i);
	for (i = 0; i < 5; i++)
		if (r->in[i].set)
			want[r->in[i].reg] = r->in[i].val;
	for (i = 0; i < 5; i++)
		if (r->out[i].set && r->result == EMU_OK)
			want[r->out[i].reg] = r->out[i].val;
	for (i = 0; i < EMU_NR_GPRS; i++) {
		if (c->gpr[i] != want[i]) {
			snprintf(msg, size, "gpr[%u] = %#llx, want %#llx", i,
				 (unsigned long long)c->gpr[i],
				 (unsigned long long)want[i]);
			return -1;
		}
	}
	return 0;
}

static int check_accesses(const struct row *r, const struct fake *f,
			  char *msg, size_t size)
{
	int n = 0, i;

	while (n < 8 && r->acc[n].type)
		n++;
	if (f->nlog != n) {
		snprintf(msg, size, "%d memory accesses, want %d", f->nlog, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct access *a = &r->acc[i], *g = &f->log[i];

		if (a->type != g->type || a->addr != g->addr ||
		    a->len != g->len || (a->type == 'W' && a->val != g->val)) {
			snprintf(msg, size,
				 "access %d: %c %#llx/%u val %#llx, want %c %#llx/%u val %#llx",
				 i, g->type, (unsigned long long)g->addr,
				 g->len, (unsigned long long)g->val, a->type,
				 (unsigned long long)a->addr, a->len,
				 (unsigned long long)a->val);
			return -1;
		}
	}
	return 0;
}

static int check_fault(const struct row *r, const struct emu_ctxt *c,
		       char *msg, size_t size)
{
	int want_code = r->vector == EMU_VEC_GP || r->vector == PF_VEC;
	emu_u32 code = r->vector == PF_VEC ? PF_ERR : 0;

	if (c->fault_vector != r->vector || c->has_error_code != want_code ||
	    (want_code && c->fault_error_code != code)) {
		snprintf(msg, size, "fault %d/%d/%#x, want %d/%d/%#x",
			 c->fault_vector, c->has_error_code,
			 c->fault_error_code, r->vector, want_code, code);
		return -1;
	}
	return 0;
}

static int check_row(const struct row *r, char *msg, size_t size)
{
	struct emu_ctxt c, before;
	struct fake f;
	emu_u64 want_rip, want_rflags;
	int ret = EMU_OK, i;

	setup(&c, &f, r);
	before = c;
	if ((r->flags & T_PENDING) && check_pending_pass(&c, &f, msg, size))
		return -1;

	for (i = 0; i < (r->iters ? r->iters : 1) && ret == EMU_OK; i++)
		ret = run(&c);

	if (ret != r->result) {
		snprintf(msg, size, "result %s, want %s", emu_result_name(ret),
			 emu_result_name(r->result));
		return -1;
	}
	if (r->len && c.insn.len != r->len) {
		snprintf(msg, size, "length %u, want %u", c.insn.len, r->len);
		return -1;
	}
	if (ret == EMU_FAULT && check_fault(r, &c, msg, size))
		return -1;
	if (check_regs(r, &c, msg, size))
		return -1;

	want_rip = before.rip;
	if (ret == EMU_OK && !(r->flags & T_REP_MORE)) {
		want_rip += r->len;
		if (r->mode != EMU_MODE_LONG64)
			want_rip &= 0xffffffffull;
	}
	if (c.rip != want_rip) {
		snprintf(msg, size, "rip %#llx, want %#llx",
			 (unsigned long long)c.rip,
			 (unsigned long long)want_rip);
		return -1;
	}
	if (ret == EMU_OK && c.insn.rep_more != !!(r->flags & T_REP_MORE)) {
		snprintf(msg, size, "rep_more %d", c.insn.rep_more);
		return -1;
	}
	want_rflags = before.rflags;
	if (ret == EMU_OK && r->out_rflags)
		want_rflags = r->out_rflags;
	if (c.rflags != want_rflags) {
		snprintf(msg, size, "rflags %#llx, want %#llx",
			 (unsigned long long)c.rflags,
			 (unsigned long long)want_rflags);
		return -1;
	}
	return check_accesses(r, &f, msg, size);
}

/* ------------------------------------------------------------------------ */
/* Robustness: random bytes must never crash the emulator                   */
/* ------------------------------------------------------------------------ */

struct rand_guest {
	emu_u64 seed;
	struct emu_ctxt *c;
	unsigned char code[32];
	emu_u64 code_linear;
	int reads, writes, bad;
};

static emu_u64 rnd(emu_u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int rand_fetch(void *opaque, emu_u64 linear, void *buf,
		      unsigned int len)
{
	struct rand_guest *g = opaque;
	emu_u64 off = linear - g->code_linear;

	if (off + len > sizeof(g->code) || (rnd(&g->seed) & 255) == 0) {
		emu_set_fault(g->c, PF_VEC, 0, 1);
		return -1;
	}
	memcpy(buf, g->code + off, len);
	return 0;
}

static int rand_read(void *opaque, emu_u64 linear, void *buf,
		     unsigned int len)
{
	struct rand_guest *g = opaque;
	emu_u64 r = rnd(&g->seed);

	(void)linear;
	/* Reads after the write would break the commit protocol. */
	if (g->writes || (len != 1 && len != 2 && len != 4 && len != 8))
		g->bad = 1;
	g->reads++;
	if ((r & 15) == 0)
		return EMU_PENDING;
	if ((r & 15) == 1) {
		emu_set_fault(g->c, PF_VEC, 0, 1);
		return -1;
	}
	memcpy(buf, &r, len > 8 ? 8 : len);
	return 0;
}

static int rand_write(void *opaque, emu_u64 linear, const void *buf,
		      unsigned int len)
{
	struct rand_guest *g = opaque;
	emu_u64 r = rnd(&g->seed);

	(void)linear;
	(void)buf;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		g->bad = 1;
	g->writes++;
	if ((r & 7) == 0)
		return EMU_PENDING;
	if ((r & 15) == 1) {
		emu_set_fault(g->c, PF_VEC, 0, 1);
		return -1;
	}
	return 0;
}

static const struct emu_ops rand_ops = {
	.fetch = rand_fetch,
	.read = rand_read,
	.write = rand_write,
};

/* Returns a description of the first broken invariant, or NULL. */
static const char *fuzz_one(struct rand_guest *g, struct emu_ctxt *c)
{
	struct emu_ctxt before;
	unsigned int i;
	int ret;

	memset(c, 0, sizeof(*c));
	c->mode = rnd(&g->seed) & 3;
	for (i = 0; i < EMU_NR_GPRS; i++)
		c->gpr[i] = rnd(&g->seed);
	for (i = 0; i < EMU_NR_SEGS; i++)
		c->seg_base[i] = rnd(&g->seed) & 0xffff0;
	c->rip = rnd(&g->seed) & 0xffff;
	c->rflags = F(rnd(&g->seed) & (CF | PF | AF | ZF | SF | DF | OF));
	c->ops = &rand_ops;
	c->opaque = g;
	g->c = c;
	g->code_linear = c->rip;
	if (c->mode != EMU_MODE_LONG64)
		g->code_linear = (c->seg_base[EMU_SEG_CS] + c->rip) &
				 0xffffffffull;
	for (i = 0; i < sizeof(g->code); i++)
		g->code[i] = rnd(&g->seed);
	g->reads = 0;
	g->writes = 0;
	g->bad = 0;

	ret = emu_decode(c);
	if (c->insn.len > EMU_MAX_INSN_LEN ||
	    c->insn.nr_fetched > EMU_MAX_INSN_LEN)
		return "length above 15";
	if (ret == EMU_PENDING)
		return "decode returned PENDING";
	if (ret == EMU_FAULT && c->fault_vector < 0)
		return "decode fault without vector";
	if (ret != EMU_OK)
		return NULL;
	if (c->insn.len == 0)
		return "zero length";

	before = *c;
	ret = emu_execute(c);
	if (g->bad)
		return "bad access size or read after write";
	/* CMPS alone reads twice (its two operands), and writes nothing. */
	if (g->reads > 1 + (c->insn.bytes[c->insn.len - 1] >> 1 == 0xa6 >> 1) ||
	    g->writes > 1 || (g->reads > 1 && g->writes))
		return "more than one read or write";
	if (ret != EMU_OK && !same_state(c, &before))
		return "state changed on failure";
	if (ret == EMU_FAULT && c->fault_vector < 0)
		return "execute fault without vector";
	if (ret < EMU_OK || ret > EMU_FAULT)
		return "bad result";
	if (ret == EMU_OK && !c->insn.rep_more) {
		emu_u64 want = before.rip + c->insn.len;

		if (c->mode != EMU_MODE_LONG64)
			want &= 0xffffffffull;
		if (c->rip != want)
			return "RIP not advanced by the length";
	}
	return NULL;
}

static int fuzz(int iterations)
{
	struct rand_guest g = { .seed = 0x2545f4914f6cdd1dull };
	struct emu_ctxt c;
	const char *err;
	int i, j;

	for (i = 0; i < iterations; i++) {
		err = fuzz_one(&g, &c);
		if (err) {
			printf("# FAIL random input %d: %s; bytes", i, err);
			for (j = 0; j < 15; j++)
				printf(" %02x", g.code[j]);
			printf("\n");
			return -1;
		}
	}
	return 0;
}

/* Odds and ends that do not fit the table. */
static int misc_checks(void)
{
	struct emu_ctxt c;

	memset(&c, 0, sizeof(c));
	if (emu_execute(&c) != EMU_UNHANDLED) {
		printf("# FAIL misc: execute without decode\n");
		return -1;
	}
	if (strcmp(emu_result_name(EMU_PENDING), "PENDING") ||
	    strcmp(emu_result_name(42), "?")) {
		printf("# FAIL misc: emu_result_name\n");
		return -1;
	}
	return 0;
}

int main(void)
{
	int nrows = ARRAY_SIZE(rows);
	int passed = 0, failed = 0, i;
	char msg[256];

	printf("# emulate_test: %d table rows, fuzz, misc\n", nrows);
	for (i = 0; i < nrows; i++) {
		if (check_row(&rows[i], msg, sizeof(msg))) {
			printf("# FAIL row %d (line %d): %s\n", i, rows[i].line,
			       msg);
			failed++;
		} else {
			passed++;
		}
	}
	if (fuzz(300000))
		failed++;
	else
		passed++;
	if (misc_checks())
		failed++;
	else
		passed++;

	printf("emulate_test: %d passed, %d failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
