/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between kvisor's vendor-neutral core and its two backends.
 *
 * vmx/ and svm/ include this header and no other of the core's: it holds
 * the ops table a backend fills in, the vCPU it embeds in its own, and
 * the core's services a backend may call (the exit handlers it decodes
 * exits into, guest memory reads, the entry/exit bracket).  The core, in
 * turn, sees a backend only through struct kvisor_vendor_ops, and never
 * includes a vendor header.  Which backend is live is decided once, at
 * module load, by probing the CPU (core/main.c).
 */
#ifndef KVISOR_VENDOR_H
#define KVISOR_VENDOR_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/signal.h>
#include <linux/kvm.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "emulate/emulate.h"

struct seq_file;
struct kvisor_vm;
struct kvisor_vcpu;
struct kvisor_lapic;

#define KVISOR_NR_VAR_MTRR	8
#define KVISOR_MCE_BANKS	32	/* KVM's default */

/* EFER bits a guest may set: SCE, LME, LMA (read-only), NXE */
#define KVISOR_EFER_GUEST_BITS	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

/*
 * What a backend found when it probed the CPU.  The feature words are
 * filled by the backend and only printed by common code, so adding a
 * vendor feature never touches common code.
 */
struct kvisor_cpu_caps {
	const char *vendor;		/* "Intel VMX" or "AMD SVM" */
	char features[128];		/* human-readable, for dmesg */
	bool tdp;			/* EPT or NPT present */
	/*
	 * Guests may run RDTSCP and RDPID and see their own IA32_TSC_AUX:
	 * the host has the MSR, and (VMX) the "enable RDTSCP" control; the
	 * backend loads the guest's value around each entry with
	 * kvisor_tsc_aux_enter_irqoff().
	 */
	bool tsc_aux;
	/*
	 * Guests whose CPUID offers XSAVES may run XSAVES and XRSTORS: the
	 * host has them, and (VMX) the "enable XSAVES/XRSTORS" control.  On
	 * AMD a guest can run them whatever its CPUID says; on both, the
	 * guest's IA32_XSS (always 0, core/fpu.c) is in the MSR while it runs.
	 */
	bool xsaves;
	/*
	 * KVM_X86_SETUP_MCE may give a guest MCG_CMCI_P (the MCi_CTL2 MSRs
	 * and the LAPIC's CMCI entry, all emulated in core/mce.c): KVM
	 * offers it on Intel only, the architecture that defines CMCI.
	 */
	bool cmci;
};

/*
 * The two-dimensional paging core (mm/tdp.c) builds 4-level tables of 512
 * 8-byte entries for both NPT and EPT; only the bits of an entry differ,
 * and the backend supplies them.  @leaf maps a 4K page at level 1, or a
 * 2M (level 2) or 1G (level 3) page with @huge set, up to @max_level,
 * the largest the CPU walks; @flags are KVISOR_TDP_*: writable, and
 * uncached for memory that is not RAM (a device's, mapped by a VM_IO or
 * VM_PFNMAP range of the VMM).
 */
#define KVISOR_TDP_WRITABLE	BIT(0)
#define KVISOR_TDP_UNCACHED	BIT(1)

struct kvisor_tdp_format {
	u64 (*table)(phys_addr_t table);	/* entry pointing to a table */
	u64 (*leaf)(phys_addr_t page, unsigned int flags, int level);
	bool (*present)(u64 pte);
	u64 huge;		/* the page-size bit of a level 2 or 3 leaf */
	u64 writable;		/* the bits a writable leaf has, a read-only not */
	int max_level;		/* set by the backend's probe: 1, 2 or 3 */
	/*
	 * The hardware walks 5 levels (set by the backend's probe): NPT
	 * does where the host pages with 5 levels.  The tables stay 4-level
	 * below a fifth whose only entry is the first.
	 */
	bool five_levels;
};

/*
 * The events a vCPU carries from one entry to the next, vendor-neutral,
 * for KVM_GET/SET_VCPU_EVENTS.  The event waiting for injection is in the
 * encoding VMX's VM-entry interruption information and SVM's EVENTINJ
 * share: vector in bits 7:0, type in 10:8, "error code valid" bit 11,
 * valid bit 31.  @shadow is KVM's KVM_X86_SHADOW_INT_* of the STI/MOV SS
 * shadow the guest is in; @nmi_masked that an NMI handler is running.
 */
#define KVISOR_EVT_VALID	BIT(31)
#define KVISOR_EVT_ERROR	BIT(11)
#define KVISOR_EVT_TYPE(e)	(((e) >> 8) & 7)
#define KVISOR_EVT_EXTINT	0
#define KVISOR_EVT_NMI		2
#define KVISOR_EVT_EXCEPTION	3
#define KVISOR_EVT_SOFTINT	4

struct kvisor_event_state {
	u32 event;
	u32 error;
	u8 shadow;
	bool nmi_masked;
};

/*
 * Which exit reasons a kvm_exit tracepoint carries: KVM's KVM_ISA_VMX and
 * KVM_ISA_SVM, the values perf and kvm_stat know.
 */
#define KVISOR_ISA_VMX		1
#define KVISOR_ISA_SVM		2

/* Why the guest stopped running, in vendor-neutral terms. */
enum kvisor_exit_class {
	KVISOR_EXIT_IO,
	KVISOR_EXIT_MMIO,
	KVISOR_EXIT_TDP_FAULT,
	KVISOR_EXIT_HLT,
	KVISOR_EXIT_CPUID,
	KVISOR_EXIT_MSR,
	KVISOR_EXIT_INTR,
	KVISOR_EXIT_SHUTDOWN,
	KVISOR_EXIT_IRQ_WINDOW,
	KVISOR_EXIT_PAUSE,
	KVISOR_EXIT_NMI_WINDOW,
	KVISOR_EXIT_OTHER,
	KVISOR_NR_EXIT_CLASSES,
};

/* KVM's HALT_POLL_HIST_COUNT: buckets of the halt-poll histograms. */
#define KVISOR_HALT_HIST	32

/**
 * struct kvisor_vcpu_stat - a vCPU's counters beyond its exits, under
 * KVM's names (core/stats.c lists them): each is bumped by the vCPU's
 * own thread, except @halt_wakeup (core/request.c), and read without a
 * lock.  Times are in ns; bucket i of a histogram counts times of
 * fls64() == i, as KVM's logarithmic histograms do.
 */
struct kvisor_vcpu_stat {
	u64 pf_taken;
	u64 pf_fixed;
	u64 pf_emulate;
	u64 halt_successful_poll;
	u64 halt_attempted_poll;
	u64 halt_poll_invalid;
	u64 halt_wakeup;
	u64 halt_poll_success_ns;
	u64 halt_poll_fail_ns;
	u64 halt_wait_ns;
	u64 halt_poll_success_hist[KVISOR_HALT_HIST];
	u64 halt_poll_fail_hist[KVISOR_HALT_HIST];
	u64 halt_wait_hist[KVISOR_HALT_HIST];
	u64 blocking;
	u64 signal_exits;
	u64 request_irq_exits;
	u64 irq_injections;
	u64 nmi_injections;
	u64 insn_emulation;
	u64 insn_emulation_fail;
	u64 hypercalls;
	u64 directed_yield_attempted;
	u64 directed_yield_successful;
	u64 preemption_reported;
	u64 preemption_other;
	u64 host_state_reload;
	u64 tlb_flush;		/* flushes of its translations it was asked for */
	u64 req_event;		/* entries that looked for events on request */
	u64 fpu_reload;		/* KVM_RUNs that loaded the guest's FPU */
	u64 pv_tlb_flush;	/* kvisor's own: KVM_VCPU_FLUSH_TLB honoured */
	/* kvisor's own: emulated accesses whose address the exit gave */
	u64 emulated_gpa_from_exit;
};

/**
 * struct kvisor_vendor_ops - the only route from common code to a backend
 * @name:	short name for messages ("vmx", "svm")
 * @probe:	check that this CPU can run guests with this backend and
 *		fill @caps.  Returns 0, -ENODEV when the extension is
 *		absent (the next backend is then tried), or another errno
 *		naming why the extension exists but cannot be used; in
 *		that case @why says so in one line for dmesg.
 * @cpu_in_use:	true when the virtualization extension is already
 *		switched on in this CPU, i.e. another hypervisor holds it.
 * @setup:	allocate what the backend needs per host CPU (at load).
 * @unsetup:	free it again (at unload).
 * @cpu_enable:	switch the extension on in this CPU; @cpu_disable: off.
 *		Both run on the CPU concerned with interrupts disabled.
 * @emergency_disable: switch it off in this CPU on the emergency path
 *		(crash kexec, emergency restart), maybe in NMI context: no
 *		locks, no allocation, and nothing assumed of the state.
 * @tdp:	how this backend's nested page table entries look.
 * @vcpu_create: allocate a vCPU (the backend embeds struct kvisor_vcpu
 *		in its own) in its architectural reset state.
 * @vcpu_free:	free it.
 * @run:	enter the guest once and return when it exits.  Called with
 *		preemption enabled; the backend disables what it must.
 *		The general-purpose registers, RIP and RFLAGS live in
 *		vcpu->regs, vcpu->rip and vcpu->rflags before and after.
 * @vcpu_put:	optional: put back the host state the backend switched
 *		once for many entries (VMX: the host's segments, FS and
 *		KERNEL_GS_BASE, the GDT and TSS limits), before anything
 *		else uses it: at the end of KVM_RUN, and when the KVM_RUN
 *		thread is scheduled out (core/steal.c's preempt notifier).
 *		Preemption is off.  Returns whether there was any, which
 *		KVM's host_state_reload statistic counts.
 * @handle_exit: decode the exit just taken and call the vendor-neutral
 *		handler for it.  Returns 1 to re-enter the guest, 0 to
 *		return to userspace with vcpu->run filled in, or -errno.
 * @get_sregs:	read segment, control and descriptor-table registers.
 * @set_sregs:	write them (already checked against KVM's own rules).
 * @cpuid_update: optional: KVM_SET_CPUID2 gave the vCPU a new table;
 *		make the controls that follow the guest's CPUID agree.
 * @get_cpu_mode: the mode the guest executes in now, for the emulator.
 * @get_paging:	CR0, CR3, CR4 and EFER, for the guest page-table walker.
 * @get_cpl:	the guest's current privilege level (0 in real mode, 3 in
 *		virtual-8086 mode), for the walker's access rights.
 * @queue_exception: deliver an exception at the next entry.
 * @set_cr2:	the faulting address of a #PF kvisor injects.
 * @request_tlb_flush: drop the guest's translations before the next entry.
 * @explain_fail_entry: after a refused entry, name the broken rule.
 * @dump_state:	print the VMCS or VMCB, decoded, for debugfs.
 * @interrupt_allowed: the guest would take an external interrupt now:
 *		RFLAGS.IF set, no STI/MOV SS shadow, no event on its way in.
 * @inject_irq:	deliver external interrupt @vector at the next entry.
 * @set_irq_window: exit as soon as the guest can take an interrupt.
 * @nmi_allowed: the guest would take an NMI now: none in service (the
 *		CPU blocks NMIs until the handler's IRET), no STI/MOV SS
 *		shadow, no event on its way in.
 * @inject_nmi:	deliver an NMI at the next entry.
 * @set_nmi_window: exit as soon as an NMI could be delivered.
 * @get_event_state: the event on its way in, the interrupt shadow and
 *		NMI blocking (struct kvisor_event_state).
 * @set_event_state: replace them (KVM_SET_VCPU_EVENTS, already checked).
 * @set_debug:	core/debug.c changed what the hardware must see: load @dr7 as
 *		the guest's DR7 (VMCS field, VMCB save area) and intercept
 *		#BP when @intercept_bp (KVM_GUESTDBG_USE_SW_BP).
 * @get_msr:	read an MSR the backend keeps: EFER, PAT and the TSC
 *		(through its offset), and the ones the guest reaches
 *		without exits (FS/GS base, KERNEL_GS_BASE, the SYSCALL and
 *		SYSENTER MSRs), which KVM_GET_MSRS asks for, and the guest
 *		only where the MSR filter has them intercepted.  0, or
 *		-ENOENT when it is not one of them.
 * @set_msr:	write one: 0, -EINVAL for a value the guest may not set,
 *		or -ENOENT.
 * @isa:	KVISOR_ISA_VMX or KVISOR_ISA_SVM, the kvm_exit tracepoint's
 *		isa field, which says how to read its exit_reason.
 * @get_exit_info: the exit just taken, as KVM's kvm_exit tracepoint
 *		reports it: the VMX exit reason (with its flags) and
 *		qualification, IDT-vectoring information, exit interruption
 *		information and its error code; or the SVM exit code,
 *		EXITINFO1, EXITINFO2, EXITINTINFO and its error code.
 *		Called between @run and @handle_exit, and only while the
 *		tracepoint is enabled.
 */
struct kvisor_vendor_ops {
	const char *name;
	int (*probe)(struct kvisor_cpu_caps *caps, const char **why);
	bool (*cpu_in_use)(void);
	int (*setup)(void);
	void (*unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
	void (*emergency_disable)(void);
	const struct kvisor_tdp_format *tdp;

	struct kvisor_vcpu *(*vcpu_create)(struct kvisor_vm *vm);
	void (*vcpu_free)(struct kvisor_vcpu *vcpu);
	int (*run)(struct kvisor_vcpu *vcpu);
	bool (*vcpu_put)(struct kvisor_vcpu *vcpu);
	int (*handle_exit)(struct kvisor_vcpu *vcpu);
	void (*get_sregs)(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs);
	void (*cpuid_update)(struct kvisor_vcpu *vcpu);
	int (*set_sregs)(struct kvisor_vcpu *vcpu,
			 const struct kvm_sregs *sregs);
	void (*get_cpu_mode)(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt);
	void (*get_paging)(struct kvisor_vcpu *vcpu, u64 *cr0, u64 *cr3,
			   u64 *cr4, u64 *efer);
	int (*get_cpl)(struct kvisor_vcpu *vcpu);
	void (*queue_exception)(struct kvisor_vcpu *vcpu, int vector,
				bool has_error, u32 error);
	void (*set_cr2)(struct kvisor_vcpu *vcpu, u64 cr2);
	void (*request_tlb_flush)(struct kvisor_vcpu *vcpu);
	void (*explain_fail_entry)(struct kvisor_vcpu *vcpu, char *buf,
				   size_t len);
	void (*dump_state)(struct kvisor_vcpu *vcpu, struct seq_file *m);
	bool (*interrupt_allowed)(struct kvisor_vcpu *vcpu);
	void (*inject_irq)(struct kvisor_vcpu *vcpu, u8 vector);
	void (*set_irq_window)(struct kvisor_vcpu *vcpu, bool on);
	bool (*nmi_allowed)(struct kvisor_vcpu *vcpu);
	void (*inject_nmi)(struct kvisor_vcpu *vcpu);
	void (*set_nmi_window)(struct kvisor_vcpu *vcpu, bool on);
	void (*get_event_state)(struct kvisor_vcpu *vcpu,
				struct kvisor_event_state *st);
	void (*set_event_state)(struct kvisor_vcpu *vcpu,
				const struct kvisor_event_state *st);
	void (*set_debug)(struct kvisor_vcpu *vcpu, u64 dr7, bool intercept_bp);
	int (*get_msr)(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
	int (*set_msr)(struct kvisor_vcpu *vcpu, u32 msr, u64 val);
	/* The guest's TSC is the host's plus @offset; 0 or -EINVAL. */
	int (*set_tsc_offset)(struct kvisor_vcpu *vcpu, u64 offset);
	/*
	 * Stop intercepting the guest's writes (@write_only) or reads and
	 * writes of @msr for this vCPU (core/spec.c's lazy pass-through of
	 * the speculation MSRs), as far as the VM's MSR filter allows;
	 * called again after @msr_filter_changed.  0 or -ENOMEM.
	 */
	int (*msr_passthrough)(struct kvisor_vcpu *vcpu, u32 msr,
			       bool write_only);
	/*
	 * The VM's MSR filter changed (core/msr_filter.c): intercept again
	 * the accesses it now denies to the backend's own pass-through
	 * MSRs, and let through those it allows; 0 or -ENOMEM.  Before an
	 * entry, with vcpu->mutex held.  Core then redoes its lazy ones.
	 */
	int (*msr_filter_changed)(struct kvisor_vcpu *vcpu);
	u32 isa;
	void (*get_exit_info)(struct kvisor_vcpu *vcpu, u32 *reason,
			      u64 *info1, u64 *info2, u32 *intr_info,
			      u32 *error_code);
};

extern const struct kvisor_vendor_ops kvisor_vmx_ops;
extern const struct kvisor_vendor_ops kvisor_svm_ops;

/* The backend chosen at load time, and what it found. */
extern const struct kvisor_vendor_ops *kvisor_ops;
extern struct kvisor_cpu_caps kvisor_caps;

/*
 * An exit that userspace must finish before the guest continues: the data
 * of a port or MMIO read arrives in kvm_run when KVM_RUN is next called.
 */
enum kvisor_pending {
	KVISOR_PENDING_NONE,
	KVISOR_PENDING_PIO_IN,		/* copy PIO data into RAX */
	KVISOR_PENDING_PIO_STRING,	/* INS/OUTS: finish the iteration(s) */
	KVISOR_PENDING_MMIO,		/* re-run the emulator with the data */
	KVISOR_PENDING_RDMSR,		/* userspace's answer to an RDMSR */
	KVISOR_PENDING_WRMSR,		/* userspace's verdict on a WRMSR */
};

/*
 * A vCPU's speculation-control state (core/spec.c) and the counts of
 * what the world switch did for it, shown in debugfs ("spec").
 */
struct kvisor_spec {
	u64 spec_ctrl;		/* IA32_SPEC_CTRL; vmenter.S reads and writes it */
	u64 virt_spec_ctrl;	/* AMD's MSR_AMD64_VIRT_SPEC_CTRL (SSBD) */
	u64 arch_caps;		/* IA32_ARCH_CAPABILITIES as the guest reads it */
	bool ctrl_pass;		/* SPEC_CTRL no longer intercepted */
	bool pred_cmd_pass;	/* PRED_CMD writes no longer intercepted */
	u64 ibpb;		/* IBPBs at a switch to this vCPU's VMCS/VMCB */
	u64 guest_ibpb;		/* PRED_CMD writes kvisor carried out */
	u64 verw;		/* VERWs before an entry */
	u64 rsb_fill;		/* RSB fills after an exit */
	u64 rsb_one;		/* single-CALL RSB fills (PBRSB) after an exit */
	u64 bhb_clear;		/* branch history clears (BHI) after an exit */
	u64 ibpb_exit;		/* IBPBs after an exit (SRSO, Retbleed) */
	u64 l1d_flush;		/* L1D flushes before an entry (L1TF) */
	bool l1d_dirty;		/* KVM's l1tf_flush_l1d: flush at the next entry */
	unsigned long switches;	/* the task's context switches at the last entry */
};

/**
 * struct kvisor_vcpu - the vendor-neutral part of a vCPU
 * @vm:		its VM (a reference is held)
 * @id:		KVM_CREATE_VCPU's argument
 * @mutex:	held across every vCPU ioctl, as KVM does: one thread at a
 *		time drives a vCPU
 * @run:	the kvm_run page shared with userspace
 * @pio_data:	the page after it, for port I/O data
 * @regs:	guest general-purpose registers, indexed like the emulator's
 *		enum emu_reg (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..)
 * @guest_fpu:	guest FPU/SSE/AVX state, swapped with the host's around
 *		the time spent in KVM_RUN
 * @pending:	an exit userspace must complete (see enum kvisor_pending)
 * @mmio:	the one MMIO read whose data userspace has supplied, valid
 *		while the emulator re-runs the instruction
 * @msr_len:	the length of the RDMSR or WRMSR userspace completes
 * @xcr0:	the guest's XCR0, switched in around entry when it differs
 * @apic_base:	IA32_APIC_BASE as the guest and KVM_SET_SREGS see it
 * @pkru, @host_pkru: the guest's PKRU and the host's, switched like XCR0
 * @xss_loaded: the guest's IA32_XSS is in the MSR for this entry
 * @irq:	the external interrupt vector KVM_INTERRUPT queued, or -1
 * @cpuid:	the table KVM_SET_CPUID2 gave, @cpuid_nent entries (cpuid.c)
 * @nr_exits:	every exit from the guest, for statistics
 * @exits:	exit counts by class, for statistics
 * @stat:	the other statistics (struct kvisor_vcpu_stat)
 * @halt_poll_ns: how long HLT polls before it sleeps now (core/halt.c)
 * @apic:	the in-kernel LAPIC, or NULL (irq/lapic.c)
 * @mp_state:	KVM_MP_STATE_*: RUNNABLE, HALTED (in HLT), INIT_RECEIVED
 *		(waiting for a SIPI)
 * @requests:	KVISOR_REQ_* bits other threads set before a kick
 * @in_guest:	between the last check of @requests and the exit: a kick
 *		must then send an IPI to @cpu to force an exit
 * @cpu:	the host CPU it runs on, or last ran on
 * @wait:	where it sleeps in HLT or waiting for SIPI
 * @nmi_queued: NMIs sent (KVM_NMI, the LAPIC) and not yet looked at by
 *		the vCPU's own thread, which moves them to @nmi_pending
 * @nmi_pending: NMIs waiting for injection: at most two while none is in
 *		service, one while one is (kvisor_process_nmi())
 * @sipi_vector: of the last SIPI received
 * @eoi_exit_vector: split irqchip: the vector of KVM_EXIT_IOAPIC_EOI
 * @db:		the guest's DR0-3 as it wrote them (debug.c)
 * @dr6:	the guest's DR6; the hardware's is never the guest's
 * @dr7:	the guest's DR7; the hardware runs with the effective one
 *		(userspace's under KVM_GUESTDBG_USE_HW_BP)
 * @guest_debug: KVM_SET_GUEST_DEBUG's KVM_GUESTDBG_* bits, 0 when off
 * @user_db:	userspace's DR0-3 and DR7 for KVM_GUESTDBG_USE_HW_BP
 * @step_done:	an exit handler completed an instruction (kvisor_skip_insn()):
 *		its single-step trap, if due, is kvisor's to raise
 * @db_loaded:	the guest's DR0-3 are in the hardware (around entry)
 * @st:		steal time (core/steal.c): the MSR, the thread's run delay
 *		at the last update of the guest's structure, the preempted
 *		flag written there since, and an update due before entry
 * @preempt_notifier: on the KVM_RUN thread while KVM_RUN runs (steal.c)
 * @at_boundary: the last exit was for a host interrupt, so the guest
 *		stopped between two instructions (KVM's
 *		at_instruction_boundary): set by the backend, cleared by
 *		the run loop; only then is a preempted vCPU reported
 */
struct kvisor_vcpu {
	struct kvisor_vm *vm;
	int id;
	/* held across every vCPU ioctl: one thread drives the vCPU */
	struct mutex mutex;
	struct kvm_run *run;
	void *pio_data;
	u64 regs[EMU_NR_GPRS];
	u64 rip;
	u64 rflags;
	struct fpu_guest guest_fpu;
	enum kvisor_pending pending;
	struct {
		bool valid;
		u64 gpa;
		u32 len;
		u8 data[8];
		/*
		 * The first of an instruction's two MMIO reads (CMPS), kept
		 * while it runs again for the second: @replay_rip is where.
		 */
		bool replay;
		u64 replay_rip, replay_gpa;
		u32 replay_len;
		u8 replay_data[8];
		/*
		 * The exit named @hint_gpa as the address the instruction
		 * being emulated missed (core/mmio.c).
		 */
		bool hint;
		u64 hint_gpa;
	} mmio;
	struct {
		u16 port;
		u8 size;
		bool in;
		bool rep;
		u8 addr_size;	/* of INS/OUTS, from the mode and prefixes */
		u8 seg;		/* enum emu_seg of the OUTS source */
		u32 count;
		u64 rip;	/* of the instruction, to see if userspace moved it */
		u64 next_rip;
	} pio;
	u8 msr_len;
	u64 xcr0;
	u64 apic_base;
	u32 pkru;
	u32 host_pkru;
	bool xss_loaded;
	int irq;
	struct kvm_cpuid_entry2 *cpuid;
	int cpuid_nent;
	u64 nr_exits;
	u64 exits[KVISOR_NR_EXIT_CLASSES];
	struct kvisor_vcpu_stat stat;
	unsigned int halt_poll_ns;

	struct kvisor_lapic *apic;
	u32 mp_state;
	unsigned long requests;
	int in_guest;
	int cpu;
	struct rcuwait wait;
	atomic_t nmi_queued;
	atomic_t nmi_pending;
	u8 sipi_vector;
	u8 eoi_exit_vector;
	u64 tsc_offset;		/* guest TSC - host TSC (core/tsc.c) */
	u64 tsc_adjust;		/* IA32_TSC_ADJUST */
	u32 tsc_aux;		/* IA32_TSC_AUX, for RDTSCP/RDPID (SVM) */
	u64 ucode_rev;		/* IA32_UCODE_REV as the guest reads it */
	u64 platform_info;	/* MSR_PLATFORM_INFO, set by userspace */
	u64 misc_enable;	/* IA32_MISC_ENABLE */
	u64 power_ctl;		/* MSR_IA32_POWER_CTL, kept only */
	u64 hwcr;		/* AMD's HWCR: McStatusWrEn (bit 18) or 0 */
	u64 poll_control;	/* MSR_KVM_POLL_CONTROL: bit 0, host polls */
	struct {		/* kept, not applied (msrs.c) */
		u64 def_type;
		u64 fixed[11];
		u64 var[2 * KVISOR_NR_VAR_MTRR];
	} mtrr;
	struct {		/* machine-check MSRs (mce.c) */
		u64 cap;	/* IA32_MCG_CAP, from KVM_X86_SETUP_MCE */
		u64 status;
		u64 ctl;
		u64 bank[4 * KVISOR_MCE_BANKS];
		u64 ctl2[KVISOR_MCE_BANKS];	/* with MCG_CMCI_P */
	} mce;
	bool sigset_active;	/* KVM_SET_SIGNAL_MASK gave @sigset */
	sigset_t sigset;
	u64 kvmclock_msr;	/* MSR_KVM_SYSTEM_TIME(_NEW): GPA | enable */
	u32 kvmclock_version;	/* of the pvclock structure written there */
	int kvmclock_seen;	/* vm->kvmclock_gen at the last update */
	u64 db[4];
	u64 dr6;
	u64 dr7;
	u32 guest_debug;
	u64 user_db[4];
	u64 user_dr7;
	bool step_done;
	bool db_loaded;
	struct kvisor_spec spec;
	pid_t creator;		/* thread ID, for the statistics' name */
	bool pv_enforce;	/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	bool pv_unhalted;	/* KVM_HC_KICK_CPU arrived: HLT ends */
	u64 pv_eoi_msr;		/* MSR_KVM_PV_EOI_EN: GPA | enable */
	bool pv_eoi_pending;	/* the guest's flag is set (irq/pv_eoi.c) */
	struct pid __rcu *pid;	/* the thread of the last KVM_RUN */
	struct {
		u64 msr;
		u64 last_steal;
		u8 preempted;
		bool update;
	} st;
	struct preempt_notifier preempt_notifier;
	bool at_boundary;
};

/*
 * The core's services to a backend.  Exit handlers return what
 * kvisor_vendor_ops.handle_exit returns: 1 to re-enter the guest, 0 to go
 * to userspace with vcpu->run filled in, or -errno.
 */

/* core/vcpu.c: the vendor-neutral half of vcpu_create and vcpu_free */
int kvisor_vcpu_init(struct kvisor_vcpu *vcpu, struct kvisor_vm *vm);
void kvisor_vcpu_uninit(struct kvisor_vcpu *vcpu);

/* core/run.c: the bracket around one entry (see kvisor_enter_guest_irqoff) */
int kvisor_enter_guest_irqoff(struct kvisor_vcpu *vcpu);
void kvisor_exit_guest_irqoff(struct kvisor_vcpu *vcpu);

/*
 * core/exits.c.  kvisor_skip_insn() is the only way to move RIP past an
 * instruction an exit handler completed: it also owes the single-step
 * trap the instruction would have raised.
 */
void kvisor_skip_insn(struct kvisor_vcpu *vcpu, unsigned int len);
int kvisor_handle_hlt(struct kvisor_vcpu *vcpu, unsigned int len);
int kvisor_handle_cpuid(struct kvisor_vcpu *vcpu, unsigned int len);
int kvisor_handle_irq_window(struct kvisor_vcpu *vcpu);
int kvisor_handle_nmi_window(struct kvisor_vcpu *vcpu);
int kvisor_handle_shutdown(struct kvisor_vcpu *vcpu);
int kvisor_handle_fail_entry(struct kvisor_vcpu *vcpu, u64 reason);
int kvisor_handle_internal_error(struct kvisor_vcpu *vcpu, u32 suberror,
				 u64 info0, u64 info1);

/*
 * core/trace.c: an event the CPU was delivering when the guest exited
 * goes in again (@event in the KVISOR_EVT_* encoding): an external or
 * software interrupt is traced as kvm_inj_virq, "reinjected", as KVM
 * traces it.
 */
void kvisor_trace_reinject(u32 event);

/*
 * core/hypercall.c: VMCALL/VMMCALL (@cpl: the guest's privilege level),
 * an intercepted #UD (@native: this vendor's hypercall instruction),
 * MONITOR and MWAIT
 */
#define KVISOR_HYPERCALL_LEN	3
int kvisor_handle_hypercall(struct kvisor_vcpu *vcpu, int cpl,
			    unsigned int len);
int kvisor_handle_ud(struct kvisor_vcpu *vcpu, const u8 *native);
int kvisor_handle_monitor_mwait(struct kvisor_vcpu *vcpu, unsigned int len);

/*
 * core/spin.c: the guest spins on PAUSE (VMX PAUSE-loop exiting, SVM
 * PAUSE filtering); @len: the PAUSE's length, or 0 for "not known, do
 * not skip it"
 */
int kvisor_handle_pause(struct kvisor_vcpu *vcpu, unsigned int len);

/*
 * The PAUSE window's arithmetic, the same for VMX's PLE_Window and SVM's
 * pause filter count (KVM's __grow_ple_window()/__shrink_ple_window()):
 * a @modifier below the @base window multiplies or divides, a larger one
 * adds or subtracts, and 0 means "back to @base".  Grown up to @max,
 * shrunk down to @base.
 */
static inline unsigned int kvisor_pause_window_grow(unsigned int val,
						    unsigned int base,
						    unsigned int modifier,
						    unsigned int max)
{
	u64 ret = val;

	if (modifier < 1)
		return base;
	if (modifier < base)
		ret *= modifier;
	else
		ret += modifier;
	return min_t(u64, ret, max);
}

static inline unsigned int kvisor_pause_window_shrink(unsigned int val,
						      unsigned int base,
						      unsigned int modifier)
{
	if (modifier < 1)
		return base;
	if (modifier < base)
		val /= modifier;
	else
		val = val > modifier ? val - modifier : 0;
	return max(val, base);
}

/* core/pio.c: IN, OUT, INS, OUTS; @next_rip is the instruction's end */
int kvisor_handle_io(struct kvisor_vcpu *vcpu, u16 port, u8 size, bool in,
		     bool string, bool rep, u64 next_rip);

/*
 * core/mmio.c: a nested page fault, from EPT violation or NPF.  @flags:
 * the access was a write; @gpa is the address the access itself missed
 * (not one of the guest's page-table entries on the way to it).
 */
#define KVISOR_TDP_WRITE	BIT(0)
#define KVISOR_TDP_FINAL	BIT(1)
int kvisor_handle_tdp_fault(struct kvisor_vcpu *vcpu, u64 gpa,
			    unsigned int flags);

/* core/msrs.c: RDMSR (@write false) and WRMSR */
int kvisor_handle_msr(struct kvisor_vcpu *vcpu, bool write, unsigned int len);
/*
 * core/msr_filter.c: whether the VM's MSR filter lets the guest read
 * (@write false) or write @msr; for a backend's pass-through decisions.
 */
bool kvisor_msr_allowed(struct kvisor_vcpu *vcpu, u32 msr, bool write);

/* core/fpu.c: XSETBV, and the guest's XCR0 around entry */
int kvisor_handle_xsetbv(struct kvisor_vcpu *vcpu, unsigned int len);
u64 kvisor_xcr0_enter(struct kvisor_vcpu *vcpu, u64 guest_cr4);
void kvisor_xcr0_exit(struct kvisor_vcpu *vcpu, u64 host_xcr0);
/* core/fpu.c: IA32_XSS; the guest's CPUID offers XSAVES */
void kvisor_xss_cpu_init(void);
bool kvisor_guest_has_xsaves(struct kvisor_vcpu *vcpu);

/*
 * core/regs.c: the architectural rules for CR0 and CR4 values, for a
 * guest's MOV to CR and for KVM_SET_SREGS alike (false: #GP, or -EINVAL).
 */
bool kvisor_cr0_valid(u64 cr0);
/* core/msrs.c: IA32_TSC_AUX exists (the host has RDTSCP or RDPID) */
bool kvisor_host_has_tsc_aux(void);
bool kvisor_guest_has_tsc_aux(struct kvisor_vcpu *vcpu);
void kvisor_tsc_aux_cpu_init(void);
bool kvisor_tsc_aux_enter_irqoff(struct kvisor_vcpu *vcpu);
void kvisor_tsc_aux_exit_irqoff(bool switched);
/* core/spec.c: speculation controls around the world switch */
unsigned long kvisor_spec_flags(struct kvisor_vcpu *vcpu);
void kvisor_spec_exit_irqoff(struct kvisor_vcpu *vcpu, unsigned long flags);
void kvisor_l1d_flush_irqoff(struct kvisor_vcpu *vcpu);
/*
 * core/enable.c: a VMX or SVM instruction faulted (the exception tables
 * of the backends lead here): ignored while the machine reboots.
 */
void kvisor_virt_fault(void);
/* core/mce.c: a machine check a VM exit took from the host's handler */
void kvisor_machine_check(void);
void kvisor_spec_ibpb(struct kvisor_vcpu *vcpu);
void kvisor_spec_virt_enter(struct kvisor_vcpu *vcpu);
void kvisor_spec_virt_exit(struct kvisor_vcpu *vcpu);
bool kvisor_cr4_valid(struct kvisor_vcpu *vcpu, u64 cr4);
bool kvisor_cr4_write_valid(struct kvisor_vcpu *vcpu, u64 old, u64 val,
			    u64 efer, u64 cr3);
/*
 * The CR4 bits that shape translations: a MOV to CR4 that changes one
 * makes the vendor drop the guest's cached translations (the SDM flushes
 * for PGE and PCIDE; the others are flushed too, to be safe).
 */
#define KVISOR_CR4_TLB_BITS (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE | \
			     X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP | \
			     X86_CR4_PKE)

/* core/debug.c: debug registers and debug exceptions */
int kvisor_handle_dr(struct kvisor_vcpu *vcpu, int dr, bool write, int gpr,
		     unsigned int len);
int kvisor_handle_dr_decode(struct kvisor_vcpu *vcpu, int dr, bool write);
int kvisor_decode_mov_crdr(struct kvisor_vcpu *vcpu, u8 opcode, int *reg,
			   int *gpr, unsigned int *len, struct emu_ctxt *ctxt);
int kvisor_handle_db(struct kvisor_vcpu *vcpu, u64 bits);
int kvisor_handle_bp(struct kvisor_vcpu *vcpu);
void kvisor_debug_enter_irqoff(struct kvisor_vcpu *vcpu);
void kvisor_debug_exit_irqoff(struct kvisor_vcpu *vcpu);
bool kvisor_debug_host_safe(struct kvisor_vcpu *vcpu, u64 dr7);

/* mm/: guest memory, the guest's page tables, the nested root */
int kvisor_read_guest(struct kvisor_vm *vm, u64 gpa, void *buf,
		      unsigned int len);
int kvisor_gva_to_gpa(struct kvisor_vcpu *vcpu, u64 gva, bool write,
		      bool fetch, u64 *gpa, u32 *pf_error);
phys_addr_t kvisor_tdp_root(struct kvisor_vm *vm);

/* irq/lapic.c: CR8 is the in-kernel LAPIC's TPR[7:4] */
u8 kvisor_lapic_get_cr8(struct kvisor_vcpu *vcpu);
void kvisor_lapic_set_cr8(struct kvisor_vcpu *vcpu, u8 cr8);
bool kvisor_lapic_tpr_blocks(struct kvisor_vcpu *vcpu);

#endif /* KVISOR_VENDOR_H */
