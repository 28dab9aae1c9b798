// SPDX-License-Identifier: GPL-2.0
/*
 * The MSR ioctls: KVM_GET_MSR_INDEX_LIST names the MSRs userspace can save
 * and restore, and KVM_GET_MSRS / KVM_SET_MSRS move their values.  The
 * values come from the same places the guest's RDMSR and WRMSR reach
 * (exits.c and the backend), so what userspace sees is what the guest
 * sees.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/kvm_para.h>

#include "kvisor.h"

/* KVM's limit on the entries of one KVM_GET/SET_MSRS call. */
#define KVISOR_MAX_IO_MSRS	4096

static const u32 kvisor_msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_EFER, MSR_FS_BASE, MSR_GS_BASE,
	MSR_IA32_APICBASE, MSR_IA32_TSC_ADJUST, MSR_IA32_TSC_DEADLINE,
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME_NEW,
	MSR_KVM_WALL_CLOCK_NEW, MSR_IA32_UCODE_REV, MSR_PLATFORM_INFO,
};

/*
 * Feature MSRs: what the host's CPU is, for userspace to choose the
 * guest's values from (KVM_GET_MSR_FEATURE_INDEX_LIST, then KVM_GET_MSRS
 * on /dev/kvm).  Of KVM's, the microcode revision, and the PMU's
 * capabilities, which are none.
 */
static const u32 kvisor_feature_msrs[] = {
	MSR_IA32_UCODE_REV, MSR_IA32_PERF_CAPABILITIES,
};

/*
 * As KVM: the count needed always goes back to userspace, so a caller
 * with too small a buffer (-E2BIG) learns how big to make it.
 */
static long kvisor_put_msr_list(struct kvm_msr_list __user *argp,
				const u32 *msrs, u32 nr)
{
	struct kvm_msr_list list;
	u32 n;

	if (copy_from_user(&list, argp, sizeof(list)))
		return -EFAULT;
	n = list.nmsrs;
	list.nmsrs = nr;
	if (copy_to_user(argp, &list, sizeof(list)))
		return -EFAULT;
	if (n < list.nmsrs)
		return -E2BIG;
	if (copy_to_user(argp->indices, msrs, nr * sizeof(*msrs)))
		return -EFAULT;
	return 0;
}

long kvisor_get_msr_index_list(struct kvm_msr_list __user *argp)
{
	return kvisor_put_msr_list(argp, kvisor_msrs_to_save,
				   ARRAY_SIZE(kvisor_msrs_to_save));
}

long kvisor_get_msr_feature_index_list(struct kvm_msr_list __user *argp)
{
	return kvisor_put_msr_list(argp, kvisor_feature_msrs,
				   ARRAY_SIZE(kvisor_feature_msrs));
}

static int kvisor_get_feature_msr(u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_IA32_UCODE_REV:
		return rdmsrl_safe(MSR_IA32_UCODE_REV, val) ? -EIO : 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/* No PMU is virtualized: no capabilities, as KVM without one. */
		*val = 0;
		return 0;
	default:
		return -ENOENT;
	}
}

/*
 * Userspace restores what the guest cannot write itself: the APIC base,
 * which KVM_SET_SREGS takes unchecked too, so kvisor stores it as given.
 * Addresses must be canonical, as KVM requires: VMX would refuse to enter
 * with such a KERNEL_GS_BASE in its MSR-load list, and a SYSCALL or
 * SYSENTER to one would fault in the guest where it cannot.
 */
static int kvisor_host_set_msr(struct kvisor_vcpu *vcpu, u32 msr, u64 val)
{
	/* The in-kernel LAPIC lets userspace restore more than the guest. */
	if (vcpu->apic) {
		int r = kvisor_lapic_set_msr(vcpu, msr, val, true);

		if (r != -ENOENT)
			return r;
	}
	switch (msr) {
	case MSR_IA32_APICBASE:
		vcpu->apic_base = val;
		return 0;
	case MSR_IA32_TSC:
	case MSR_IA32_TSC_ADJUST:
		return kvisor_set_tsc_msr(vcpu, msr, val, true);
	case MSR_IA32_TSC_DEADLINE:
		/* No LAPIC to arm (with one, it answered above): ignored. */
		return 0;
	case MSR_IA32_UCODE_REV:
		vcpu->ucode_rev = val;
		return 0;
	case MSR_PLATFORM_INFO:
		/* No CPUID faulting here to advertise. */
		if (val & MSR_PLATFORM_INFO_CPUID_FAULT)
			return -EINVAL;
		vcpu->platform_info = val;
		return 0;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if ((u64)((s64)(val << 16) >> 16) != val)
			return -EINVAL;
		break;
	}
	return kvisor_set_msr(vcpu, msr, val);
}

/*
 * Entries are handled in order up to the first MSR that fails; the return
 * value is how many succeeded, which is how KVM reports a failure here.
 * KVM_GET_MSRS copies every entry back, the unread ones unchanged.
 */
static long kvisor_msrs_io(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			   struct kvm_msrs __user *argp);

long kvisor_vcpu_msrs_ioctl(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			    struct kvm_msrs __user *argp)
{
	return kvisor_msrs_io(vcpu, ioctl, argp);
}

/* KVM_GET_MSRS on /dev/kvm: the feature MSRs. */
long kvisor_get_feature_msrs(struct kvm_msrs __user *argp)
{
	return kvisor_msrs_io(NULL, KVM_GET_MSRS, argp);
}

/* One entry; @vcpu NULL for the system fd's feature MSRs. */
static int kvisor_msr_one(struct kvisor_vcpu *vcpu, bool get,
			  struct kvm_msr_entry *e)
{
	if (!vcpu)
		return kvisor_get_feature_msr(e->index, &e->data);
	return get ? kvisor_get_msr(vcpu, e->index, &e->data) :
		     kvisor_host_set_msr(vcpu, e->index, e->data);
}

static long kvisor_msrs_io(struct kvisor_vcpu *vcpu, unsigned int ioctl,
			   struct kvm_msrs __user *argp)
{
	bool get = ioctl == KVM_GET_MSRS;
	struct kvm_msr_entry *e;
	struct kvm_msrs msrs;
	size_t size;
	long r = 0;
	u32 i;

	if (copy_from_user(&msrs, argp, sizeof(msrs)))
		return -EFAULT;
	if (msrs.nmsrs >= KVISOR_MAX_IO_MSRS)
		return -E2BIG;
	size = sizeof(*e) * msrs.nmsrs;
	e = memdup_user(argp->entries, size);
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < msrs.nmsrs; i++) {
		if (kvisor_msr_one(vcpu, get, &e[i]))
			break;
	}
	r = i;
	if (get && copy_to_user(argp->entries, e, size))
		r = -EFAULT;
	kfree(e);
	return r;
}
