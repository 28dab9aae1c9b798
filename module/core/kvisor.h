/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor's core objects: the VM and what the core's files offer each
 * other.  The vCPU and the backend contract are in vendor.h, guest memory
 * in mm/mm.h, the interrupt controllers in irq/irq.h; this header pulls
 * them together for the core, mm/ and irq/.  vmx/ and svm/ include only
 * vendor.h.
 */
#ifndef KVISOR_KVISOR_H
#define KVISOR_KVISOR_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/version.h>
#include <linux/kvm.h>
#include <asm/msr.h>

#include "core/vendor.h"
#include "mm/mm.h"
#include "irq/irq.h"

struct mm_struct;
struct dentry;
struct kvisor_pic;
struct kvisor_ioapic;
struct kvisor_pit;
struct kvisor_irq_routing;
struct kvisor_io_bus;
struct kvisor_msr_filter;

#define KVISOR_MAX_VCPUS	64

/**
 * struct kvisor_vm - one virtual machine
 * @refs:	held by the VM fd and by each vCPU fd
 * @mm:		the address space of the process that created the VM; the
 *		ABI allows VM ioctls only from it (others get -EIO)
 * @lock:	serializes vCPU creation
 * @slots_lock:	serializes slot changes and dirty log collection (mm/mm.h)
 * @slot_ids:	the slots by number, under @slots_lock
 * @memslots:	the slots by guest frame range (a maple tree, RCU-safe;
 *		the slots it points to live until @srcu's readers are done)
 * @hva_trees:	the slots by userspace address range, two interval trees
 *		of which readers use @hva_active while a change is made to
 *		the other (mm/memslot.c)
 * @nr_memslots: how many, under @slots_lock
 * @srcu:	readers of the slots: the nested page fault, guest accesses
 *		and the MMU notifier
 * @mmu_notifier: on @mm, keeps the nested tables coherent (mm/notifier.c)
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
 * @remote_tlb_flush, @remote_tlb_flush_requests: KVM's statistics: every
 *		flush of the vCPUs' translations, and those that had to
 *		interrupt a vCPU in the guest (mm/tdp.c)
 */
struct kvisor_vm {
	struct kref refs;
	struct mm_struct *mm;
	/* vCPU creation: @vcpus, @nr_vcpus, and settings made before it */
	struct mutex lock;
	/* @slot_ids, slot changes, dirty bitmaps, @dirty_log_manual */
	struct mutex slots_lock;
	struct xarray slot_ids;
	struct maple_tree memslots;
	struct rb_root_cached hva_trees[2];
	int hva_active;
	int nr_memslots;
	struct srcu_struct srcu;
	struct mmu_notifier mmu_notifier;
	u64 dirty_log_manual;
	struct kvisor_tdp tdp;
	struct kvisor_vcpu *vcpus[KVISOR_MAX_VCPUS];
	int nr_vcpus;
	struct dentry *debugfs;

	int irqchip;
	/* irqchip creation, routing updates, bus registration, eventfds */
	struct mutex irq_lock;
	struct kvisor_pic *pic;
	struct kvisor_ioapic *ioapic;
	struct kvisor_pit *pit;
	struct kvisor_irq_routing __rcu *routing;
	struct kvisor_io_bus __rcu *buses[KVISOR_NR_BUSES];
	/* @irqfds and @resamplers for the eventfd wakeups (IRQs off) */
	spinlock_t irqfds_lock;
	struct list_head irqfds;
	struct list_head resamplers;
	struct list_head ioeventfds;
	u32 nr_ioapic_pins;
	atomic_long_t remote_tlb_flush;
	atomic_long_t remote_tlb_flush_requests;
	pid_t creator;		/* thread ID, for the statistics' name */
	u32 max_vcpu_ids;	/* KVM_CAP_MAX_VCPU_ID, 0 until set */
	u32 bsp_id;		/* KVM_SET_BOOT_CPU_ID */
	/*
	 * The TSC offset the vCPUs share, and userspace's last TSC write:
	 * its value, when (boot-time ns) and the offset it gave (tsc.c)
	 */
	spinlock_t tsc_lock;
	u64 tsc_offset;
	u64 tsc_last_write;
	u64 tsc_last_ns;
	u64 tsc_last_offset;
	bool tsc_written;
	s64 kvmclock_offset;	/* VM clock = host boot time + this (kvmclock.c) */
	atomic_t kvmclock_gen;	/* bumped by KVM_SET_CLOCK */
	u64 wall_clock_msr;	/* MSR_KVM_WALL_CLOCK(_NEW) */
	unsigned long nr_mmu_pages;	/* KVM_SET_NR_MMU_PAGES, unused */
	bool platform_info_readable;	/* KVM_CAP_MSR_PLATFORM_INFO */
	/* KVM_X86_SET_MSR_FILTER's (msr_filter.c): set under @lock, @srcu */
	struct kvisor_msr_filter __rcu *msr_filter;
	u32 user_msr_exits;	/* KVM_CAP_X86_USER_SPACE_MSR's reasons */
	u64 disabled_quirks;	/* KVM_CAP_DISABLE_QUIRKS2 (hypercall.c) */
	int last_boosted_vcpu;	/* index of the last spin yield's target */
	/* KVM_CAP_HALT_POLL (halt.c): the VM's own halt_poll_ns, once set */
	unsigned int max_halt_poll_ns;
	bool override_halt_poll_ns;
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

/* The slot userspace numbered @id, or NULL; under slots_lock. */
static inline struct kvisor_memslot *
kvisor_slot_by_id(struct kvisor_vm *vm, u16 id)
{
	lockdep_assert_held(&vm->slots_lock);
	return xa_load(&vm->slot_ids, id);
}

/* Bits of kvisor_vcpu.requests. */
enum {
	KVISOR_REQ_EVENT,	/* an interrupt may be deliverable: look */
	KVISOR_REQ_INIT,	/* INIT signal */
	KVISOR_REQ_SIPI,	/* start-up IPI, vector in sipi_vector */
	KVISOR_REQ_IOAPIC_EOI,	/* split irqchip: tell userspace of an EOI */
	KVISOR_REQ_TRIPLE_FAULT, /* shut down before the next entry */
	KVISOR_REQ_MSR_FILTER,	/* a new MSR filter: redo the pass-through */
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

/* core/enable.c: VMX/SVM on and off in every CPU */
int kvisor_get_hardware(void);
void kvisor_put_hardware(void);
int kvisor_enable_init(void);
extern bool kvisor_rebooting;
void kvisor_enable_exit(void);

/* core/debugfs.c */
void kvisor_debugfs_init(void);
void kvisor_debugfs_exit(void);
void kvisor_debugfs_vm_init(struct kvisor_vm *vm);
void kvisor_debugfs_vm_exit(struct kvisor_vm *vm);
void kvisor_debugfs_vcpu_init(struct kvisor_vcpu *vcpu);

/* core/stats.c: the stats fd's statistics as text, for debugfs */
struct seq_file;
void kvisor_stats_show(struct kvisor_vm *vm, struct kvisor_vcpu *vcpu,
		       struct seq_file *m);

/* core/vm.c: the VM fd, KVM_CHECK_EXTENSION and KVM_ENABLE_CAP */
int kvisor_create_vm(unsigned long type);
long kvisor_check_extension(struct kvisor_vm *vm, long cap);
void kvisor_vm_put(struct kvisor_vm *vm);

/*
 * core/halt.c: HLT with adaptive polling, and the plain sleep of a vCPU
 * waiting for INIT or a SIPI; 0 when something arrived, -EINTR for a
 * signal.  KVM_ENABLE_CAP(KVM_CAP_HALT_POLL).
 */
int kvisor_vcpu_halt(struct kvisor_vcpu *vcpu);
int kvisor_vcpu_block(struct kvisor_vcpu *vcpu);
int kvisor_vm_enable_halt_poll(struct kvisor_vm *vm, u64 max_ns);

/* core/vcpu.c: the vCPU fd and its ioctl table */
int kvisor_create_vcpu(struct kvisor_vm *vm, unsigned long id);

/*
 * core/request.c: the doorbell, a leaf the devices call down into.  Make
 * @vcpu look at its interrupts again: wake it if it sleeps (HLT, or
 * waiting for a SIPI), or force it out of the guest if it runs.  Callable
 * from any context, also hard interrupt context.
 */
void kvisor_vcpu_kick(struct kvisor_vcpu *vcpu);
void kvisor_vcpu_queue_nmi(struct kvisor_vcpu *vcpu);
void kvisor_process_nmi(struct kvisor_vcpu *vcpu);
void kvisor_vcpu_queue_init(struct kvisor_vcpu *vcpu);
void kvisor_vcpu_queue_sipi(struct kvisor_vcpu *vcpu, u8 vector);

/* core/run.c: KVM_RUN and the vCPU's run state */
int kvisor_vcpu_run(struct kvisor_vcpu *vcpu);
int kvisor_vcpu_mp_state(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp);
int kvisor_vcpu_set_sigmask(struct kvisor_vcpu *vcpu, void __user *argp);
int kvisor_vcpu_interrupt(struct kvisor_vcpu *vcpu, void __user *argp);

/* core/regs.c: registers, vCPU events, KVM_CAP_SYNC_REGS */
void kvisor_get_regs(struct kvisor_vcpu *vcpu, struct kvm_regs *r);
void kvisor_set_regs(struct kvisor_vcpu *vcpu, const struct kvm_regs *r);
void kvisor_vcpu_get_sregs(struct kvisor_vcpu *vcpu, struct kvm_sregs *sregs);
int kvisor_vcpu_set_sregs(struct kvisor_vcpu *vcpu,
			  const struct kvm_sregs *sregs);
void kvisor_get_vcpu_events(struct kvisor_vcpu *vcpu,
			    struct kvm_vcpu_events *ev);
int kvisor_set_vcpu_events(struct kvisor_vcpu *vcpu,
			   const struct kvm_vcpu_events *ev);
int kvisor_sync_regs_in(struct kvisor_vcpu *vcpu);
void kvisor_sync_regs_out(struct kvisor_vcpu *vcpu);

/* core/fpu.c: FPU/XSAVE state and XCR0 */
int kvisor_fpu_access(struct kvisor_vcpu *vcpu, struct kvm_fpu *fpu,
		      bool set);
void kvisor_get_xsave(struct kvisor_vcpu *vcpu, struct kvm_xsave *xs);
int kvisor_set_xsave(struct kvisor_vcpu *vcpu, struct kvm_xsave *xs);
void kvisor_get_xcrs(struct kvisor_vcpu *vcpu, struct kvm_xcrs *xcrs);
int kvisor_set_xcrs(struct kvisor_vcpu *vcpu, struct kvm_xcrs *xcrs);
bool kvisor_xcr0_valid(u64 val);
int kvisor_xss_msr(u32 msr, u64 *val, bool write);

/* core/exits.c (the handlers a backend calls are in vendor.h) */
void kvisor_queue_pf(struct kvisor_vcpu *vcpu, u64 addr, u32 error);

/* core/pio.c, core/mmio.c: finishing an exit userspace completed */
int kvisor_complete_pio(struct kvisor_vcpu *vcpu);
int kvisor_complete_pio_string(struct kvisor_vcpu *vcpu);
int kvisor_complete_mmio(struct kvisor_vcpu *vcpu);

/* core/spin.c: give this thread's time slice to @target's thread */
int kvisor_vcpu_yield_to(struct kvisor_vcpu *target);

/*
 * core/hypercall.c: the KVM_X86_QUIRK_* kvisor has, each on until
 * KVM_CAP_DISABLE_QUIRKS2 switches it off, and guest_pv_has()
 */
#define KVISOR_QUIRKS (KVM_X86_QUIRK_LINT0_REENABLED |			\
		       KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT |		\
		       KVM_X86_QUIRK_FIX_HYPERCALL_INSN |		\
		       KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS)

static inline bool kvisor_has_quirk(struct kvisor_vm *vm, u64 quirk)
{
	return !(READ_ONCE(vm->disabled_quirks) & quirk);
}

int kvisor_disable_quirks(struct kvisor_vm *vm, u64 quirks);
bool kvisor_pv_has(struct kvisor_vcpu *vcpu, unsigned int feature);

/* core/tsc.c: the guest's TSC and its offset, in step across vCPUs */
static inline u64 kvisor_guest_tsc(struct kvisor_vcpu *vcpu)
{
	return rdtsc() + vcpu->tsc_offset;
}

int kvisor_tsc_sync(struct kvisor_vcpu *vcpu, u64 data);
int kvisor_tsc_set_attr_offset(struct kvisor_vcpu *vcpu, u64 offset);
int kvisor_set_tsc_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val, bool host);

/* core/msrs.c: every MSR, for the guest and for the ioctls */
int kvisor_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int kvisor_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val);
long kvisor_get_msr_index_list(struct kvm_msr_list __user *argp);
long kvisor_get_msr_feature_index_list(struct kvm_msr_list __user *argp);
long kvisor_get_feature_msrs(struct kvm_msrs __user *argp);
long kvisor_vcpu_msrs_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			    struct kvm_msrs __user *argp);

/* core/msr_filter.c: KVM_X86_SET_MSR_FILTER, KVM_CAP_X86_USER_SPACE_MSR */
long kvisor_set_msr_filter(struct kvisor_vm *vm, void __user *argp);
void kvisor_msr_filter_vm_free(struct kvisor_vm *vm);
void kvisor_msr_filter_vcpu_init(struct kvisor_vcpu *vcpu);
int kvisor_msr_filter_update(struct kvisor_vcpu *vcpu);
int kvisor_enable_user_msr_exits(struct kvisor_vm *vm, u64 reasons);
int kvisor_msr_user_exit(struct kvisor_vcpu *vcpu, u32 msr, bool write,
			 u64 data, int err, unsigned int len);
int kvisor_complete_msr(struct kvisor_vcpu *vcpu, bool write);

/* core/mce.c: machine-check banks and their MSRs */
u64 kvisor_mce_cap_supported(void);
void kvisor_mce_init(struct kvisor_vcpu *vcpu);
int kvisor_mce_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write,
		   bool host);
/* AMD's HWCR.McStatusWrEn: the guest may write any MCi_STATUS (msrs.c) */
#define KVISOR_HWCR_MCSTATUSWREN	BIT_ULL(18)
long kvisor_mce_setup(struct kvisor_vcpu *vcpu, u64 __user *argp);
long kvisor_mce_inject(struct kvisor_vcpu *vcpu,
		       struct kvm_x86_mce __user *argp);

/* core/cpuid.c */
long kvisor_get_supported_cpuid(struct kvm_cpuid2 __user *argp);
long kvisor_vcpu_cpuid_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			     struct kvm_cpuid2 __user *argp);
void kvisor_vcpu_cpuid_free(struct kvisor_vcpu *vcpu);
void kvisor_cpuid(struct kvisor_vcpu *vcpu);
u64 kvisor_cpuid_cr4_allowed(struct kvisor_vcpu *vcpu);
int kvisor_cpuid_maxphyaddr(struct kvisor_vcpu *vcpu);
bool kvisor_guest_cpuid_is_intel(struct kvisor_vcpu *vcpu);
bool kvisor_guest_cpuid_is_amd(struct kvisor_vcpu *vcpu);
struct kvm_cpuid_entry2 *kvisor_vcpu_cpuid_find(struct kvisor_vcpu *vcpu,
						u32 function, u32 index,
						bool any_index);

/* core/spec.c: the speculation MSRs and what the host offers of them */
u64 kvisor_arch_capabilities(void);
bool kvisor_host_has_spec_ctrl(void);
bool kvisor_has_virt_spec_ctrl(void);
bool kvisor_host_has_virt_ssbd(void);
void kvisor_spec_vcpu_init(struct kvisor_vcpu *vcpu);
int kvisor_spec_redo_passthrough(struct kvisor_vcpu *vcpu);
int kvisor_spec_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write,
		    bool host);
/* core/l1d.c: the L1D flush before VM entry (L1TF) and its parameter */
int kvisor_l1d_init(void);
void kvisor_l1d_exit(void);
bool kvisor_l1d_flush_never(void);

/* core/kvmclock.c: the VM's clock and the paravirtual clock */
void kvisor_kvmclock_vm_init(struct kvisor_vm *vm);
long kvisor_kvmclock_vm_ioctl(struct kvisor_vm *vm, unsigned int ioctl,
			      void __user *argp);
void kvisor_kvmclock_update(struct kvisor_vcpu *vcpu);
void kvisor_kvmclock_request(struct kvisor_vcpu *vcpu);
bool kvisor_kvmclock_stale(struct kvisor_vcpu *vcpu);
int kvisor_kvmclock_get_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val);
int kvisor_kvmclock_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val);

/*
 * core/steal.c: steal time and the PV TLB flush; load/put bracket
 * KVM_RUN, record runs before an entry while vcpu->st.update is set
 */
void kvisor_steal_vcpu_init(struct kvisor_vcpu *vcpu);
void kvisor_steal_vcpu_uninit(struct kvisor_vcpu *vcpu);
void kvisor_steal_load(struct kvisor_vcpu *vcpu);
void kvisor_steal_put(struct kvisor_vcpu *vcpu);
void kvisor_steal_record(struct kvisor_vcpu *vcpu);
int kvisor_steal_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 *val, bool write);

/* core/debug.c: KVM_GET/SET_DEBUGREGS, KVM_SET_GUEST_DEBUG (see vendor.h) */
void kvisor_debug_init(struct kvisor_vcpu *vcpu);
long kvisor_debug_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			void __user *argp);
int kvisor_debug_before_run(struct kvisor_vcpu *vcpu);
u64 kvisor_debug_user_rflags(struct kvisor_vcpu *vcpu);
void kvisor_debug_reset(struct kvisor_vcpu *vcpu);

/* core/stats.c: KVM_GET_STATS_FD */
int kvisor_vm_get_stats_fd(struct kvisor_vm *vm);
int kvisor_vcpu_get_stats_fd(struct kvisor_vcpu *vcpu);

#endif /* KVISOR_KVISOR_H */
