// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor module entry: pick a backend, refuse to load where guests cannot
 * run, and own the system file descriptor (/dev/kvm by default).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/smp.h>
#include <linux/cpumask.h>
#include <linux/kvm.h>

#include "core/kvisor.h"
#include "kvisor_version.h"

/*
 * The node name is a parameter so that kvisor can sit beside in-tree KVM
 * (devname=kvisor) when the two are measured side by side in one boot.
 */
static char *devname = "kvm";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname, "name of the device node under /dev (default kvm)");

static long kvisor_dev_ioctl(struct file *filp, unsigned int ioctl,
			     unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvisor_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return kvisor_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		/* struct kvm_run, then the page that carries PIO data */
		return 2 * PAGE_SIZE;
	case KVM_GET_SUPPORTED_CPUID:
		return kvisor_get_supported_cpuid((void __user *)arg);
	case KVM_GET_MSR_INDEX_LIST:
		return kvisor_get_msr_index_list((void __user *)arg);
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return kvisor_get_msr_feature_index_list((void __user *)arg);
	case KVM_GET_MSRS:
		return kvisor_get_feature_msrs((void __user *)arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED: {
		/* What KVM_X86_SETUP_MCE accepts besides the count. */
		u64 mcg_cap = kvisor_mce_cap_supported();

		return copy_to_user((void __user *)arg, &mcg_cap,
				    sizeof(mcg_cap)) ? -EFAULT : 0;
	}
#ifdef KVM_TRACE_ENABLE
	/* Gone from later kernels' KVM, which then answer -EINVAL. */
	case KVM_TRACE_ENABLE:
	case KVM_TRACE_PAUSE:
	case KVM_TRACE_DISABLE:
		return -EOPNOTSUPP;
#endif
	default:
		/* KVM answers unknown system ioctls with -EINVAL, not -ENOTTY */
		return -EINVAL;
	}
}

static const struct file_operations kvisor_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvisor_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvisor_dev = {
	.fops	= &kvisor_dev_fops,
	.mode	= 0660,
};

static void kvisor_check_cpu_in_use(void *busy)
{
	if (kvisor_ops->cpu_in_use())
		atomic_inc(busy);
}

/* Try each backend in turn; the first whose extension exists decides. */
static int kvisor_pick_backend(void)
{
	static const struct kvisor_vendor_ops *const backends[] = {
		&kvisor_vmx_ops, &kvisor_svm_ops,
	};
	const char *why = NULL;
	int i, r = -ENODEV;

	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		r = backends[i]->probe(&kvisor_caps, &why);
		if (r != -ENODEV)
			break;
	}
	if (r == -ENODEV) {
		pr_err("no usable virtualization: neither VMX nor SVM is present\n");
		return r;
	}
	if (r) {
		pr_err("%s cannot be used: %s\n", backends[i]->name, why);
		return r;
	}
	kvisor_ops = backends[i];
	return 0;
}

static int __init kvisor_init(void)
{
	atomic_t busy = ATOMIC_INIT(0);
	int r;

	r = kvisor_pick_backend();
	if (r)
		return r;

	/*
	 * Another hypervisor (kvm_intel, kvm_amd, VirtualBox...) that has
	 * switched the extension on owns it: switching it off under that
	 * hypervisor's guests would crash them.
	 */
	on_each_cpu(kvisor_check_cpu_in_use, &busy, 1);
	if (atomic_read(&busy)) {
		pr_err("%s is held by another hypervisor on %d CPU(s); unload it first\n",
		       kvisor_caps.vendor, atomic_read(&busy));
		return -EBUSY;
	}

	r = kvisor_ops->setup ? kvisor_ops->setup() : 0;
	if (r)
		return r;
	r = kvisor_l1d_init();
	if (r)
		goto unsetup;
	r = kvisor_enable_init();
	if (r)
		goto l1d_exit;
	kvisor_debugfs_init();

	/* Keep the well-known KVM minor under its usual name: udev knows it. */
	kvisor_dev.name = devname;
	kvisor_dev.minor = strcmp(devname, "kvm") ? MISC_DYNAMIC_MINOR :
						    KVM_MINOR;
	r = misc_register(&kvisor_dev);
	if (r) {
		pr_err("cannot register /dev/%s (%d): is another hypervisor module (kvm) loaded?\n",
		       devname, r);
		goto enable_exit;
	}
	pr_info("version %s, %s (%s), /dev/%s ready\n", KVISOR_VERSION,
		kvisor_caps.vendor, kvisor_caps.features, devname);
	return 0;

enable_exit:
	kvisor_debugfs_exit();
	kvisor_enable_exit();
l1d_exit:
	kvisor_l1d_exit();
unsetup:
	if (kvisor_ops->unsetup)
		kvisor_ops->unsetup();
	return r;
}

static void __exit kvisor_exit(void)
{
	misc_deregister(&kvisor_dev);
	kvisor_debugfs_exit();
	kvisor_enable_exit();
	kvisor_l1d_exit();
	if (kvisor_ops->unsetup)
		kvisor_ops->unsetup();
	pr_info("unloaded\n");
}

module_init(kvisor_init);
module_exit(kvisor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kvisor: a /dev/kvm-compatible hypervisor for VMX and SVM");
MODULE_VERSION(KVISOR_VERSION);
