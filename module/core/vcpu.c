// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation, the vCPU file descriptor and its kvm_run mapping, and
 * the vCPU ioctl table.  Each ioctl is handled in the file that owns its
 * state: KVM_RUN and the run state in run.c, registers and events in
 * regs.c, FPU state in fpu.c, MSRs in msrs.c, CPUID in cpuid.c, debug
 * registers in debug.c, the LAPIC in irq/lapic.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcuwait.h>
#include <linux/slab.h>
#include <asm/apicdef.h>
#include <asm/fpu/api.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "core/kvisor.h"

int kvisor_vcpu_init(struct kvisor_vcpu *vcpu, struct kvisor_vm *vm)
{
	struct page *run, *pio;

	vcpu->vm = vm;
	mutex_init(&vcpu->mutex);
	run = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	pio = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!run || !pio)
		goto fail;
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		goto fail;
	vcpu->irq = -1;
	vcpu->cpu = -1;
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	/* KVM's: a revision no microcode update will claim to be older than. */
	vcpu->ucode_rev = 0x100000000ULL;
	vcpu->misc_enable = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
			    MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	/* KVM's: the host polls for a halted vCPU until the guest says no. */
	vcpu->poll_control = 1;
	rcuwait_init(&vcpu->wait);
	vcpu->xcr0 = XFEATURE_MASK_FP;
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	vcpu->run = page_address(run);
	vcpu->pio_data = page_address(pio);
	vcpu->rflags = X86_EFLAGS_FIXED;
	kvisor_debug_init(vcpu);
	kvisor_mce_init(vcpu);
	kvisor_spec_vcpu_init(vcpu);
	kvisor_msr_filter_vcpu_init(vcpu);
	kvisor_steal_vcpu_init(vcpu);
	return 0;
fail:
	if (run)
		__free_page(run);
	if (pio)
		__free_page(pio);
	return -ENOMEM;
}

void kvisor_vcpu_uninit(struct kvisor_vcpu *vcpu)
{
	kvisor_steal_vcpu_uninit(vcpu);
	if (vcpu->apic)
		kvisor_lapic_free(vcpu);
	kvisor_vcpu_cpuid_free(vcpu);
	put_pid(rcu_dereference_protected(vcpu->pid, true));
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->pio_data);
}

/*
 * vCPU attributes: only the TSC offset (KVM_VCPU_TSC_CTRL group), which
 * userspace reads and sets to keep the TSCs of a migrated VM in step.
 * Setting it leaves IA32_TSC_ADJUST alone, as in KVM.
 */
static int kvisor_vcpu_attr(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp)
{
	u64 __user *uaddr;
	struct kvm_device_attr attr;
	u64 offset;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	if (ioctl == KVM_HAS_DEVICE_ATTR)
		return 0;
	uaddr = u64_to_user_ptr(attr.addr);
	if (ioctl == KVM_GET_DEVICE_ATTR)
		return put_user(vcpu->tsc_offset, uaddr) ? -EFAULT : 0;
	if (get_user(offset, uaddr))
		return -EFAULT;
	return kvisor_tsc_set_attr_offset(vcpu, offset);
}

/*
 * KVM_SET_VAPIC_ADDR names a guest page where KVM mirrors the TPR for the
 * option ROM that patches old Windows kernels' TPR accesses.  kvisor does
 * no such mirroring: it takes 0 (QEMU sends it at every reset), refuses a
 * page rather than silently not updating it.
 */
static int kvisor_vcpu_set_vapic_addr(struct kvisor_vcpu *vcpu,
				      void __user *argp)
{
	struct kvm_vapic_addr va;

	if (!vcpu->apic)
		return -EINVAL;
	if (copy_from_user(&va, argp, sizeof(va)))
		return -EFAULT;
	return va.vapic_addr ? -EINVAL : 0;
}

/* The ioctls that move a struct in or out, with one shape each. */
static long kvisor_vcpu_state_ioctl(struct kvisor_vcpu *vcpu,
				    unsigned int ioctl, void __user *argp)
{
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
		struct kvm_xsave xsave;
		struct kvm_xcrs xcrs;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events events;
	} *u;
	long r = 0;

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	if ((_IOC_DIR(ioctl) & _IOC_WRITE) &&
	    copy_from_user(u, argp, _IOC_SIZE(ioctl))) {
		r = -EFAULT;
		goto out;
	}
	switch (ioctl) {
	case KVM_GET_REGS:
		kvisor_get_regs(vcpu, &u->regs);
		break;
	case KVM_SET_REGS:
		kvisor_set_regs(vcpu, &u->regs);
		break;
	case KVM_GET_SREGS:
		kvisor_vcpu_get_sregs(vcpu, &u->sregs);
		break;
	case KVM_SET_SREGS:
		r = kvisor_vcpu_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		r = kvisor_fpu_access(vcpu, &u->fpu, false);
		break;
	case KVM_SET_FPU:
		r = kvisor_fpu_access(vcpu, &u->fpu, true);
		break;
	case KVM_GET_XSAVE:
		kvisor_get_xsave(vcpu, &u->xsave);
		break;
	case KVM_SET_XSAVE:
		r = kvisor_set_xsave(vcpu, &u->xsave);
		break;
	case KVM_GET_XCRS:
		kvisor_get_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_SET_XCRS:
		r = kvisor_set_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_GET_VCPU_EVENTS:
		kvisor_get_vcpu_events(vcpu, &u->events);
		break;
	case KVM_SET_VCPU_EVENTS:
		r = kvisor_set_vcpu_events(vcpu, &u->events);
		break;
	case KVM_GET_LAPIC:
		r = vcpu->apic ? kvisor_lapic_get_state(vcpu, &u->lapic) : -EINVAL;
		break;
	case KVM_SET_LAPIC:
		r = vcpu->apic ? kvisor_lapic_set_state(vcpu, &u->lapic) : -EINVAL;
		if (!r)
			set_bit(KVISOR_REQ_EVENT, &vcpu->requests);
		break;
	}
	if (!r && (_IOC_DIR(ioctl) & _IOC_READ) &&
	    copy_to_user(argp, u, _IOC_SIZE(ioctl)))
		r = -EFAULT;
out:
	kfree(u);
	return r;
}

/* Adapters from the ioctl table's shape to each file's handler. */
/*
 * The thread that runs the vCPU, as KVM records it at KVM_RUN, for a
 * KVM_HC_SCHED_YIELD that asks to yield to it (hypercall.c).
 */
static void kvisor_vcpu_set_pid(struct kvisor_vcpu *vcpu)
{
	struct pid *old = rcu_access_pointer(vcpu->pid);

	if (old == task_pid(current))
		return;
	rcu_assign_pointer(vcpu->pid, get_task_pid(current, PIDTYPE_PID));
	synchronize_rcu();
	put_pid(old);
}

static long kvisor_vcpu_ioctl_run(struct kvisor_vcpu *vcpu, unsigned int ioctl,
				  unsigned long arg)
{
	if (arg)
		return -EINVAL;
	kvisor_vcpu_set_pid(vcpu);
	return kvisor_vcpu_run(vcpu);
}

static long kvisor_vcpu_ioctl_interrupt(struct kvisor_vcpu *vcpu,
					unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_interrupt(vcpu, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_nmi(struct kvisor_vcpu *vcpu, unsigned int ioctl,
				  unsigned long arg)
{
	kvisor_vcpu_queue_nmi(vcpu);
	return 0;
}

static long kvisor_vcpu_ioctl_vapic(struct kvisor_vcpu *vcpu,
				    unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_set_vapic_addr(vcpu, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_attr(struct kvisor_vcpu *vcpu,
				   unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_attr(vcpu, ioctl, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_sigmask(struct kvisor_vcpu *vcpu,
				      unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_set_sigmask(vcpu, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_mp_state(struct kvisor_vcpu *vcpu,
				       unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_mp_state(vcpu, ioctl, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_state(struct kvisor_vcpu *vcpu,
				    unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_state_ioctl(vcpu, ioctl, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_cpuid(struct kvisor_vcpu *vcpu,
				    unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_cpuid_ioctl(vcpu, ioctl, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_msrs(struct kvisor_vcpu *vcpu,
				   unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_msrs_ioctl(vcpu, ioctl, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_mce(struct kvisor_vcpu *vcpu,
				  unsigned int ioctl, unsigned long arg)
{
	if (ioctl == KVM_X86_SETUP_MCE)
		return kvisor_mce_setup(vcpu, (void __user *)arg);
	return kvisor_mce_inject(vcpu, (void __user *)arg);
}

static long kvisor_vcpu_ioctl_debug(struct kvisor_vcpu *vcpu,
				    unsigned int ioctl, unsigned long arg)
{
	return kvisor_debug_ioctl(vcpu, ioctl, (void __user *)arg);
}

/* No TSC scaling: the guest's TSC runs at the host's rate. */
static long kvisor_vcpu_ioctl_tsc_khz(struct kvisor_vcpu *vcpu,
				      unsigned int ioctl, unsigned long arg)
{
	return tsc_khz;
}

/*
 * KVM_ENABLE_CAP on a vCPU fd.  The one capability: holding the guest to
 * the paravirtual features its CPUID offers (hypercall.c).
 */
static long kvisor_vcpu_ioctl_enable_cap(struct kvisor_vcpu *vcpu,
					 unsigned int ioctl, unsigned long arg)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, (void __user *)arg, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
		WRITE_ONCE(vcpu->pv_enforce, !!cap.args[0]);
		return 0;
	default:
		return -EINVAL;
	}
}

static long kvisor_vcpu_ioctl_stats_fd(struct kvisor_vcpu *vcpu,
				       unsigned int ioctl, unsigned long arg)
{
	return kvisor_vcpu_get_stats_fd(vcpu);
}

/*
 * Every vCPU ioctl kvisor implements, and the file that implements it.
 * All run under the vCPU's mutex; one not listed is -EINVAL, as KVM
 * answers on a vCPU fd.
 */
static const struct {
	unsigned int ioctl;
	long (*fn)(struct kvisor_vcpu *vcpu, unsigned int ioctl,
		   unsigned long arg);
} kvisor_vcpu_ioctls[] = {
	/* core/run.c */
	{ KVM_RUN,			kvisor_vcpu_ioctl_run },
	{ KVM_INTERRUPT,		kvisor_vcpu_ioctl_interrupt },
	{ KVM_SET_SIGNAL_MASK,		kvisor_vcpu_ioctl_sigmask },
	{ KVM_GET_MP_STATE,		kvisor_vcpu_ioctl_mp_state },
	{ KVM_SET_MP_STATE,		kvisor_vcpu_ioctl_mp_state },
	/* core/request.c */
	{ KVM_NMI,			kvisor_vcpu_ioctl_nmi },
	/* core/vcpu.c */
	{ KVM_SET_VAPIC_ADDR,		kvisor_vcpu_ioctl_vapic },
	{ KVM_HAS_DEVICE_ATTR,		kvisor_vcpu_ioctl_attr },
	{ KVM_GET_DEVICE_ATTR,		kvisor_vcpu_ioctl_attr },
	{ KVM_SET_DEVICE_ATTR,		kvisor_vcpu_ioctl_attr },
	{ KVM_GET_TSC_KHZ,		kvisor_vcpu_ioctl_tsc_khz },
	{ KVM_ENABLE_CAP,		kvisor_vcpu_ioctl_enable_cap },
	/* core/regs.c, core/fpu.c, irq/lapic.c, through one copy in/out */
	{ KVM_GET_REGS,			kvisor_vcpu_ioctl_state },
	{ KVM_SET_REGS,			kvisor_vcpu_ioctl_state },
	{ KVM_GET_SREGS,		kvisor_vcpu_ioctl_state },
	{ KVM_SET_SREGS,		kvisor_vcpu_ioctl_state },
	{ KVM_GET_VCPU_EVENTS,		kvisor_vcpu_ioctl_state },
	{ KVM_SET_VCPU_EVENTS,		kvisor_vcpu_ioctl_state },
	{ KVM_GET_FPU,			kvisor_vcpu_ioctl_state },
	{ KVM_SET_FPU,			kvisor_vcpu_ioctl_state },
	{ KVM_GET_XSAVE,		kvisor_vcpu_ioctl_state },
	{ KVM_SET_XSAVE,		kvisor_vcpu_ioctl_state },
	{ KVM_GET_XCRS,			kvisor_vcpu_ioctl_state },
	{ KVM_SET_XCRS,			kvisor_vcpu_ioctl_state },
	{ KVM_GET_LAPIC,		kvisor_vcpu_ioctl_state },
	{ KVM_SET_LAPIC,		kvisor_vcpu_ioctl_state },
	/* core/cpuid.c, core/msrs.c, core/mce.c, core/debug.c, core/stats.c */
	{ KVM_SET_CPUID2,		kvisor_vcpu_ioctl_cpuid },
	{ KVM_GET_CPUID2,		kvisor_vcpu_ioctl_cpuid },
	{ KVM_GET_MSRS,			kvisor_vcpu_ioctl_msrs },
	{ KVM_SET_MSRS,			kvisor_vcpu_ioctl_msrs },
	{ KVM_X86_SETUP_MCE,		kvisor_vcpu_ioctl_mce },
	{ KVM_X86_SET_MCE,		kvisor_vcpu_ioctl_mce },
	{ KVM_GET_DEBUGREGS,		kvisor_vcpu_ioctl_debug },
	{ KVM_SET_DEBUGREGS,		kvisor_vcpu_ioctl_debug },
	{ KVM_SET_GUEST_DEBUG,		kvisor_vcpu_ioctl_debug },
	{ KVM_GET_STATS_FD,		kvisor_vcpu_ioctl_stats_fd },
};

static long kvisor_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			      unsigned long arg)
{
	struct kvisor_vcpu *vcpu = filp->private_data;
	unsigned int i;
	long r = -EINVAL;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (_IOC_TYPE(ioctl) != KVMIO)
		return -EINVAL;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	for (i = 0; i < ARRAY_SIZE(kvisor_vcpu_ioctls); i++) {
		if (kvisor_vcpu_ioctls[i].ioctl == ioctl) {
			r = kvisor_vcpu_ioctls[i].fn(vcpu, ioctl, arg);
			break;
		}
	}
	mutex_unlock(&vcpu->mutex);
	return r;
}

/* Page 0 of the mapping is struct kvm_run, page 1 the PIO data. */
static vm_fault_t kvisor_vcpu_fault(struct vm_fault *vmf)
{
	struct kvisor_vcpu *vcpu = vmf->vma->vm_file->private_data;
	void *addr;

	switch (vmf->pgoff) {
	case 0:
		addr = vcpu->run;
		break;
	case KVM_PIO_PAGE_OFFSET:
		addr = vcpu->pio_data;
		break;
	default:
		return VM_FAULT_SIGBUS;
	}
	vmf->page = virt_to_page(addr);
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct kvisor_vcpu_vm_ops = {
	.fault = kvisor_vcpu_fault,
};

static int kvisor_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &kvisor_vcpu_vm_ops;
	return 0;
}

static int kvisor_vcpu_release(struct inode *inode, struct file *filp)
{
	struct kvisor_vcpu *vcpu = filp->private_data;

	/* The vCPU itself lives as long as its VM, as in KVM. */
	kvisor_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations kvisor_vcpu_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvisor_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= kvisor_vcpu_mmap,
	.release	= kvisor_vcpu_release,
	.llseek		= noop_llseek,
};

/*
 * A new vCPU in its reset state, under vm->lock: the backend's part, then
 * the TSC, the BSP flag and, with an in-kernel irqchip, its LAPIC.
 */
static struct kvisor_vcpu *kvisor_vcpu_new(struct kvisor_vm *vm,
					   unsigned long id)
{
	struct kvisor_vcpu *vcpu;
	int r;

	vcpu = kvisor_ops->vcpu_create(vm);
	if (IS_ERR(vcpu))
		return vcpu;
	vcpu->id = id;
	vcpu->creator = task_pid_nr(current);
	/*
	 * As KVM: the TSC starts at 0 with the VM, and every vCPU's runs in
	 * step with the first one's (guests check that their CPUs agree).
	 */
	kvisor_tsc_sync(vcpu, 0);
	/* The bootstrap processor: vCPU 0 unless KVM_SET_BOOT_CPU_ID said. */
	if (id == vm->bsp_id)
		vcpu->apic_base |= MSR_IA32_APICBASE_BSP;
	if (kvisor_irqchip_in_kernel(vm)) {
		r = kvisor_lapic_create(vcpu);
		if (r) {
			kvisor_ops->vcpu_free(vcpu);
			return ERR_PTR(r);
		}
		/* The application processors wait for INIT and SIPI. */
		if (id != vm->bsp_id)
			vcpu->mp_state = KVM_MP_STATE_UNINITIALIZED;
	}
	return vcpu;
}

int kvisor_create_vcpu(struct kvisor_vm *vm, unsigned long id)
{
	struct kvisor_vcpu *vcpu;
	struct file *file;
	char name[24];
	int i, r, fd;

	if (id >= (READ_ONCE(vm->max_vcpu_ids) ?: KVISOR_MAX_VCPUS))
		return -EINVAL;
	/* A backend still without guest execution says so, not more. */
	if (!kvisor_ops->vcpu_create) {
		pr_warn_once("%s cannot run vCPUs yet\n", kvisor_caps.vendor);
		return -EOPNOTSUPP;
	}

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus == KVISOR_MAX_VCPUS)
		goto out;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto out;

	vcpu = kvisor_vcpu_new(vm, id);
	if (IS_ERR(vcpu)) {
		r = PTR_ERR(vcpu);
		goto out;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		kvisor_ops->vcpu_free(vcpu);
		goto out;
	}
	snprintf(name, sizeof(name), "kvm-vcpu:%lu", id);
	file = anon_inode_getfile(name, &kvisor_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		r = PTR_ERR(file);
		kvisor_ops->vcpu_free(vcpu);
		goto out;
	}
	kref_get(&vm->refs);
	/*
	 * Published before userspace can run it (fd_install() below), the
	 * count after the pointer: memslot changes walk the array without
	 * vm->lock, and a vCPU they miss could keep a stale translation.
	 * Pairs with smp_load_acquire() in kvisor_flush_guest_tlbs().
	 */
	smp_store_release(&vm->vcpus[vm->nr_vcpus], vcpu);
	/* The count only after the pointer it covers. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	kvisor_debugfs_vcpu_init(vcpu);
	fd_install(fd, file);
	r = fd;
out:
	mutex_unlock(&vm->lock);
	return r;
}
