// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_STATS_FD: the binary statistics of a VM or a vCPU, in the layout
 * of KVM's api.rst ("KVM_GET_STATS_FD").  The file reads as
 *
 *	struct kvm_stats_header
 *	id string, KVM_STATS_NAME_SIZE bytes ("kvm-<pid>[/vcpu-<id>]")
 *	num_desc x (struct kvm_stats_desc + name of KVM_STATS_NAME_SIZE)
 *	num_desc x u64 values
 *
 * Everything but the values is fixed when the fd is made, so it is built
 * once into the fd's private image; the values are read from the live
 * counters on every read.  The counters are plain u64s their vCPU bumps
 * without a lock: a reader racing with it sees the old or the new value,
 * which is all KVM promises too.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kvisor.h"

/* KVM's KVM_STATS_NAME_SIZE, a kernel-internal constant. */
#define KVISOR_STATS_NAME_SIZE	48

#define KVISOR_STAT_FLAGS (KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | \
			   KVM_STATS_BASE_POW10)

/* Where a vCPU statistic comes from: an exit class, or every exit. */
#define KVISOR_STAT_ALL_EXITS	(-1)

struct kvisor_vcpu_stat {
	const char *name;
	int class;
};

/*
 * KVM's names (arch/x86/kvm/x86.c) where KVM counts the same thing, so
 * tools written for KVM find them; kvisor's own names for the rest.  As
 * differences: io_exits and mmio_exits count every port and MMIO exit,
 * also those an in-kernel device completes (KVM counts only those that
 * reach userspace), and irq_window_exits includes NMI-window exits.
 */
static const struct kvisor_vcpu_stat kvisor_vcpu_stats[] = {
	{ "exits",			KVISOR_STAT_ALL_EXITS },
	{ "io_exits",			KVISOR_EXIT_IO },
	{ "mmio_exits",			KVISOR_EXIT_MMIO },
	{ "halt_exits",			KVISOR_EXIT_HLT },
	{ "irq_window_exits",		KVISOR_EXIT_IRQ_WINDOW },
	{ "irq_exits",			KVISOR_EXIT_INTR },
	{ "pause_exits",		KVISOR_EXIT_PAUSE },
	{ "cpuid_exits",		KVISOR_EXIT_CPUID },
	{ "msr_exits",			KVISOR_EXIT_MSR },
	{ "nested_page_fault_exits",	KVISOR_EXIT_TDP_FAULT },
	{ "shutdown_exits",		KVISOR_EXIT_SHUTDOWN },
	{ "other_exits",		KVISOR_EXIT_OTHER },
};

/*
 * As KVM counts them: every request to flush the vCPUs' translations,
 * and the flushes that had to interrupt a vCPU in the guest (mm/tdp.c).
 */
static const char *const kvisor_vm_stats[] = {
	"remote_tlb_flush",
	"remote_tlb_flush_requests",
};

#define KVISOR_MAX_STATS	ARRAY_SIZE(kvisor_vcpu_stats)
static_assert(ARRAY_SIZE(kvisor_vm_stats) <= KVISOR_MAX_STATS);

struct kvisor_stats_desc {
	struct kvm_stats_desc desc;
	char name[KVISOR_STATS_NAME_SIZE];
};

/**
 * struct kvisor_stats_file - one stats fd
 * @vm:		its VM, of which a reference is held
 * @vcpu:	the vCPU shown, or NULL for the VM's own statistics
 * @data_offset: size of @image, where the values begin
 * @num_desc:	number of statistics
 * @image:	header, id string and descriptors, as read
 */
struct kvisor_stats_file {
	struct kvisor_vm *vm;
	struct kvisor_vcpu *vcpu;
	u32 data_offset;
	u32 num_desc;
	u8 image[];
};

static void kvisor_stats_fill(struct kvisor_stats_file *sf, u64 *data)
{
	struct kvisor_vcpu *vcpu = sf->vcpu;
	int i, class;

	if (!vcpu) {
		data[0] = atomic_long_read(&sf->vm->remote_tlb_flush);
		data[1] = atomic_long_read(&sf->vm->remote_tlb_flush_requests);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(kvisor_vcpu_stats); i++) {
		class = kvisor_vcpu_stats[i].class;
		data[i] = class == KVISOR_STAT_ALL_EXITS ?
			  READ_ONCE(vcpu->nr_exits) :
			  READ_ONCE(vcpu->exits[class]);
	}
}

/*
 * Any offset and length may be read, as with KVM: the header, id and
 * descriptors come from the image, the values from the counters now.
 */
static ssize_t kvisor_stats_read(struct file *file, char __user *buf,
				 size_t size, loff_t *ppos)
{
	struct kvisor_stats_file *sf = file->private_data;
	size_t total = sf->data_offset + sf->num_desc * sizeof(u64);
	u64 data[KVISOR_MAX_STATS];
	loff_t pos = *ppos;
	size_t len, n;

	if (pos < 0)
		return -EINVAL;
	if (pos >= total)
		return 0;
	len = min_t(size_t, size, total - pos);

	n = 0;
	if (pos < sf->data_offset) {
		n = min_t(size_t, len, sf->data_offset - pos);
		if (copy_to_user(buf, sf->image + pos, n))
			return -EFAULT;
	}
	if (n < len) {
		kvisor_stats_fill(sf, data);
		if (copy_to_user(buf + n, (u8 *)data + (pos + n - sf->data_offset),
				 len - n))
			return -EFAULT;
	}
	*ppos = pos + len;
	return len;
}

static int kvisor_stats_release(struct inode *inode, struct file *file)
{
	struct kvisor_stats_file *sf = file->private_data;

	kvisor_vm_put(sf->vm);
	kfree(sf);
	return 0;
}

static const struct file_operations kvisor_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= kvisor_stats_read,
	.release	= kvisor_stats_release,
	.llseek		= noop_llseek,
};

static struct kvisor_stats_file *kvisor_stats_alloc(struct kvisor_vm *vm,
						    struct kvisor_vcpu *vcpu)
{
	u32 num = vcpu ? ARRAY_SIZE(kvisor_vcpu_stats) :
			 ARRAY_SIZE(kvisor_vm_stats);
	u32 desc_offset = sizeof(struct kvm_stats_header) + KVISOR_STATS_NAME_SIZE;
	u32 data_offset = desc_offset + num * sizeof(struct kvisor_stats_desc);
	struct kvisor_stats_file *sf;
	struct kvm_stats_header *hdr;
	struct kvisor_stats_desc *d;
	char *id;
	u32 i;

	sf = kzalloc(sizeof(*sf) + data_offset, GFP_KERNEL_ACCOUNT);
	if (!sf)
		return NULL;
	sf->vm = vm;
	sf->vcpu = vcpu;
	sf->num_desc = num;
	sf->data_offset = data_offset;

	hdr = (void *)sf->image;
	hdr->flags = 0;
	hdr->name_size = KVISOR_STATS_NAME_SIZE;
	hdr->num_desc = num;
	hdr->id_offset = sizeof(*hdr);
	hdr->desc_offset = desc_offset;
	hdr->data_offset = data_offset;

	/* As KVM: named after the thread that created the VM or vCPU. */
	id = (char *)sf->image + hdr->id_offset;
	if (vcpu)
		snprintf(id, KVISOR_STATS_NAME_SIZE, "kvm-%d/vcpu-%d",
			 vcpu->creator, vcpu->id);
	else
		snprintf(id, KVISOR_STATS_NAME_SIZE, "kvm-%d", vm->creator);

	d = (void *)sf->image + desc_offset;
	for (i = 0; i < num; i++, d++) {
		d->desc.flags = KVISOR_STAT_FLAGS;
		d->desc.exponent = 0;
		d->desc.size = 1;
		d->desc.offset = i * sizeof(u64);
		d->desc.bucket_size = 0;
		strscpy(d->name, vcpu ? kvisor_vcpu_stats[i].name :
				kvisor_vm_stats[i], sizeof(d->name));
	}
	return sf;
}

/* The fd holds a reference on the VM, which keeps its vCPUs too. */
static int kvisor_stats_getfd(struct kvisor_vm *vm, struct kvisor_vcpu *vcpu)
{
	struct kvisor_stats_file *sf;
	struct file *file;
	char name[32];
	int fd;

	sf = kvisor_stats_alloc(vm, vcpu);
	if (!sf)
		return -ENOMEM;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kfree(sf);
		return fd;
	}
	if (vcpu)
		snprintf(name, sizeof(name), "kvm-vcpu-stats:%d", vcpu->id);
	else
		strscpy(name, "kvm-vm-stats", sizeof(name));
	file = anon_inode_getfile(name, &kvisor_stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kfree(sf);
		return PTR_ERR(file);
	}
	kref_get(&vm->refs);
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
}

int kvisor_vm_get_stats_fd(struct kvisor_vm *vm)
{
	return kvisor_stats_getfd(vm, NULL);
}

int kvisor_vcpu_get_stats_fd(struct kvisor_vcpu *vcpu)
{
	return kvisor_stats_getfd(vcpu->vm, vcpu);
}
