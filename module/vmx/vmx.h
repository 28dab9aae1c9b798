/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel VMX architecture definitions used by the VMX backend (Intel SDM
 * vol. 3, the VMX chapters and the "VMX Capability Reporting Facility"
 * appendix), and the backend's own types.  Vendor code only: common code
 * never includes this file.  Names carry a KV_ prefix where the kernel's
 * own headers use the plain one.
 */
#ifndef KVISOR_VMX_H
#define KVISOR_VMX_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/types.h>

#include "core/vendor.h"
#include "vmcs.h"

/* CPUID.1:ECX */
#define KV_VMX_CPUID_VMX		BIT(5)

/* IA32_FEATURE_CONTROL (MSR 0x3a) */
#define KV_VMX_FEATURE_CONTROL_LOCKED	BIT_ULL(0)
#define KV_VMX_FEATURE_CONTROL_OUTSIDE_SMX BIT_ULL(2)

/* Capability MSRs */
#define KV_MSR_VMX_BASIC		0x480
#define KV_MSR_VMX_PINBASED_CTLS	0x481
#define KV_MSR_VMX_PROCBASED_CTLS	0x482
#define KV_MSR_VMX_EXIT_CTLS		0x483
#define KV_MSR_VMX_ENTRY_CTLS		0x484
#define KV_MSR_VMX_MISC			0x485	/* 4:0: preemption timer rate */
#define KV_MSR_VMX_CR0_FIXED0		0x486
#define KV_MSR_VMX_CR0_FIXED1		0x487
#define KV_MSR_VMX_CR4_FIXED0		0x488
#define KV_MSR_VMX_CR4_FIXED1		0x489
#define KV_MSR_VMX_PROCBASED_CTLS2	0x48b
#define KV_MSR_VMX_EPT_VPID_CAP		0x48c
/* The "true" controls may allow clearing controls the plain ones force. */
#define KV_MSR_VMX_TRUE_PINBASED_CTLS	0x48d
#define KV_MSR_VMX_TRUE_PROCBASED_CTLS	0x48e
#define KV_MSR_VMX_TRUE_EXIT_CTLS	0x48f
#define KV_MSR_VMX_TRUE_ENTRY_CTLS	0x490

/* IA32_VMX_BASIC fields */
#define KV_VMX_BASIC_REVISION(v)	((u32)(v) & 0x7fffffff)
#define KV_VMX_BASIC_VMCS_SIZE(v)	((u32)((v) >> 32) & 0x1fff)
#define KV_VMX_BASIC_MEM_TYPE(v)	((u32)((v) >> 50) & 0xf)
#define KV_VMX_BASIC_MEM_TYPE_WB	6
#define KV_VMX_BASIC_TRUE_CTLS		BIT_ULL(55)

/* IA32_VMX_EPT_VPID_CAP */
#define KV_VMX_EPT_WALK_4		BIT_ULL(6)
#define KV_VMX_EPT_WB			BIT_ULL(14)
#define KV_VMX_EPT_2M			BIT_ULL(16)
#define KV_VMX_EPT_1G			BIT_ULL(17)
#define KV_VMX_EPT_INVEPT		BIT_ULL(20)
#define KV_VMX_EPT_INVEPT_SINGLE	BIT_ULL(25)
#define KV_VMX_EPT_INVEPT_ALL		BIT_ULL(26)
#define KV_VMX_VPID_INVVPID		BIT_ULL(32)
#define KV_VMX_VPID_INVVPID_SINGLE	BIT_ULL(41)
#define KV_VMX_VPID_INVVPID_ALL		BIT_ULL(42)

/*
 * Controls.  A capability MSR holds the allowed-0 settings in its low half
 * (a 1 there means the control must be 1) and the allowed-1 settings in
 * its high half (a 0 there means the control must be 0).
 */
#define PIN_EXTINT_EXITING		BIT(0)
#define PIN_NMI_EXITING			BIT(3)
#define PIN_VIRTUAL_NMIS		BIT(5)
#define PIN_PREEMPTION_TIMER		BIT(6)

#define PROC_INTR_WINDOW_EXITING	BIT(2)
#define PROC_NMI_WINDOW_EXITING		BIT(22)
#define PROC_USE_TSC_OFFSETTING		BIT(3)
#define PROC_HLT_EXITING		BIT(7)
#define PROC_MWAIT_EXITING		BIT(10)
#define PROC_CR3_LOAD_EXITING		BIT(15)
#define PROC_CR3_STORE_EXITING		BIT(16)
#define PROC_CR8_LOAD_EXITING		BIT(19)
#define PROC_CR8_STORE_EXITING		BIT(20)
#define PROC_RDPMC_EXITING		BIT(11)
#define PROC_MOV_DR_EXITING		BIT(23)
#define PROC_UNCOND_IO_EXITING		BIT(24)
#define PROC_USE_MSR_BITMAPS		BIT(28)
#define PROC_MONITOR_EXITING		BIT(29)
#define PROC_SECONDARY_CONTROLS		BIT(31)

#define PROC2_EPT			BIT(1)
#define PROC2_RDTSCP			BIT(3)	/* else RDTSCP, RDPID #UD */
#define PROC2_VPID			BIT(5)
#define PROC2_UNRESTRICTED_GUEST	BIT(7)
#define PROC2_WBINVD_EXITING		BIT(6)
#define PROC2_PAUSE_LOOP_EXITING	BIT(10)
#define PROC2_XSAVES			BIT(20)	/* else XSAVES, XRSTORS #UD */

#define EXIT_HOST_ADDR_SPACE_SIZE	BIT(9)
#define EXIT_SAVE_IA32_PAT		BIT(18)
#define EXIT_LOAD_IA32_PAT		BIT(19)
#define EXIT_SAVE_IA32_EFER		BIT(20)
#define EXIT_LOAD_IA32_EFER		BIT(21)

#define ENTRY_LOAD_DEBUG_CONTROLS	BIT(2)
#define ENTRY_IA32E_MODE		BIT(9)
#define ENTRY_LOAD_IA32_PAT		BIT(14)
#define ENTRY_LOAD_IA32_EFER		BIT(15)

/* Segment access rights, as the VMCS holds them */
#define VMX_AR_TYPE_MASK		0xf
#define VMX_AR_S			BIT(4)
#define VMX_AR_DPL_SHIFT		5
#define VMX_AR_P			BIT(7)
#define VMX_AR_AVL			BIT(12)
#define VMX_AR_L			BIT(13)
#define VMX_AR_DB			BIT(14)
#define VMX_AR_G			BIT(15)
#define VMX_AR_UNUSABLE			BIT(16)

/* Guest interruptibility: what blocks events for one more instruction */
#define VMX_INTR_BLOCK_STI		BIT(0)
#define VMX_INTR_BLOCK_MOV_SS		BIT(1)
#define VMX_INTR_BLOCK_NMI		BIT(3)

/* Event injection (entry) and exit interruption information */
#define VMX_INTR_INFO_VECTOR_MASK	0xff
#define VMX_INTR_TYPE_MASK		(7 << 8)
#define VMX_INTR_TYPE_EXTERNAL		(0 << 8)
#define VMX_INTR_TYPE_NMI		(2 << 8)
#define VMX_INTR_TYPE_HW_EXCEPTION	(3 << 8)
#define VMX_INTR_TYPE_PRIV_SW_EXCEPTION	(5 << 8)	/* INT1 (ICEBP) */
#define VMX_INTR_INFO_ERROR_VALID	BIT(11)
/* exit interruption info and EPT-violation qualification bit 12 */
#define VMX_NMI_UNBLOCKED_BY_IRET	BIT(12)
#define VMX_INTR_INFO_VALID		BIT(31)

/* Exit reasons (basic, bits 15:0 of the exit reason field) */
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTERRUPT	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INIT_SIGNAL		3
#define EXIT_REASON_INTERRUPT_WINDOW	7
#define EXIT_REASON_NMI_WINDOW		8
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_HLT			12
#define EXIT_REASON_INVD		13
#define EXIT_REASON_RDPMC		15
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_VMCLEAR		19
#define EXIT_REASON_VMLAUNCH		20
#define EXIT_REASON_VMPTRLD		21
#define EXIT_REASON_VMPTRST		22
#define EXIT_REASON_VMREAD		23
#define EXIT_REASON_VMRESUME		24
#define EXIT_REASON_VMWRITE		25
#define EXIT_REASON_VMXOFF		26
#define EXIT_REASON_VMXON		27
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_DR_ACCESS		29
#define EXIT_REASON_IO_INSTRUCTION	30
#define EXIT_REASON_MSR_READ		31
#define EXIT_REASON_MSR_WRITE		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_MSR_LOAD_FAIL	34
#define EXIT_REASON_MWAIT		36
#define EXIT_REASON_MONITOR		39
#define EXIT_REASON_PAUSE		40
#define EXIT_REASON_MCE_DURING_ENTRY	41
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_INVEPT		50
#define EXIT_REASON_INVVPID		53
#define EXIT_REASON_PREEMPTION_TIMER	52
#define EXIT_REASON_WBINVD		54
#define EXIT_REASON_XSETBV		55
#define EXIT_REASON_NR			64
/* Set in the exit reason when VM entry itself failed. */
#define EXIT_REASON_FAILED_ENTRY	BIT(31)

/*
 * The CR4 bits the guest changes without an exit: those every x86-64 CPU
 * has and that need no action from kvisor; KVM's
 * KVM_POSSIBLE_CR4_GUEST_BITS without FSGSBASE, which needs a CPUID
 * check.  PGE is among them: Linux toggles it to flush global pages.
 */
#define VMX_CR4_GUEST_OWNED (X86_CR4_PVI | X86_CR4_DE | X86_CR4_PCE | \
			     X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
			     X86_CR4_PGE | X86_CR4_TSD)

/*
 * The MSRs VMX does not switch by itself but a 64-bit guest uses:
 * KERNEL_GS_BASE and the SYSCALL MSRs, switched by hand once a KVM_RUN
 * (vcpu.c, vmx_prepare_switch_to_guest())
 */
#define VMX_NR_SWITCHED_MSRS		5
extern const u32 vmx_switched_msrs[VMX_NR_SWITCHED_MSRS];

/* What VMCS setup needs from the capability MSRs, computed once. */
struct vmx_config {
	u32 revision;
	u32 pin, proc, proc2, exit, entry;
	u64 ept_vpid_cap;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 preemption_ticks;	/* 0: no preemption timer */
};

/*
 * PAUSE-loop exiting (vmx.c): KVM's module parameters, with KVM's names
 * and defaults; ple_gap is 0 when the CPU does not offer it.
 */
extern unsigned int ple_gap, ple_window, ple_window_grow, ple_window_shrink,
	ple_window_max;

extern struct vmx_config vmx_config;

/* Per host CPU: the VMXON region and the VMCSs loaded on this CPU. */
struct vmx_cpu {
	void *vmxon;
	struct list_head loaded;
	void *current_vmcs;
};

DECLARE_PER_CPU(struct vmx_cpu, vmx_cpu);

/* Exit information, read while the VMCS is current, used later. */
struct vmx_exit_info {
	u32 reason;
	u32 intr_info;
	u32 intr_error;
	u32 idt_vectoring;
	u32 idt_vectoring_error;
	u32 insn_len;
	unsigned long qualification;
	u64 gpa;
	bool vmfail;		/* VMLAUNCH/VMRESUME itself failed */
	u32 insn_error;		/* ... and the VM-instruction error says why */
};

/*
 * The host's data segment selectors and LDT: VM exit loads the selectors
 * from the VMCS (null, see vmx_setup_host_state()) and leaves LDTR null,
 * so they are saved at the first entry of a KVM_RUN and put back at
 * vmx_vcpu_put().
 */
struct vmx_host_segments {
	u16 ds, es, fs, gs, ldt;
};

/**
 * struct vmx_vcpu - kvisor's VMX vCPU
 * @vcpu:	the vendor-neutral part
 * @vmcs:	this vCPU's VMCS region (a page tagged with the revision id)
 * @cpu:	the host CPU the VMCS is loaded on, or -1
 * @loaded:	entry in that CPU's list of loaded VMCSs
 * @launched:	VMLAUNCH succeeded since the last VMCLEAR: VMRESUME next
 * @vpid:	tags the guest's TLB entries, as an ASID does on SVM
 * @flush:	drop cached guest translations at the next entry
 * @exit:	the last exit's information
 * @guest_msrs/@host_msrs: the guest's and the host's values of
 *		vmx_switched_msrs[], the guest's in the CPU instead while
 *		@host_state_loaded
 * @event:	an exception waiting for the next entry (VMX_INTR_INFO_*)
 * @cr0_shadow, @cr4_shadow: control register bits as the guest sees them
 * @ple_window: the PLE_Window in force (exit.c grows it, vcpu.c shrinks it)
 * @host_state_loaded: the host's segments, FS base and KERNEL_GS_BASE are
 *		saved in @host_segs, @host_fs_base and @host_msrs, and the
 *		CPU holds what VM exits leave there, and the guest's
 *		@guest_msrs, until vmx_vcpu_put()
 * @vmcs_rsp, @vmcs_rip, @vmcs_rflags: what the VMCS's guest RSP, RIP and
 *		RFLAGS fields hold, so that an entry writes only the ones a
 *		handler changed, and the STI-shadow checks need no VMREAD
 */
struct vmx_vcpu {
	struct kvisor_vcpu vcpu;
	void *vmcs;
	int cpu;
	struct list_head loaded;
	bool launched;
	u16 vpid;
	bool flush;
	struct vmx_exit_info exit;
	u64 guest_msrs[VMX_NR_SWITCHED_MSRS];
	u64 host_msrs[VMX_NR_SWITCHED_MSRS];
	u32 event;
	u32 event_err;
	u32 event_insn_len;
	u32 entry_event;	/* injected by the last entry, for check.c */
	unsigned long cr2;	/* not in the VMCS: switched by hand */
	unsigned long cr8;	/* the guest's TPR: MOV CR8 always exits */
	unsigned long host_cr3, host_cr4;
	unsigned long host_fs_base;
	bool host_state_loaded;
	struct vmx_host_segments host_segs;
	unsigned long vmcs_rsp, vmcs_rip, vmcs_rflags;
	/* this vCPU's MSR bitmap, once SPEC_CTRL or a filter needs one */
	u8 *msr_bitmap;
	bool msr_bitmap_new;	/* not yet in the VMCS */
	/* PAUSE-loop exiting: the window now, and when it was last shrunk */
	u32 ple_window;
	bool ple_window_dirty;	/* not yet in the VMCS */
	unsigned long ple_switches;	/* the task's context switches then */
};

static inline struct vmx_vcpu *to_vmx(struct kvisor_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

/*
 * vmenter.S: 0 after a VM exit, 1 when VMLAUNCH/VMRESUME failed;
 * @flags are KV_SPEC_* (core/spec.h), @spec_ctrl the guest's SPEC_CTRL.
 */
int kv_vmx_vmenter(u64 *regs, unsigned long flags, u64 *spec_ctrl);
void kv_vmx_vmexit(void);

/* vmcs.c: the current VMCS (vmcs_error() is in vmcs.h) */
void vmx_vmclear(void *vmcs);
void vmx_load(struct vmx_vcpu *vmx);
void vmx_put(struct vmx_vcpu *vmx);
void vmx_unload(struct vmx_vcpu *vmx);
void vmx_clear_loaded_vmcss(void);

/* ept.c: EPT entries and pointer, VPIDs, INVEPT/INVVPID */
extern struct kvisor_tdp_format vmx_ept_format;
u64 vmx_eptp(struct kvisor_vm *vm);
int vmx_alloc_vpid(void);
void vmx_free_vpid(int vpid);
void vmx_invept(u64 eptp);
void vmx_invvpid(u16 vpid);
void vmx_request_tlb_flush(struct kvisor_vcpu *vcpu);

/* vcpu.c: create, free, run */
struct kvisor_vcpu *vmx_vcpu_create(struct kvisor_vm *vm);
void vmx_vcpu_free(struct kvisor_vcpu *vcpu);
void vmx_free_msr_bitmap(void);
int vmx_run(struct kvisor_vcpu *vcpu);
bool vmx_vcpu_put(struct kvisor_vcpu *vcpu);

/* state.c: control registers, segments, MSRs, debug */
void vmx_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs);
int vmx_set_sregs(struct kvisor_vcpu *vcpu, const struct kvm_sregs *sregs);
void vmx_cpuid_update(struct kvisor_vcpu *vcpu);
void vmx_get_cpu_mode(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt);
int vmx_get_cpl(struct kvisor_vcpu *vcpu);
void vmx_get_paging(struct kvisor_vcpu *vcpu, u64 *cr0, u64 *cr3, u64 *cr4,
		    u64 *efer);
void vmx_set_cr0(struct vmx_vcpu *vmx, unsigned long cr0);
void vmx_set_cr4(struct vmx_vcpu *vmx, unsigned long cr4);
void vmx_set_efer(struct vmx_vcpu *vmx, u64 efer);
bool vmx_read_pdptrs(struct kvisor_vcpu *vcpu, u64 cr0, u64 cr3, u64 cr4,
		     u64 efer, u64 pdptrs[4]);
void vmx_write_pdptrs(const u64 pdptrs[4]);
void vmx_set_cr2(struct kvisor_vcpu *vcpu, u64 cr2);
int vmx_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int vmx_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val);
int vmx_set_tsc_offset(struct kvisor_vcpu *vcpu, u64 offset);
int vmx_msr_passthrough(struct kvisor_vcpu *vcpu, u32 msr, bool write_only);
int vmx_msr_filter_changed(struct kvisor_vcpu *vcpu);
void vmx_set_debug(struct kvisor_vcpu *vcpu, u64 dr7, bool intercept_bp);

/* events.c: injection, interrupt and NMI windows, event state */
void vmx_queue_exception(struct kvisor_vcpu *vcpu, int vector,
			 bool has_error, u32 error);
void vmx_inject_event(struct vmx_vcpu *vmx);
void vmx_requeue_event(struct vmx_vcpu *vmx);
void vmx_cancel_entry_event(struct vmx_vcpu *vmx);
bool vmx_interrupt_allowed(struct kvisor_vcpu *vcpu);
void vmx_inject_irq(struct kvisor_vcpu *vcpu, u8 vector);
void vmx_set_irq_window(struct kvisor_vcpu *vcpu, bool on);
bool vmx_nmi_allowed(struct kvisor_vcpu *vcpu);
void vmx_inject_nmi(struct kvisor_vcpu *vcpu);
void vmx_set_nmi_window(struct kvisor_vcpu *vcpu, bool on);
void vmx_get_event_state(struct kvisor_vcpu *vcpu,
			 struct kvisor_event_state *st);
void vmx_set_event_state(struct kvisor_vcpu *vcpu,
			 const struct kvisor_event_state *st);

/* exit.c: the exit table and handlers */
int vmx_handle_exit(struct kvisor_vcpu *vcpu);
void vmx_get_exit_info(struct kvisor_vcpu *vcpu, u32 *reason, u64 *info1,
		       u64 *info2, u32 *intr_info, u32 *error_code);

/* check.c: naming VM-entry failures */
void vmx_explain_fail_entry(struct kvisor_vcpu *vcpu, char *buf, size_t len);

/* dump.c: the VMCS, decoded */
void vmx_dump_state(struct kvisor_vcpu *vcpu, struct seq_file *m);

#endif /* KVISOR_VMX_H */
