// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual machines: creation, the VM file descriptor with its one ioctl
 * table, and the capabilities: the answers KVM_CHECK_EXTENSION gives on
 * both the system and VM fds, and KVM_ENABLE_CAP beside them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/kvm.h>

#include "core/kvisor.h"

/*
 * QEMU treats every capability answered with a non-zero value as a promise,
 * so only those that fully work are listed here; everything else is 0.
 */
long kvisor_check_extension(struct kvisor_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_READONLY_MEM:
	/* kvm_run.internal.ndata/data[] are filled on every internal error */
	case KVM_CAP_INTERNAL_ERROR_DATA:
	/* the nested tables follow the VMM's mappings (mm/notifier.c) */
	case KVM_CAP_SYNC_MMU:
		return 1;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		       KVM_DIRTY_LOG_INITIALLY_SET;
	case KVM_CAP_NR_MEMSLOTS:
		return KVISOR_MAX_MEMSLOTS;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
	case KVM_CAP_MAX_VCPU_ID:
		/* 0 where the backend cannot run vCPUs (yet) */
		return kvisor_ops->vcpu_create ? KVISOR_MAX_VCPUS : 0;
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_VCPU_ATTRIBUTES:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_SET_GUEST_DEBUG:
	/* TF survives KVM_SET_REGS; exit-completed steps trap (debug.c) */
	case KVM_CAP_X86_ROBUST_SINGLESTEP:
		return 1;
	case KVM_CAP_MCE:
		return KVISOR_MCE_BANKS;
	case KVM_CAP_ADJUST_CLOCK:
		return KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	case KVM_CAP_SET_GUEST_DEBUG2:
		/* The KVM_GUESTDBG_* bits KVM_SET_GUEST_DEBUG accepts. */
		return KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
		       KVM_GUESTDBG_USE_HW_BP | KVM_GUESTDBG_USE_SW_BP |
		       KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_INJECT_DB |
		       KVM_GUESTDBG_BLOCKIRQ;
	case KVM_CAP_SYNC_REGS:
		return KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
		       KVM_SYNC_X86_EVENTS;
	case KVM_CAP_IRQ_ROUTING:
		return KVISOR_MAX_IRQ_ROUTES;
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
		/* 1, as KVM 6.1; newer KVMs answer the mask of reasons. */
		return 1;
	/* vCPU KVM_ENABLE_CAP: guest_pv_has() (hypercall.c) */
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
	/* KVM_ENABLE_CAP on the VM: its own maximum poll (halt.c) */
	case KVM_CAP_HALT_POLL:
		return 1;
	/*
	 * Not KVM_CAP_DISABLE_QUIRKS: it takes any mask, and promises that
	 * every quirk can be disabled, which kvisor cannot do.
	 */
	case KVM_CAP_DISABLE_QUIRKS2:
		return KVISOR_QUIRKS;
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
		/* No XCR0 to save or restore without XSAVE in the host. */
		return boot_cpu_has(X86_FEATURE_XSAVE);
	default:
		return 0;
	}
}

static void kvisor_vm_free(struct kref *kref)
{
	struct kvisor_vm *vm = container_of(kref, struct kvisor_vm, refs);
	int i;

	kvisor_debugfs_vm_exit(vm);
	/* Nothing may inject into the vCPUs (irqfds, the PIT) as they go. */
	kvisor_irq_vm_destroy(vm);
	/* No notifier callback may walk the slots or tables any more. */
	kvisor_mmu_notifier_unregister(vm);
	kvisor_free_memslots(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		kvisor_ops->vcpu_free(vm->vcpus[i]);
	kvisor_tdp_destroy(&vm->tdp);
	kvisor_msr_filter_vm_free(vm);
	mmdrop(vm->mm);
	kfree(vm);
	kvisor_put_hardware();
}

void kvisor_vm_put(struct kvisor_vm *vm)
{
	kref_put(&vm->refs, kvisor_vm_free);
}

/* KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID): once, before vCPUs, at most ours. */
static int kvisor_vm_set_max_vcpu_id(struct kvisor_vm *vm, u64 max)
{
	int r = -EINVAL;

	if (max > KVISOR_MAX_VCPUS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (vm->max_vcpu_ids == max) {
		r = 0;
	} else if (!vm->max_vcpu_ids && !vm->nr_vcpus) {
		vm->max_vcpu_ids = max;
		r = 0;
	}
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * KVM_ENABLE_CAP on the VM fd, beside KVM_CHECK_EXTENSION: the
 * capabilities that userspace switches on, each handled by the file that
 * owns its state.
 */
static long kvisor_vm_enable_cap(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, (void __user *)arg, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_SPLIT_IRQCHIP:
		return kvisor_create_irqchip(vm, true, cap.args[0]);
	case KVM_CAP_MAX_VCPU_ID:
		return kvisor_vm_set_max_vcpu_id(vm, cap.args[0]);
	case KVM_CAP_MSR_PLATFORM_INFO:
		WRITE_ONCE(vm->platform_info_readable, !!cap.args[0]);
		return 0;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return kvisor_enable_dirty_log_manual(vm, cap.args[0]);
	case KVM_CAP_X86_USER_SPACE_MSR:
		return kvisor_enable_user_msr_exits(vm, cap.args[0]);
	case KVM_CAP_DISABLE_QUIRKS2:
		return kvisor_disable_quirks(vm, cap.args[0]);
	case KVM_CAP_HALT_POLL:
		return kvisor_vm_enable_halt_poll(vm, cap.args[0]);
	default:
		return -EINVAL;
	}
}

static long kvisor_vm_check_extension(struct kvisor_vm *vm, unsigned int ioctl,
				      unsigned long arg)
{
	return kvisor_check_extension(vm, arg);
}

static long kvisor_vm_create_vcpu(struct kvisor_vm *vm, unsigned int ioctl,
				  unsigned long arg)
{
	return kvisor_create_vcpu(vm, arg);
}

static long kvisor_vm_set_memory(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg)
{
	struct kvm_userspace_memory_region mr;

	if (copy_from_user(&mr, (void __user *)arg, sizeof(mr)))
		return -EFAULT;
	return kvisor_set_memory_region(vm, &mr);
}

/*
 * Real mode runs natively (unrestricted guest, SVM): kvisor needs no TSS
 * and no identity map, but takes the addresses as KVM does, with KVM's
 * own checks.
 */
static long kvisor_vm_set_tss_addr(struct kvisor_vm *vm, unsigned int ioctl,
				   unsigned long arg)
{
	return arg > (unsigned int)(-3 * PAGE_SIZE) ? -EINVAL : 0;
}

/* KVM takes the identity map's address only before the first vCPU. */
static long kvisor_vm_set_identity_map(struct kvisor_vm *vm,
				       unsigned int ioctl, unsigned long arg)
{
	u64 addr;
	long r = -EINVAL;

	mutex_lock(&vm->lock);
	if (!vm->nr_vcpus)
		r = copy_from_user(&addr, (void __user *)arg,
				   sizeof(addr)) ? -EFAULT : 0;
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_SET_BOOT_CPU_ID: KVM takes it only while no vCPU exists. */
static long kvisor_vm_set_boot_cpu(struct kvisor_vm *vm, unsigned int ioctl,
				   unsigned long arg)
{
	long r = 0;

	mutex_lock(&vm->lock);
	if (vm->nr_vcpus)
		r = -EBUSY;
	else
		vm->bsp_id = arg;
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * kvisor has no shadow page tables to size; it keeps the number for
 * KVM_GET_NR_MMU_PAGES, with KVM's lower bound.
 */
static long kvisor_vm_nr_mmu_pages(struct kvisor_vm *vm, unsigned int ioctl,
				   unsigned long arg)
{
	if (ioctl == KVM_GET_NR_MMU_PAGES)
		return READ_ONCE(vm->nr_mmu_pages);
	if (arg < 64)
		return -EINVAL;
	WRITE_ONCE(vm->nr_mmu_pages, arg);
	return 0;
}

static long kvisor_vm_clock(struct kvisor_vm *vm, unsigned int ioctl,
			    unsigned long arg)
{
	return kvisor_kvmclock_vm_ioctl(vm, ioctl, (void __user *)arg);
}

static long kvisor_vm_stats_fd(struct kvisor_vm *vm, unsigned int ioctl,
			       unsigned long arg)
{
	return kvisor_vm_get_stats_fd(vm);
}

static long kvisor_vm_dirty_log(struct kvisor_vm *vm, unsigned int ioctl,
				unsigned long arg)
{
	return kvisor_dirty_log_ioctl(vm, ioctl, (void __user *)arg);
}

static long kvisor_vm_msr_filter(struct kvisor_vm *vm, unsigned int ioctl,
				 unsigned long arg)
{
	return kvisor_set_msr_filter(vm, (void __user *)arg);
}

/*
 * Every VM ioctl kvisor implements, and the file that implements it.  An
 * ioctl not listed is -ENOTTY, as KVM answers.
 */
static const struct {
	unsigned int ioctl;
	long (*fn)(struct kvisor_vm *vm, unsigned int ioctl, unsigned long arg);
} kvisor_vm_ioctls[] = {
	/* core/vm.c, core/vcpu.c */
	{ KVM_CHECK_EXTENSION,		kvisor_vm_check_extension },
	{ KVM_ENABLE_CAP,		kvisor_vm_enable_cap },
	{ KVM_CREATE_VCPU,		kvisor_vm_create_vcpu },
	{ KVM_SET_TSS_ADDR,		kvisor_vm_set_tss_addr },
	{ KVM_SET_IDENTITY_MAP_ADDR,	kvisor_vm_set_identity_map },
	{ KVM_SET_BOOT_CPU_ID,		kvisor_vm_set_boot_cpu },
	{ KVM_SET_NR_MMU_PAGES,		kvisor_vm_nr_mmu_pages },
	{ KVM_GET_NR_MMU_PAGES,		kvisor_vm_nr_mmu_pages },
	/* core/kvmclock.c, core/stats.c */
	{ KVM_GET_CLOCK,		kvisor_vm_clock },
	{ KVM_SET_CLOCK,		kvisor_vm_clock },
	{ KVM_GET_STATS_FD,		kvisor_vm_stats_fd },
	/* core/msr_filter.c */
	{ KVM_X86_SET_MSR_FILTER,	kvisor_vm_msr_filter },
	/* mm/memslot.c, mm/dirty.c */
	{ KVM_SET_USER_MEMORY_REGION,	kvisor_vm_set_memory },
	{ KVM_GET_DIRTY_LOG,		kvisor_vm_dirty_log },
	{ KVM_CLEAR_DIRTY_LOG,		kvisor_vm_dirty_log },
	/* irq/routing.c */
	{ KVM_CREATE_IRQCHIP,		kvisor_irq_ioctl_create_irqchip },
	{ KVM_GET_IRQCHIP,		kvisor_irq_ioctl_chip_state },
	{ KVM_SET_IRQCHIP,		kvisor_irq_ioctl_chip_state },
	{ KVM_IRQ_LINE,			kvisor_irq_ioctl_line },
	{ KVM_IRQ_LINE_STATUS,		kvisor_irq_ioctl_line },
	{ KVM_SET_GSI_ROUTING,		kvisor_irq_ioctl_set_routing },
	{ KVM_SIGNAL_MSI,		kvisor_irq_ioctl_signal_msi },
	{ KVM_IRQFD,			kvisor_irq_ioctl_irqfd },
	{ KVM_IOEVENTFD,		kvisor_irq_ioctl_ioeventfd },
	{ KVM_CREATE_PIT,		kvisor_irq_ioctl_create_pit },
	{ KVM_CREATE_PIT2,		kvisor_irq_ioctl_create_pit },
	{ KVM_GET_PIT,			kvisor_irq_ioctl_pit_state },
	{ KVM_SET_PIT,			kvisor_irq_ioctl_pit_state },
	{ KVM_GET_PIT2,			kvisor_irq_ioctl_pit_state },
	{ KVM_SET_PIT2,			kvisor_irq_ioctl_pit_state },
};

static long kvisor_vm_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct kvisor_vm *vm = filp->private_data;
	unsigned int i;

	/* A VM belongs to the address space that made it, as in KVM. */
	if (vm->mm != current->mm)
		return -EIO;
	for (i = 0; i < ARRAY_SIZE(kvisor_vm_ioctls); i++)
		if (kvisor_vm_ioctls[i].ioctl == ioctl)
			return kvisor_vm_ioctls[i].fn(vm, ioctl, arg);
	return -ENOTTY;
}

static int kvisor_vm_release(struct inode *inode, struct file *filp)
{
	kvisor_vm_put(filp->private_data);
	return 0;
}

static const struct file_operations kvisor_vm_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvisor_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= kvisor_vm_release,
	.llseek		= noop_llseek,
};

int kvisor_create_vm(unsigned long type)
{
	struct kvisor_vm *vm;
	struct file *file;
	int fd;

	/* x86 KVM knows only the default VM type. */
	if (type)
		return -EINVAL;

	/* The first VM switches VMX/SVM on in every CPU. */
	fd = kvisor_get_hardware();
	if (fd)
		return fd;

	fd = -ENOMEM;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		goto put_hw;
	if (kvisor_tdp_init(&vm->tdp))
		goto free_vm;
	if (kvisor_memslots_init(vm))
		goto free_tdp;
	kref_init(&vm->refs);
	mutex_init(&vm->lock);
	mutex_init(&vm->slots_lock);
	mutex_init(&vm->irq_lock);
	spin_lock_init(&vm->irqfds_lock);
	spin_lock_init(&vm->tsc_lock);
	INIT_LIST_HEAD(&vm->irqfds);
	INIT_LIST_HEAD(&vm->resamplers);
	INIT_LIST_HEAD(&vm->ioeventfds);
	vm->mm = current->mm;
	vm->creator = task_pid_nr(current);
	vm->platform_info_readable = true;	/* KVM's default */
	kvisor_kvmclock_vm_init(vm);
	mmgrab(vm->mm);
	fd = kvisor_mmu_notifier_register(vm);
	if (fd) {
		mmdrop(vm->mm);
		kvisor_free_memslots(vm);
		goto free_tdp;
	}
	kvisor_debugfs_vm_init(vm);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kvisor_vm_put(vm);
		return fd;
	}
	file = anon_inode_getfile("kvm-vm", &kvisor_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kvisor_vm_put(vm);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;

free_tdp:
	kvisor_tdp_destroy(&vm->tdp);
free_vm:
	kfree(vm);
put_hw:
	kvisor_put_hardware();
	return fd;
}
