// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual machines: creation, the VM file descriptor, and the capability
 * answers that KVM_CHECK_EXTENSION gives on both the system and VM fds.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/kvm.h>

#include "kvisor.h"

/*
 * QEMU treats every capability answered with a non-zero value as a promise,
 * so only those that fully work are listed here; everything else is 0.
 */
long kvisor_check_extension(struct kvisor_vm *vm, long cap)
{
	switch (cap) {
	case KVM_CAP_CHECK_EXTENSION_VM:
		return 1;
	default:
		return 0;
	}
}

static long kvisor_vm_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct kvisor_vm *vm = filp->private_data;

	/* A VM belongs to the address space that made it, as in KVM. */
	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CHECK_EXTENSION:
		return kvisor_check_extension(vm, arg);
	default:
		return -ENOTTY;
	}
}

static int kvisor_vm_release(struct inode *inode, struct file *filp)
{
	struct kvisor_vm *vm = filp->private_data;

	mmdrop(vm->mm);
	kfree(vm);
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

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	mutex_init(&vm->lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto free_vm;

	file = anon_inode_getfile("kvm-vm", &kvisor_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto free_vm;
	}
	fd_install(fd, file);
	return fd;

free_vm:
	mmdrop(vm->mm);
	kfree(vm);
	return fd;
}
