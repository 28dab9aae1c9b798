/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Virtual Machine Control Block (AMD APM Vol. 2, appendix "Layout of
 * VMCB").
 *
 * A VMCB is one 4K page in plain memory: a control area (what to
 * intercept, how to enter, and, after #VMEXIT, why the guest stopped)
 * followed at offset 0x400 by the state save area (the guest's segment,
 * control and some MSR state).  Unlike a VMCS it is read and written with
 * ordinary loads and stores.  VMRUN takes its physical address in RAX.
 *
 * Offsets are checked at build time in svm.c.
 */
#ifndef KVISOR_SVM_VMCB_H
#define KVISOR_SVM_VMCB_H

#include <linux/types.h>

struct vmcb_control {
	u32 intercept_cr;		/* 0x000: reads in 15:0, writes 31:16 */
	u32 intercept_dr;		/* 0x004 */
	u32 intercept_exceptions;	/* 0x008: one bit per vector */
	u32 intercept_misc1;		/* 0x00c: SVM_INTERCEPT1_* */
	u32 intercept_misc2;		/* 0x010: SVM_INTERCEPT2_* */
	u32 intercept_misc3;		/* 0x014 */
	u8 reserved_1[0x03c - 0x018];
	u16 pause_filter_thresh;	/* 0x03c */
	u16 pause_filter_count;		/* 0x03e */
	u64 iopm_base_pa;		/* 0x040: I/O permission map */
	u64 msrpm_base_pa;		/* 0x048: MSR permission map */
	u64 tsc_offset;			/* 0x050 */
	u32 asid;			/* 0x058: tags the guest's TLB entries */
	u8 tlb_ctl;			/* 0x05c: SVM_TLB_* */
	u8 reserved_2[3];
	u32 int_ctl;			/* 0x060: virtual interrupt control */
	u32 int_vector;			/* 0x064 */
	u32 int_state;			/* 0x068: bit 0 = interrupt shadow */
	u8 reserved_3[4];
	u64 exit_code;			/* 0x070: SVM_EXIT_* */
	u64 exit_info_1;		/* 0x078 */
	u64 exit_info_2;		/* 0x080 */
	u32 exit_int_info;		/* 0x088: event being delivered at exit */
	u32 exit_int_info_err;		/* 0x08c */
	u64 nested_ctl;			/* 0x090: bit 0 enables NPT */
	u64 avic_vapic_bar;		/* 0x098 */
	u64 ghcb_gpa;			/* 0x0a0 */
	u32 event_inj;			/* 0x0a8: event to deliver at VMRUN */
	u32 event_inj_err;		/* 0x0ac */
	u64 nested_cr3;			/* 0x0b0: root of the nested page table */
	u64 virt_ext;			/* 0x0b8 */
	u32 clean;			/* 0x0c0: VMCB clean bits */
	u32 reserved_4;
	u64 next_rip;			/* 0x0c8: with NRIPS */
	u8 insn_len;			/* 0x0d0: with decode assists */
	u8 insn_bytes[15];
	u8 reserved_5[0x400 - 0x0e0];
} __packed;

/* A segment register as the VMCB holds it: the descriptor, unpacked. */
struct vmcb_seg {
	u16 selector;
	u16 attrib;		/* SVM_SEG_* bits: type, S, DPL, P, AVL, L, DB, G */
	u32 limit;		/* in bytes, already scaled by G */
	u64 base;
} __packed;

struct vmcb_save {
	struct vmcb_seg es;		/* 0x400 */
	struct vmcb_seg cs;
	struct vmcb_seg ss;
	struct vmcb_seg ds;
	struct vmcb_seg fs;
	struct vmcb_seg gs;
	struct vmcb_seg gdtr;
	struct vmcb_seg ldtr;
	struct vmcb_seg idtr;
	struct vmcb_seg tr;		/* 0x490 */
	u8 reserved_1[0x4cb - 0x4a0];
	u8 cpl;				/* 0x4cb */
	u8 reserved_2[4];
	u64 efer;			/* 0x4d0: must have SVME set */
	u8 reserved_3[0x548 - 0x4d8];
	u64 cr4;			/* 0x548 */
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip;			/* 0x578 */
	u8 reserved_4[0x5d8 - 0x580];
	u64 rsp;			/* 0x5d8 */
	u64 s_cet;
	u64 ssp;
	u64 isst_addr;
	u64 rax;			/* 0x5f8 */
	u64 star;			/* 0x600 */
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 kernel_gs_base;
	u64 sysenter_cs;
	u64 sysenter_esp;
	u64 sysenter_eip;
	u64 cr2;			/* 0x640 */
	u8 reserved_5[0x668 - 0x648];
	u64 g_pat;			/* 0x668: guest PAT, with NPT */
	u64 dbgctl;
	u64 br_from;
	u64 br_to;
	u64 last_excp_from;
	u64 last_excp_to;
	u8 reserved_6[0x1000 - 0x698];
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

#endif /* KVISOR_SVM_VMCB_H */
