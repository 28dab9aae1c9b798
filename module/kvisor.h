/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor: the vendor-neutral core's view of the world.
 *
 * Common code (main.c, vm.c, vcpu.c, ...) sees a hypervisor only through
 * struct kvisor_vendor_ops.  The VMX and SVM backends each fill in one
 * instance; which one is live is decided once, at module load, by probing
 * the CPU.  Common code never includes a vendor header.
 */
#ifndef KVISOR_KVISOR_H
#define KVISOR_KVISOR_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/rcuwait.h>
#include <linux/signal.h>
#include <linux/version.h>
#include <linux/kvm.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "emulate/emulate.h"
#include "irq.h"

struct mm_struct;
struct page;
struct dentry;
struct seq_file;
struct kvisor_vm;
struct kvisor_vcpu;
struct kvisor_lapic;
struct kvisor_pic;
struct kvisor_ioapic;
struct kvisor_pit;
struct kvisor_irq_routing;
struct kvisor_io_bus;

#define KVISOR_MAX_VCPUS	64
#define KVISOR_NR_VAR_MTRR	8
#define KVISOR_MCE_BANKS	32	/* KVM's default */
#define KVISOR_MAX_MEMSLOTS	32

/*
 * What a backend found when it probed the CPU.  The feature words are
 * filled by the backend and only printed by common code, so adding a
 * vendor feature never touches common code.
 */
struct kvisor_cpu_caps {
	const char *vendor;		/* "Intel VMX" or "AMD SVM" */
	char features[128];		/* human-readable, for dmesg */
	bool tdp;			/* EPT or NPT present */
};

/*
 * The two-dimensional paging core (tdp.c) builds 4-level tables of 512
 * 8-byte entries for both NPT and EPT; only the bits of an entry differ,
 * and the backend supplies them.
 */
struct kvisor_tdp_format {
	u64 (*table)(phys_addr_t table);	/* entry pointing to a table */
	u64 (*leaf)(phys_addr_t page, bool writable);	/* 4K mapping */
	bool (*present)(u64 pte);
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
	KVISOR_EXIT_OTHER,
	KVISOR_NR_EXIT_CLASSES,
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
 * @tdp:	how this backend's nested page table entries look.
 * @vcpu_create: allocate a vCPU (the backend embeds struct kvisor_vcpu
 *		in its own) in its architectural reset state.
 * @vcpu_free:	free it.
 * @run:	enter the guest once and return when it exits.  Called with
 *		preemption enabled; the backend disables what it must.
 *		The general-purpose registers, RIP and RFLAGS live in
 *		vcpu->regs, vcpu->rip and vcpu->rflags before and after.
 * @handle_exit: decode the exit just taken and call the vendor-neutral
 *		handler for it.  Returns 1 to re-enter the guest, 0 to
 *		return to userspace with vcpu->run filled in, or -errno.
 * @get_sregs:	read segment, control and descriptor-table registers.
 * @set_sregs:	write them (already checked against KVM's own rules).
 * @get_cpu_mode: the mode the guest executes in now, for the emulator.
 * @get_paging:	CR0, CR3, CR4 and EFER, for the guest page-table walker.
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
 * @set_debug:	debug.c changed what the hardware must see: load @dr7 as
 *		the guest's DR7 (VMCS field, VMCB save area) and intercept
 *		#BP when @intercept_bp (KVM_GUESTDBG_USE_SW_BP).
 * @get_msr:	read an MSR the backend keeps: EFER, PAT and the TSC
 *		(through its offset), and the ones the guest reaches
 *		without exits (FS/GS base, KERNEL_GS_BASE, the SYSCALL and
 *		SYSENTER MSRs), which only KVM_GET_MSRS asks for.  0, or
 *		-ENOENT when it is not one of them.
 * @set_msr:	write one: 0, -EINVAL for a value the guest may not set,
 *		or -ENOENT.
 */
struct kvisor_vendor_ops {
	const char *name;
	int (*probe)(struct kvisor_cpu_caps *caps, const char **why);
	bool (*cpu_in_use)(void);
	int (*setup)(void);
	void (*unsetup)(void);
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);
	const struct kvisor_tdp_format *tdp;

	struct kvisor_vcpu *(*vcpu_create)(struct kvisor_vm *vm);
	void (*vcpu_free)(struct kvisor_vcpu *vcpu);
	int (*run)(struct kvisor_vcpu *vcpu);
	int (*handle_exit)(struct kvisor_vcpu *vcpu);
	void (*get_sregs)(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs);
	int (*set_sregs)(struct kvisor_vcpu *vcpu,
			 const struct kvm_sregs *sregs);
	void (*get_cpu_mode)(struct kvisor_vcpu *vcpu, struct emu_ctxt *ctxt);
	void (*get_paging)(struct kvisor_vcpu *vcpu, u64 *cr0, u64 *cr3,
			   u64 *cr4, u64 *efer);
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
};

extern const struct kvisor_vendor_ops kvisor_vmx_ops;
extern const struct kvisor_vendor_ops kvisor_svm_ops;

/* The backend chosen at load time, and what it found. */
extern const struct kvisor_vendor_ops *kvisor_ops;
extern struct kvisor_cpu_caps kvisor_caps;

/**
 * struct kvisor_memslot - one KVM_SET_USER_MEMORY_REGION slot
 * @base_gfn:	first guest frame
 * @npages:	size in pages; 0 means the slot is unused
 * @hva:	userspace address backing @base_gfn
 * @flags:	KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY
 * @pages:	the host page pinned for each guest frame once the guest
 *		touched it (NULL until then); all are released when the
 *		slot goes away
 * @dirty_bitmap: with KVM_MEM_LOG_DIRTY_PAGES, a bit per page the guest
 *		wrote since userspace last collected it, followed by as
 *		much room again for KVM_GET/CLEAR_DIRTY_LOG to work in
 *		(dirty.c); NULL without logging
 */
struct kvisor_memslot {
	u64 base_gfn;
	u64 npages;
	unsigned long hva;
	u32 flags;
	struct page **pages;
	unsigned long *dirty_bitmap;
};

/**
 * struct kvisor_tdp - a VM's nested page tables (NPT or EPT)
 * @root:	the top-level table (PML4); its physical address goes into
 *		the VMCB or EPTP
 * @lock:	serializes changes to the tables; the hardware walks them
 *		concurrently, so entries are only ever written whole
 * @pages:	every table page, for freeing
 */
struct kvisor_tdp {
	u64 *root;
	spinlock_t lock;
	struct list_head pages;
};

/**
 * struct kvisor_vm - one virtual machine
 * @refs:	held by the VM fd and by each vCPU fd
 * @mm:		the address space of the process that created the VM; the
 *		ABI allows VM ioctls only from it (others get -EIO)
 * @lock:	serializes vCPU creation
 * @slots_lock:	protects @slots, the pinned pages and the dirty bitmaps
 *		against the nested page fault path, which runs on vCPU
 *		threads
 * @dirty_log_manual: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2's flags, under
 *		@slots_lock
 * @vcpus:	created vCPUs, published under @lock
 * @debugfs:	its directory under /sys/kernel/debug/kvisor
 * @irqchip:	KVM_CREATE_IRQCHIP (KVISOR_IRQCHIP_KERNEL) or
 *		KVM_CAP_SPLIT_IRQCHIP (KVISOR_IRQCHIP_SPLIT, LAPICs only)
 * @irq_lock:	serializes the irqchip's creation, routing changes, I/O bus
 *		registration, irqfds and ioeventfds
 * @pic, @ioapic, @pit: the device models, NULL until created
 * @routing:	the GSI routing table (RCU)
 * @buses:	in-kernel devices on port I/O and MMIO (RCU)
 * @irqfds, @ioeventfds: eventfd.c's lists, under @irq_lock
 * @nr_ioapic_pins: split irqchip: GSIs below it belong to userspace's IOAPIC
 * @remote_tlb_flush: flushes of every vCPU's translations, for statistics
 */
struct kvisor_vm {
	struct kref refs;
	struct mm_struct *mm;
	struct mutex lock;
	struct mutex slots_lock;
	struct kvisor_memslot slots[KVISOR_MAX_MEMSLOTS];
	u64 dirty_log_manual;
	struct kvisor_tdp tdp;
	struct kvisor_vcpu *vcpus[KVISOR_MAX_VCPUS];
	int nr_vcpus;
	struct dentry *debugfs;

	int irqchip;
	struct mutex irq_lock;
	struct kvisor_pic *pic;
	struct kvisor_ioapic *ioapic;
	struct kvisor_pit *pit;
	struct kvisor_irq_routing __rcu *routing;
	struct kvisor_io_bus __rcu *buses[KVISOR_NR_BUSES];
	spinlock_t irqfds_lock;
	struct list_head irqfds;
	struct list_head resamplers;
	struct list_head ioeventfds;
	u32 nr_ioapic_pins;
	u64 remote_tlb_flush;
	pid_t creator;		/* thread ID, for the statistics' name */
	u32 max_vcpu_ids;	/* KVM_CAP_MAX_VCPU_ID, 0 until set */
	u32 bsp_id;		/* KVM_SET_BOOT_CPU_ID */
	u64 tsc_base;		/* host TSC when the first vCPU's TSC was 0 */
	s64 kvmclock_offset;	/* VM clock = host boot time + this (kvmclock.c) */
	atomic_t kvmclock_gen;	/* bumped by KVM_SET_CLOCK */
	u64 wall_clock_msr;	/* MSR_KVM_WALL_CLOCK(_NEW) */
	unsigned long nr_mmu_pages;	/* KVM_SET_NR_MMU_PAGES, unused */
	bool platform_info_readable;	/* KVM_CAP_MSR_PLATFORM_INFO */
};

enum kvisor_irqchip_mode {
	KVISOR_IRQCHIP_NONE,
	KVISOR_IRQCHIP_KERNEL,
	KVISOR_IRQCHIP_SPLIT,
};

/* The in-kernel LAPIC exists: KVM calls this lapic_in_kernel(). */
static inline bool kvisor_irqchip_in_kernel(struct kvisor_vm *vm)
{
	return READ_ONCE(vm->irqchip) != KVISOR_IRQCHIP_NONE;
}

/*
 * An exit that userspace must finish before the guest continues: the data
 * of a port or MMIO read arrives in kvm_run when KVM_RUN is next called.
 */
enum kvisor_pending {
	KVISOR_PENDING_NONE,
	KVISOR_PENDING_PIO_IN,		/* copy PIO data into RAX */
	KVISOR_PENDING_PIO_STRING,	/* INS/OUTS: finish the iteration(s) */
	KVISOR_PENDING_MMIO,		/* re-run the emulator with the data */
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
 * @xcr0:	the guest's XCR0, switched in around entry when it differs
 * @apic_base:	IA32_APIC_BASE as the guest and KVM_SET_SREGS see it
 * @pkru, @host_pkru: the guest's PKRU and the host's, switched like XCR0
 * @irq:	the external interrupt vector KVM_INTERRUPT queued, or -1
 * @cpuid:	the table KVM_SET_CPUID2 gave, @cpuid_nent entries (cpuid.c)
 * @nr_exits:	every exit from the guest, for statistics
 * @exits:	exit counts by class, for statistics
 * @apic:	the in-kernel LAPIC, or NULL (lapic.c)
 * @mp_state:	KVM_MP_STATE_*: RUNNABLE, HALTED (in HLT), INIT_RECEIVED
 *		(waiting for a SIPI)
 * @requests:	KVISOR_REQ_* bits other threads set before a kick
 * @in_guest:	between the last check of @requests and the exit: a kick
 *		must then send an IPI to @cpu to force an exit
 * @cpu:	the host CPU it runs on, or last ran on
 * @wait:	where it sleeps in HLT or waiting for SIPI
 * @nmi_pending: NMIs queued (at most two are kept, as the CPU does)
 * @sipi_vector: of the last SIPI received
 * @eoi_exit_vector: split irqchip: the vector of KVM_EXIT_IOAPIC_EOI
 * @db:		the guest's DR0-3 as it wrote them (debug.c)
 * @dr6:	the guest's DR6; the hardware's is never the guest's
 * @dr7:	the guest's DR7; the hardware runs with the effective one
 *		(userspace's under KVM_GUESTDBG_USE_HW_BP)
 * @guest_debug: KVM_SET_GUEST_DEBUG's KVM_GUESTDBG_* bits, 0 when off
 * @user_db:	userspace's DR0-3 and DR7 for KVM_GUESTDBG_USE_HW_BP
 * @step_done:	an exit handler completed an instruction (kvisor_skip()):
 *		its single-step trap, if due, is kvisor's to raise
 * @db_loaded:	the guest's DR0-3 are in the hardware (around entry)
 */
struct kvisor_vcpu {
	struct kvisor_vm *vm;
	int id;
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
	u64 xcr0;
	u64 apic_base;
	u32 pkru;
	u32 host_pkru;
	int irq;
	struct kvm_cpuid_entry2 *cpuid;
	int cpuid_nent;
	u64 nr_exits;
	u64 exits[KVISOR_NR_EXIT_CLASSES];

	struct kvisor_lapic *apic;
	u32 mp_state;
	unsigned long requests;
	int in_guest;
	int cpu;
	struct rcuwait wait;
	atomic_t nmi_pending;
	u8 sipi_vector;
	u8 eoi_exit_vector;
	u64 tsc_adjust;		/* IA32_TSC_ADJUST */
	u64 ucode_rev;		/* IA32_UCODE_REV as the guest reads it */
	u64 platform_info;	/* MSR_PLATFORM_INFO, set by userspace */
	u64 misc_enable;	/* IA32_MISC_ENABLE */
	struct {		/* kept, not applied (msrs.c) */
		u64 def_type;
		u64 fixed[11];
		u64 var[2 * KVISOR_NR_VAR_MTRR];
	} mtrr;
	struct {		/* kept, never raised (msrs.c) */
		u64 status;
		u64 ctl;
		u64 bank[4 * KVISOR_MCE_BANKS];
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
	pid_t creator;		/* thread ID, for the statistics' name */
};

/* Bits of kvisor_vcpu.requests. */
enum {
	KVISOR_REQ_EVENT,	/* an interrupt may be deliverable: look */
	KVISOR_REQ_INIT,	/* INIT signal */
	KVISOR_REQ_SIPI,	/* start-up IPI, vector in sipi_vector */
	KVISOR_REQ_IOAPIC_EOI,	/* split irqchip: tell userspace of an EOI */
};

/*
 * Linux 6.10 renamed kvm_run.immediate_exit for kernel code, to make KVM
 * read it only once; the ABI field is the same.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define kvisor_immediate_exit(run)	READ_ONCE((run)->immediate_exit__unsafe)
#else
#define kvisor_immediate_exit(run)	READ_ONCE((run)->immediate_exit)
#endif

/*
 * The XSAVE states a guest may enable in XCR0: x87, SSE and AVX.  Keeping
 * to these also keeps every value kvisor loads into XCR0 one the CPU
 * accepts (AVX-512, MPX and AMX come with pairing rules).
 */
#define KVISOR_GUEST_XCR0 (XFEATURE_MASK_FP | XFEATURE_MASK_SSE | \
			   XFEATURE_MASK_YMM)

/* enable.c */
int kvisor_get_hardware(void);
void kvisor_put_hardware(void);
int kvisor_enable_init(void);
extern bool kvisor_rebooting;
void kvisor_enable_exit(void);

/* debugfs.c */
void kvisor_debugfs_init(void);
void kvisor_debugfs_exit(void);
void kvisor_debugfs_vm_init(struct kvisor_vm *vm);
void kvisor_debugfs_vm_exit(struct kvisor_vm *vm);
void kvisor_debugfs_vcpu_init(struct kvisor_vcpu *vcpu);

/* vm.c */
int kvisor_create_vm(unsigned long type);
long kvisor_check_extension(struct kvisor_vm *vm, long cap);
void kvisor_vm_put(struct kvisor_vm *vm);
int kvisor_vm_set_max_vcpu_id(struct kvisor_vm *vm, u64 max);

/* vcpu.c */
int kvisor_create_vcpu(struct kvisor_vm *vm, unsigned long id);
int kvisor_vcpu_init(struct kvisor_vcpu *vcpu, struct kvisor_vm *vm);
void kvisor_vcpu_uninit(struct kvisor_vcpu *vcpu);
void kvisor_get_regs(struct kvisor_vcpu *vcpu, struct kvm_regs *r);
void kvisor_set_regs(struct kvisor_vcpu *vcpu, const struct kvm_regs *r);
void kvisor_vcpu_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs);
int kvisor_vcpu_set_sregs(struct kvisor_vcpu *vcpu,
			  const struct kvm_sregs *sregs);
int kvisor_enter_guest_irqoff(struct kvisor_vcpu *vcpu);
void kvisor_exit_guest_irqoff(struct kvisor_vcpu *vcpu);

/* memslot.c */
int kvisor_set_memory_region(struct kvisor_vm *vm,
			     const struct kvm_userspace_memory_region *mr);
void kvisor_free_memslots(struct kvisor_vm *vm);
struct kvisor_memslot *kvisor_find_slot(struct kvisor_vm *vm, u64 gfn);
int kvisor_map_gfn(struct kvisor_vm *vm, u64 gfn, bool write);
int kvisor_read_guest(struct kvisor_vm *vm, u64 gpa, void *buf,
		      unsigned int len);
int kvisor_write_guest(struct kvisor_vm *vm, u64 gpa, const void *buf,
		       unsigned int len);
void kvisor_flush_guest_tlbs(struct kvisor_vm *vm);

/* dirty.c: dirty page logging */
int kvisor_dirty_bitmap_alloc(struct kvisor_vm *vm, struct kvisor_memslot *s);
void kvisor_dirty_bitmap_free(struct kvisor_memslot *s);
void kvisor_mark_dirty(struct kvisor_memslot *s, u64 gfn);
long kvisor_dirty_log_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			    void __user *argp);
int kvisor_enable_dirty_log_manual(struct kvisor_vm *vm, u64 flags);

/* tdp.c */
int kvisor_tdp_init(struct kvisor_tdp *tdp);
void kvisor_tdp_destroy(struct kvisor_tdp *tdp);
int kvisor_tdp_map(struct kvisor_tdp *tdp, u64 gpa, phys_addr_t hpa,
		   bool writable);
void kvisor_tdp_unmap_range(struct kvisor_tdp *tdp, u64 gpa, u64 size);
void kvisor_tdp_write_protect(struct kvisor_tdp *tdp, u64 gpa, u64 size);

/* exits.c: the vendor-neutral exit handlers */
int kvisor_handle_io(struct kvisor_vcpu *vcpu, u16 port, u8 size, bool in,
		     bool string, bool rep, u64 next_rip);
int kvisor_handle_tdp_fault(struct kvisor_vcpu *vcpu, u64 gpa, bool write);
int kvisor_handle_hlt(struct kvisor_vcpu *vcpu, unsigned int len);
int kvisor_handle_cpuid(struct kvisor_vcpu *vcpu, unsigned int len);
int kvisor_handle_shutdown(struct kvisor_vcpu *vcpu);
int kvisor_handle_fail_entry(struct kvisor_vcpu *vcpu, u64 reason);
int kvisor_handle_internal_error(struct kvisor_vcpu *vcpu, u32 suberror,
				 u64 info0, u64 info1);
int kvisor_complete_userspace_exit(struct kvisor_vcpu *vcpu);
int kvisor_handle_irq_window(struct kvisor_vcpu *vcpu);
int kvisor_handle_nmi_window(struct kvisor_vcpu *vcpu);
int kvisor_handle_msr(struct kvisor_vcpu *vcpu, bool write, unsigned int len);
int kvisor_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int kvisor_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val);
int kvisor_set_tsc_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val, bool host);
int kvisor_handle_xsetbv(struct kvisor_vcpu *vcpu, unsigned int len);
bool kvisor_xcr0_valid(u64 val);
u64 kvisor_xcr0_enter(struct kvisor_vcpu *vcpu, u64 guest_cr4);
void kvisor_xcr0_exit(struct kvisor_vcpu *vcpu, u64 host_xcr0);

/* cpuid.c */
long kvisor_get_supported_cpuid(struct kvm_cpuid2 __user *argp);
long kvisor_vcpu_cpuid_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			     struct kvm_cpuid2 __user *argp);
void kvisor_vcpu_cpuid_free(struct kvisor_vcpu *vcpu);
void kvisor_cpuid(struct kvisor_vcpu *vcpu);
bool kvisor_cr4_valid(struct kvisor_vcpu *vcpu, u64 cr4);
struct kvm_cpuid_entry2 *kvisor_vcpu_cpuid_find(struct kvisor_vcpu *vcpu,
						u32 function, u32 index,
						bool any_index);

/* events.c: KVM_GET/SET_VCPU_EVENTS and KVM_CAP_SYNC_REGS */
void kvisor_get_vcpu_events(struct kvisor_vcpu *vcpu,
			    struct kvm_vcpu_events *ev);
int kvisor_set_vcpu_events(struct kvisor_vcpu *vcpu,
			   const struct kvm_vcpu_events *ev);
int kvisor_sync_regs_in(struct kvisor_vcpu *vcpu);
void kvisor_sync_regs_out(struct kvisor_vcpu *vcpu);

/* kvmclock.c: the VM's clock and the paravirtual clock */
void kvisor_kvmclock_vm_init(struct kvisor_vm *vm);
long kvisor_kvmclock_vm_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			      void __user *argp);
void kvisor_kvmclock_update(struct kvisor_vcpu *vcpu);
bool kvisor_kvmclock_stale(struct kvisor_vcpu *vcpu);
int kvisor_kvmclock_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int kvisor_kvmclock_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val);

/* msrs.c: KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS, KVM_SET_MSRS */
long kvisor_get_msr_index_list(struct kvm_msr_list __user *argp);
long kvisor_get_msr_feature_index_list(struct kvm_msr_list __user *argp);
long kvisor_get_feature_msrs(struct kvm_msrs __user *argp);
int kvisor_mtrr_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write);
int kvisor_misc_enable_set(struct kvisor_vcpu *vcpu, u64 val, bool host);
int kvisor_mce_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write,
		   bool host);
long kvisor_vcpu_msrs_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			    struct kvm_msrs __user *argp);

/* gva.c: the guest's own page tables */
int kvisor_gva_to_gpa(struct kvisor_vcpu *vcpu, u64 gva, bool write,
		      bool fetch, u64 *gpa, u32 *pf_error);

/* debug.c: debug registers, KVM_GET/SET_DEBUGREGS, KVM_SET_GUEST_DEBUG */
void kvisor_debug_init(struct kvisor_vcpu *vcpu);
long kvisor_debug_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			void __user *argp);
int kvisor_debug_before_run(struct kvisor_vcpu *vcpu);
void kvisor_debug_enter_irqoff(struct kvisor_vcpu *vcpu);
void kvisor_debug_exit_irqoff(struct kvisor_vcpu *vcpu);
u64 kvisor_debug_user_rflags(struct kvisor_vcpu *vcpu);
void kvisor_debug_reset(struct kvisor_vcpu *vcpu);
int kvisor_handle_dr(struct kvisor_vcpu *vcpu, int dr, bool write, int gpr,
		     unsigned int len);
int kvisor_handle_dr_decode(struct kvisor_vcpu *vcpu, int dr, bool write);
int kvisor_handle_db(struct kvisor_vcpu *vcpu, u64 bits);
int kvisor_handle_bp(struct kvisor_vcpu *vcpu);

/* stats.c: KVM_GET_STATS_FD */
int kvisor_vm_get_stats_fd(struct kvisor_vm *vm);
int kvisor_vcpu_get_stats_fd(struct kvisor_vcpu *vcpu);

#endif /* KVISOR_KVISOR_H */
