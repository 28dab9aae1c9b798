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
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "core/kvisor.h"

/* KVM's KVM_STATS_NAME_SIZE, a kernel-internal constant. */
#define KVISOR_STATS_NAME_SIZE	48

/* KVM's STATS_DESC_COUNTER, _TIME_NSEC, _LOGHIST_TIME_NSEC, _IBOOLEAN... */
#define KVISOR_COUNTER	(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | \
			 KVM_STATS_BASE_POW10)
#define KVISOR_TIME_NS	(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS | \
			 KVM_STATS_BASE_POW10)
#define KVISOR_HIST_NS	(KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS | \
			 KVM_STATS_BASE_POW10)
#define KVISOR_BOOLEAN	(KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN | \
			 KVM_STATS_BASE_POW10)
#define KVISOR_ICOUNTER	(KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_NONE | \
			 KVM_STATS_BASE_POW10)

/**
 * struct kvisor_stat - one statistic as the stats fd describes it
 * @name:	KVM's name where KVM counts the same thing
 * @flags:	KVM_STATS_TYPE_*, _UNIT_* and _BASE_*
 * @exponent:	of the unit: -9 for nanoseconds
 * @size:	number of u64 values (the buckets of a histogram)
 * @offset:	where the vCPU keeps them, in struct kvisor_vcpu
 */
struct kvisor_stat {
	const char *name;
	u32 flags;
	s16 exponent;
	u16 size;
	u32 offset;
};

#define KVISOR_EXIT_STAT(n, c) { .name = n, .flags = KVISOR_COUNTER, \
	.size = 1, .offset = offsetof(struct kvisor_vcpu, exits[c]) }
#define KVISOR_STAT(f, fl, e, sz) { .name = #f, .flags = fl, .exponent = e, \
	.size = sz, .offset = offsetof(struct kvisor_vcpu, stat.f) }
#define KVISOR_STAT_COUNTER(f)	KVISOR_STAT(f, KVISOR_COUNTER, 0, 1)
#define KVISOR_STAT_TIME_NS(f)	KVISOR_STAT(f, KVISOR_TIME_NS, -9, 1)
#define KVISOR_STAT_HIST_NS(f)	KVISOR_STAT(f, KVISOR_HIST_NS, -9, \
					    KVISOR_HALT_HIST)

/*
 * KVM's names (KVM_GENERIC_VCPU_STATS() and arch/x86/kvm/x86.c) where
 * KVM counts the same thing, so tools written for KVM find them;
 * kvisor's own names for the rest.  Where the count differs from KVM's:
 * io_exits and mmio_exits count every port and MMIO exit, also those an
 * in-kernel device completes (KVM counts only those that reach
 * userspace); irq_injections counts each interrupt once, where KVM also
 * counts the re-injection of one whose delivery was cut short; and
 * insn_emulation counts every run of the emulator, including the second
 * run of an MMIO read once userspace supplied the data (KVM also counts
 * the instructions it skips with its emulator, on SVM without NRIPS).
 * halt_poll_invalid stays 0, as on x86 KVM: every wake-up is valid.
 * pf_emulate counts every MMIO access (each is a nested page fault here),
 * KVM only the first at an address, which leaves an MMIO entry behind;
 * host_state_reload only the puts with state to put back (VMX's).
 */
static const struct kvisor_stat kvisor_vcpu_stats[] = {
	KVISOR_STAT_COUNTER(halt_successful_poll),
	KVISOR_STAT_COUNTER(halt_attempted_poll),
	KVISOR_STAT_COUNTER(halt_poll_invalid),
	KVISOR_STAT_COUNTER(halt_wakeup),
	KVISOR_STAT_TIME_NS(halt_poll_success_ns),
	KVISOR_STAT_TIME_NS(halt_poll_fail_ns),
	KVISOR_STAT_TIME_NS(halt_wait_ns),
	KVISOR_STAT_HIST_NS(halt_poll_success_hist),
	KVISOR_STAT_HIST_NS(halt_poll_fail_hist),
	KVISOR_STAT_HIST_NS(halt_wait_hist),
	KVISOR_STAT(blocking, KVISOR_BOOLEAN, 0, 1),
	KVISOR_STAT_COUNTER(pf_taken),
	KVISOR_STAT_COUNTER(pf_fixed),
	KVISOR_STAT_COUNTER(pf_emulate),
	{ .name = "exits", .flags = KVISOR_COUNTER, .size = 1,
	  .offset = offsetof(struct kvisor_vcpu, nr_exits) },
	KVISOR_EXIT_STAT("io_exits", KVISOR_EXIT_IO),
	KVISOR_EXIT_STAT("mmio_exits", KVISOR_EXIT_MMIO),
	KVISOR_STAT_COUNTER(signal_exits),
	KVISOR_EXIT_STAT("irq_window_exits", KVISOR_EXIT_IRQ_WINDOW),
	KVISOR_EXIT_STAT("nmi_window_exits", KVISOR_EXIT_NMI_WINDOW),
	{ .name = "l1d_flush", .flags = KVISOR_COUNTER, .size = 1,
	  .offset = offsetof(struct kvisor_vcpu, spec.l1d_flush) },
	KVISOR_EXIT_STAT("halt_exits", KVISOR_EXIT_HLT),
	KVISOR_STAT_COUNTER(request_irq_exits),
	KVISOR_EXIT_STAT("irq_exits", KVISOR_EXIT_INTR),
	KVISOR_EXIT_STAT("pause_exits", KVISOR_EXIT_PAUSE),
	KVISOR_STAT_COUNTER(insn_emulation),
	KVISOR_STAT_COUNTER(insn_emulation_fail),
	KVISOR_STAT_COUNTER(hypercalls),
	KVISOR_STAT_COUNTER(irq_injections),
	KVISOR_STAT_COUNTER(nmi_injections),
	KVISOR_STAT_COUNTER(directed_yield_attempted),
	KVISOR_STAT_COUNTER(directed_yield_successful),
	KVISOR_STAT_COUNTER(preemption_reported),
	KVISOR_STAT_COUNTER(preemption_other),
	KVISOR_STAT_COUNTER(host_state_reload),
	KVISOR_STAT_COUNTER(tlb_flush),
	KVISOR_STAT_COUNTER(req_event),
	KVISOR_STAT_COUNTER(fpu_reload),
	KVISOR_STAT_COUNTER(pv_tlb_flush),
	KVISOR_STAT_COUNTER(emulated_gpa_from_exit),
	KVISOR_EXIT_STAT("cpuid_exits", KVISOR_EXIT_CPUID),
	KVISOR_EXIT_STAT("msr_exits", KVISOR_EXIT_MSR),
	KVISOR_EXIT_STAT("nested_page_fault_exits", KVISOR_EXIT_TDP_FAULT),
	KVISOR_EXIT_STAT("shutdown_exits", KVISOR_EXIT_SHUTDOWN),
	KVISOR_EXIT_STAT("other_exits", KVISOR_EXIT_OTHER),
};

/*
 * As KVM counts them: every request to flush the vCPUs' translations,
 * the flushes that had to interrupt a vCPU in the guest (mm/tdp.c), and
 * the nested mappings of each size there are now.
 */
static const struct kvisor_stat kvisor_vm_stats[] = {
	{ .name = "remote_tlb_flush", .flags = KVISOR_COUNTER, .size = 1 },
	{ .name = "remote_tlb_flush_requests", .flags = KVISOR_COUNTER,
	  .size = 1 },
	{ .name = "pages_4k", .flags = KVISOR_ICOUNTER, .size = 1 },
	{ .name = "pages_2m", .flags = KVISOR_ICOUNTER, .size = 1 },
	{ .name = "pages_1g", .flags = KVISOR_ICOUNTER, .size = 1 },
};

static_assert(KVISOR_MAX_MAP_LEVEL == 3);

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
 * @data_size:	bytes of values
 * @image:	header, id string and descriptors, as read
 */
struct kvisor_stats_file {
	struct kvisor_vm *vm;
	struct kvisor_vcpu *vcpu;
	u32 data_offset;
	u32 num_desc;
	u32 data_size;
	u8 image[];
};

static void kvisor_stats_table(struct kvisor_vcpu *vcpu,
			       const struct kvisor_stat **table, u32 *num)
{
	*table = vcpu ? kvisor_vcpu_stats : kvisor_vm_stats;
	*num = vcpu ? ARRAY_SIZE(kvisor_vcpu_stats) :
		      ARRAY_SIZE(kvisor_vm_stats);
}

/* The values, in table order: the VM's (kvisor_vm_stats), or a vCPU's. */
static void kvisor_stats_fill(struct kvisor_vm *vm, struct kvisor_vcpu *vcpu,
			      u64 *data)
{
	const struct kvisor_stat *st;
	u32 i, j;

	if (!vcpu) {
		data[0] = atomic_long_read(&vm->remote_tlb_flush);
		data[1] = atomic_long_read(&vm->remote_tlb_flush_requests);
		spin_lock(&vm->tdp.lock);
		for (i = 0; i < KVISOR_MAX_MAP_LEVEL; i++)
			data[2 + i] = vm->tdp.nr_leaves[i];
		spin_unlock(&vm->tdp.lock);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(kvisor_vcpu_stats); i++) {
		st = &kvisor_vcpu_stats[i];
		for (j = 0; j < st->size; j++)
			*data++ = READ_ONCE(((u64 *)((u8 *)vcpu +
						    st->offset))[j]);
	}
}

/*
 * debugfs's "stats" file of a VM or vCPU (core/debugfs.c): one line per
 * statistic, "name value", or a histogram's buckets after its name.
 */
void kvisor_stats_show(struct kvisor_vm *vm, struct kvisor_vcpu *vcpu,
		       struct seq_file *m)
{
	const struct kvisor_stat *table;
	u32 num, i, j, total = 0;
	u64 *data, *v;

	kvisor_stats_table(vcpu, &table, &num);
	for (i = 0; i < num; i++)
		total += table[i].size;
	data = kmalloc_array(total, sizeof(*data), GFP_KERNEL);
	if (!data)
		return;
	kvisor_stats_fill(vm, vcpu, data);
	for (i = 0, v = data; i < num; i++) {
		seq_printf(m, "%-26s", table[i].name);
		for (j = 0; j < table[i].size; j++)
			seq_printf(m, " %llu", *v++);
		seq_putc(m, '\n');
	}
	kfree(data);
}

/*
 * Any offset and length may be read, as with KVM: the header, id and
 * descriptors come from the image, the values from the counters now.
 */
static ssize_t kvisor_stats_read(struct file *file, char __user *buf,
				 size_t size, loff_t *ppos)
{
	struct kvisor_stats_file *sf = file->private_data;
	size_t total = sf->data_offset + sf->data_size;
	loff_t pos = *ppos;
	size_t len, n;
	u64 *data;

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
		data = kmalloc(sf->data_size, GFP_KERNEL);
		if (!data)
			return -ENOMEM;
		kvisor_stats_fill(sf->vm, sf->vcpu, data);
		n = copy_to_user(buf + n,
				 (u8 *)data + (pos + n - sf->data_offset),
				 len - n);
		kfree(data);
		if (n)
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
	const struct kvisor_stat *table;
	u32 num, values = 0;
	u32 desc_offset = sizeof(struct kvm_stats_header) + KVISOR_STATS_NAME_SIZE;
	u32 data_offset;
	struct kvisor_stats_file *sf;
	struct kvm_stats_header *hdr;
	struct kvisor_stats_desc *d;
	char *id;
	u32 i;

	kvisor_stats_table(vcpu, &table, &num);
	data_offset = desc_offset + num * sizeof(struct kvisor_stats_desc);
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
		d->desc.flags = table[i].flags;
		d->desc.exponent = table[i].exponent;
		d->desc.size = table[i].size;
		d->desc.offset = values * sizeof(u64);
		d->desc.bucket_size = 0;
		strscpy(d->name, table[i].name, sizeof(d->name));
		values += table[i].size;
	}
	sf->data_size = values * sizeof(u64);
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
