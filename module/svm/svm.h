/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM architecture definitions used by the SVM backend (AMD APM Vol. 2,
 * "Secure Virtual Machine", and its appendix "SVM Intercept Exit Codes").
 * Vendor code only: common code never includes this file.  Names carry a
 * KV_ prefix where the kernel's own headers use the plain one.
 */
#ifndef KVISOR_SVM_H
#define KVISOR_SVM_H

#include <linux/bits.h>
#include <linux/types.h>
#include <asm/asm.h>

#include "core/vendor.h"
#include "vmcb.h"

/* CPUID 0x80000001 ECX: the CPU implements SVM at all. */
#define KV_SVM_CPUID_SVM		BIT(2)

/* CPUID 0x8000000A: EBX = number of ASIDs, EDX = SVM sub-features. */
#define KV_SVM_CPUID_LEAF		0x8000000a
#define KV_SVM_FEATURE_NPT		BIT(0)
#define KV_SVM_FEATURE_NRIPS		BIT(3)
#define KV_SVM_FEATURE_VMCB_CLEAN	BIT(5)
#define KV_SVM_FEATURE_FLUSH_ASID	BIT(6)
#define KV_SVM_FEATURE_DECODE_ASSISTS	BIT(7)
#define KV_SVM_FEATURE_PAUSE_FILTER	BIT(10)
#define KV_SVM_FEATURE_PAUSE_THRESHOLD	BIT(12)
#define KV_SVM_FEATURE_VGIF		BIT(16)

/* MSRs */
#define KV_MSR_VM_CR			0xc0010114
#define KV_MSR_VM_HSAVE_PA		0xc0010117
#define KV_SVM_VM_CR_SVMDIS		BIT(4)	/* makes EFER.SVME reserved */
#define KV_EFER_SVME			BIT_ULL(12)

/* intercept_misc1 */
#define SVM_INTERCEPT1_INTR		BIT(0)
#define SVM_INTERCEPT1_NMI		BIT(1)
#define SVM_INTERCEPT1_VINTR		BIT(4)
#define SVM_INTERCEPT1_IRET		BIT(20)
#define SVM_INTERCEPT1_INTN		BIT(21)
#define SVM_INTERCEPT1_CPUID		BIT(18)
#define SVM_INTERCEPT1_RDPMC		BIT(15)
#define SVM_INTERCEPT1_INVD		BIT(22)
#define SVM_INTERCEPT1_PAUSE		BIT(23)
#define SVM_INTERCEPT1_HLT		BIT(24)
#define SVM_INTERCEPT1_INVLPGA		BIT(26)
#define SVM_INTERCEPT1_IOIO		BIT(27)
#define SVM_INTERCEPT1_MSR		BIT(28)
#define SVM_INTERCEPT1_SHUTDOWN		BIT(31)

/* intercept_misc2 */
#define SVM_INTERCEPT2_VMRUN		BIT(0)	/* VMRUN fails without it */
#define SVM_INTERCEPT2_VMMCALL		BIT(1)
#define SVM_INTERCEPT2_VMLOAD		BIT(2)
#define SVM_INTERCEPT2_VMSAVE		BIT(3)
#define SVM_INTERCEPT2_STGI		BIT(4)
#define SVM_INTERCEPT2_CLGI		BIT(5)
#define SVM_INTERCEPT2_SKINIT		BIT(6)
#define SVM_INTERCEPT2_MONITOR		BIT(10)
#define SVM_INTERCEPT2_MWAIT		BIT(11)
#define SVM_INTERCEPT2_WBINVD		BIT(9)
#define SVM_INTERCEPT2_XSETBV		BIT(13)
#define SVM_INTERCEPT2_RDPRU		BIT(14)

/* intercept_cr: reads of CRn in bit n, writes in bit 16 + n. */
#define SVM_INTERCEPT_CR4_WRITE		BIT(16 + 4)
#define SVM_INTERCEPT_CR8_WRITE		BIT(16 + 8)

/* tlb_ctl */
#define SVM_TLB_NONE			0
#define SVM_TLB_FLUSH_ALL		1	/* every ASID: always available */

/* int_ctl: guest RFLAGS.IF masks only virtual interrupts */
#define SVM_INT_V_INTR_MASKING		BIT(24)
/* int_ctl: a virtual interrupt pending, its priority, ignore the TPR */
#define SVM_INT_V_IRQ			BIT(8)
#define SVM_INT_V_INTR_PRIO		(0xf << 16)
#define SVM_INT_V_IGN_TPR		BIT(20)
/* int_state: the guest is in an interrupt shadow (after STI or MOV SS) */
#define SVM_INT_STATE_SHADOW		BIT(0)

/* nested_ctl */
#define SVM_NESTED_NP_ENABLE		BIT_ULL(0)

/* event_inj and exit_int_info */
#define SVM_EVT_VECTOR_MASK		0xff
#define SVM_EVT_TYPE_INTR		(0 << 8)
#define SVM_EVT_TYPE_NMI		(2 << 8)
#define SVM_EVT_TYPE_EXCEPTION		(3 << 8)
#define SVM_EVT_TYPE_SOFT_INTR		(4 << 8)
#define SVM_EVT_TYPE_MASK		(7 << 8)
#define SVM_EVT_ERROR_VALID		BIT(11)
#define SVM_EVT_VALID			BIT(31)

/* Segment attributes in struct vmcb_seg */
#define SVM_SEG_TYPE_MASK		0xf
#define SVM_SEG_S_SHIFT			4
#define SVM_SEG_DPL_SHIFT		5
#define SVM_SEG_P_SHIFT			7
#define SVM_SEG_AVL_SHIFT		8
#define SVM_SEG_L_SHIFT			9
#define SVM_SEG_DB_SHIFT		10
#define SVM_SEG_G_SHIFT			11

/* Exit codes */
#define SVM_EXIT_WRITE_CR4		0x014
#define SVM_EXIT_WRITE_CR8		0x018
#define SVM_EXIT_READ_DR0		0x020
#define SVM_EXIT_WRITE_DR0		0x030
#define SVM_EXIT_EXCP_BASE		0x040
#define SVM_EXIT_INTR			0x060
#define SVM_EXIT_NMI			0x061
#define SVM_EXIT_SMI			0x062
#define SVM_EXIT_INIT			0x063
#define SVM_EXIT_VINTR			0x064
#define SVM_EXIT_CPUID			0x072
#define SVM_EXIT_IRET			0x074
#define SVM_EXIT_SWINT			0x075
#define SVM_EXIT_RDPMC			0x06f
#define SVM_EXIT_INVD			0x076
#define SVM_EXIT_PAUSE			0x077
#define SVM_EXIT_HLT			0x078
#define SVM_EXIT_INVLPGA		0x07a
#define SVM_EXIT_IOIO			0x07b
#define SVM_EXIT_MSR			0x07c
#define SVM_EXIT_SHUTDOWN		0x07f
#define SVM_EXIT_VMRUN			0x080
#define SVM_EXIT_VMMCALL		0x081
#define SVM_EXIT_VMLOAD			0x082
#define SVM_EXIT_VMSAVE			0x083
#define SVM_EXIT_STGI			0x084
#define SVM_EXIT_CLGI			0x085
#define SVM_EXIT_SKINIT			0x086
#define SVM_EXIT_MONITOR		0x08a
#define SVM_EXIT_MWAIT			0x08b
#define SVM_EXIT_WBINVD			0x089
#define SVM_EXIT_XSETBV			0x08d
#define SVM_EXIT_RDPRU			0x08e
#define SVM_EXIT_NPF			0x400
#define SVM_EXIT_INVALID		((u64)-1)	/* VMRUN refused the state */

/* IOIO exit_info_1 */
#define SVM_IOIO_IN			BIT(0)
#define SVM_IOIO_STR			BIT(2)
#define SVM_IOIO_REP			BIT(3)
#define SVM_IOIO_SIZE_SHIFT		4	/* one-hot: 1, 2, 4 bytes */
#define SVM_IOIO_PORT_SHIFT		16

/*
 * What VMRUN's consistency checks look at, copied before each VMRUN: after
 * VMEXIT_INVALID the VMCB's save area may hold whatever the CPU had loaded
 * by then (QEMU writes it back), so the checks in check.c read this.
 */
struct svm_entry_state {
	u64 efer, cr0, cr3, cr4, dr6, dr7;
	u16 cs_attrib;
	u32 intercept_misc2;
	u32 asid;
	u32 event_inj;
	u64 iopm_base_pa, msrpm_base_pa;
	u32 int_state;		/* and RIP: an STI shadow QEMU drops */
	u64 rip;
};

/**
 * struct svm_vcpu - kvisor's SVM vCPU
 * @vcpu:	the vendor-neutral part
 * @vmcb:	this vCPU's VMCB, and its physical address for VMRUN
 * @asid:	the ASID tagging this vCPU's TLB entries on @asid_cpu
 * @asid_gen:	the generation of @asid_cpu's ASID space it was taken from
 * @flush:	set from other threads when the nested tables lost entries
 * @event:	an exception waiting for the next VMRUN (SVM_EVT_* format)
 * @nmi_masked: an NMI handler runs: SVM keeps no visible record of it, so
 *		kvisor does, from the NMI's injection to its IRET
 * @awaiting_iret: the IRET exited, but has not run yet (it runs when the
 *		guest resumes); @iret_rip is where it is
 * @step:	why the next VMRUN single-steps the guest (SVM_STEP_*): an
 *		NMI waits for the guest to get past an IRET or an interrupt
 *		shadow, or, where VMRUN drops the shadow (svm_emulator_quirks),
 *		an interrupt waits for the shadow to end.  RFLAGS.TF traps
 *		after one instruction; @step_own_tf says the guest had TF set
 *		itself then, and @stepped why the last exit ended such a step
 *		(svm/events.c)
 * @virq:	the interrupt (SVM_EVT_* format) the last VMRUN offered as a
 *		virtual interrupt instead of through EVENTINJ, where
 *		svm_emulator_quirks says so (svm/events.c)
 * @entry:	the state the last VMRUN was given, for naming its failure
 * @pause_filter_count: the filter count in force (exit.c grows it, vcpu.c
 *		shrinks it)
 */
struct svm_vcpu {
	struct kvisor_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;
	int asid_cpu;
	u64 asid_gen;
	bool flush;
	u32 event;
	u32 event_err;
	struct svm_entry_state entry;
	bool nmi_masked;
	bool awaiting_iret;
	u64 iret_rip;
	u8 step;
	bool step_own_tf;
	u8 stepped;
	u32 virq;
	/* where svm_shadow_is_real() last looked, and what it found */
	u64 shadow_rip;
	bool shadow_real;
	/* this vCPU's MSR permission map, once SPEC_CTRL or a filter needs one */
	u8 *msrpm;
	/* PAUSE filtering: the count now, and when it was last shrunk */
	u16 pause_filter_count;
	bool pause_filter_dirty;	/* not yet in the VMCB */
	unsigned long pause_switches;	/* the task's context switches then */
	bool erratum_383;	/* the last #MC exit was the guest's erratum */
};

static inline struct svm_vcpu *to_svm(struct kvisor_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

/* Per host CPU: the ASID allocator and the pages VMRUN needs. */
struct svm_cpu {
	u32 max_asid;
	u32 next_asid;
	u64 asid_gen;
	/*
	 * A new generation began and its flush of every ASID has not yet
	 * been carried out by a VMRUN that ran (svm_pick_asid()).
	 */
	bool flush_pending;
	void *hsave;		/* VM_HSAVE_PA: where VMRUN keeps host state */
	u64 host_save_pa;	/* VMSAVE'd host FS, GS, TR, syscall MSRs */
	void *host_save;
	/* the VMCB that last ran here: another one costs an IBPB */
	struct vmcb *current_vmcb;
};

DECLARE_PER_CPU(struct svm_cpu, svm_cpu);
extern bool svm_has_nrips;
extern bool svm_emulator_quirks;
bool svm_erratum_383_hit(void);
/*
 * PAUSE filtering (svm.c): KVM's module parameters, with KVM's names and
 * defaults; pause_filter_count is 0 when the CPU does not offer it.
 */
extern unsigned short pause_filter_thresh, pause_filter_count,
	pause_filter_count_grow, pause_filter_count_shrink,
	pause_filter_count_max;
extern u64 svm_iopm_pa, svm_msrpm_pa;

/* vmenter.S: VMLOAD, VMRUN, VMSAVE and the register switch */
void kv_svm_vmrun(u64 vmcb_pa, u64 *regs, u64 host_save_pa,
		  unsigned long spec_flags, u64 *spec_ctrl);

/* npt.c: NPT entries, ASIDs */
extern struct kvisor_tdp_format svm_npt_format;
void svm_pick_asid(struct svm_vcpu *svm, int cpu);
void svm_asid_entered(struct svm_vcpu *svm);
void svm_request_tlb_flush(struct kvisor_vcpu *vcpu);

/* vcpu.c: create, free, run */
struct kvisor_vcpu *svm_vcpu_create(struct kvisor_vm *vm);
void svm_vcpu_free(struct kvisor_vcpu *vcpu);
void svm_reset_vmcb(struct svm_vcpu *svm);
int svm_run(struct kvisor_vcpu *vcpu);

/* state.c: control registers, segments, MSRs, debug */
void svm_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs);
int svm_set_sregs(struct kvisor_vcpu *vcpu, const struct kvm_sregs *sregs);
void svm_get_cpu_mode(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt);
void svm_get_paging(struct kvisor_vcpu *vcpu, u64 *cr0, u64 *cr3, u64 *cr4,
		    u64 *efer);
int svm_get_cpl(struct kvisor_vcpu *vcpu);
void svm_set_cr2(struct kvisor_vcpu *vcpu, u64 cr2);
int svm_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int svm_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val);
int svm_set_tsc_offset(struct kvisor_vcpu *vcpu, u64 offset);
void svm_set_debug(struct kvisor_vcpu *vcpu, u64 dr7, bool intercept_bp);

/* events.c: injection, interrupt and NMI windows, event state */
void svm_queue_exception(struct kvisor_vcpu *vcpu, int vector,
			 bool has_error, u32 error);
void svm_inject_event(struct svm_vcpu *svm);
void svm_update_cr8_intercept(struct svm_vcpu *svm);
void svm_requeue_event(struct svm_vcpu *svm);
void svm_cancel_entry_event(struct svm_vcpu *svm);
bool svm_in_shadow(struct svm_vcpu *svm);
bool svm_interrupt_allowed(struct kvisor_vcpu *vcpu);
void svm_inject_irq(struct kvisor_vcpu *vcpu, u8 vector);
void svm_set_irq_window(struct kvisor_vcpu *vcpu, bool on);
bool svm_nmi_allowed(struct kvisor_vcpu *vcpu);
void svm_inject_nmi(struct kvisor_vcpu *vcpu);
void svm_set_nmi_window(struct kvisor_vcpu *vcpu, bool on);
/* Why kvisor single-steps the guest (struct svm_vcpu's @step). */
#define SVM_STEP_NMI			BIT(0)
#define SVM_STEP_IRQ			BIT(1)

void svm_step_load(struct svm_vcpu *svm);
void svm_step_end(struct svm_vcpu *svm);
u8 svm_step_trap(struct svm_vcpu *svm, u64 *dr6_bits);
void svm_get_event_state(struct kvisor_vcpu *vcpu,
			 struct kvisor_event_state *st);
void svm_set_event_state(struct kvisor_vcpu *vcpu,
			 const struct kvisor_event_state *st);

/* exit.c: the exit table and handlers */
int svm_handle_exit(struct kvisor_vcpu *vcpu);
void svm_get_exit_info(struct kvisor_vcpu *vcpu, u32 *reason, u64 *info1,
		       u64 *info2, u32 *intr_info, u32 *error_code);

/* check.c: naming VMRUN failures */
void svm_explain_fail_entry(struct kvisor_vcpu *vcpu, char *buf, size_t len);

/* dump.c: the VMCB, decoded */
void svm_dump_state(struct kvisor_vcpu *vcpu, struct seq_file *m);

/*
 * CLGI and STGI, with exception-table entries: once a reboot cleared
 * EFER.SVME under a vCPU they #UD, which kvisor_virt_fault() lets pass
 * while rebooting.  (VMRUN, VMLOAD and VMSAVE are in vmenter.S.)
 */
#define SVM_GIF_INSN(name, insn)					\
static __always_inline void name(void)					\
{									\
	bool fault = true;						\
									\
	asm volatile("1: " insn "\n\t"					\
		     "movb $0, %[fault]\n\t"				\
		     "2:\n\t"						\
		     _ASM_EXTABLE(1b, 2b)				\
		     : [fault] "+qm" (fault) : : "memory");		\
	if (unlikely(fault))						\
		kvisor_virt_fault();					\
}

SVM_GIF_INSN(svm_clgi, "clgi")
SVM_GIF_INSN(svm_stgi, "stgi")

#endif /* KVISOR_SVM_H */
