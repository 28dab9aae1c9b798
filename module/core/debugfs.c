// SPDX-License-Identifier: GPL-2.0
/*
 * What a running guest looks like from the host, in debugfs:
 *
 *   /sys/kernel/debug/kvisor/vm-<pid>-<n>/vcpu<id>/exits
 *	the vCPU's exits, by vendor-neutral class, since its creation
 *   /sys/kernel/debug/kvisor/vm-<pid>-<n>/stats, .../vcpu<id>/stats
 *	what the VM's and the vCPU's stats fds show (core/stats.c), as
 *	"name value" lines; a histogram's buckets follow its name
 *   /sys/kernel/debug/kvisor/vm-<pid>-<n>/vcpu<id>/state
 *	the VMCS or VMCB, decoded field by field by the backend
 *   /sys/kernel/debug/kvisor/vm-<pid>-<n>/vcpu<id>/irq
 *	mp_state, pending requests and NMIs, and the in-kernel LAPIC's
 *	state (kvisor_lapic_dump(), irq/lapic.c)
 *
 * Reading "state" takes the vCPU's mutex, like a vCPU ioctl: it waits
 * while KVM_RUN is in the guest, and never sees a half-switched vCPU.
 * Reading "irq" does not, so that it answers while KVM_RUN sleeps in HLT.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "core/kvisor.h"

static struct dentry *kvisor_debugfs_root;
static atomic_t kvisor_vm_seq = ATOMIC_INIT(0);

static const char *const exit_class_names[KVISOR_NR_EXIT_CLASSES] = {
	[KVISOR_EXIT_IO]	= "io",
	[KVISOR_EXIT_MMIO]	= "mmio",
	[KVISOR_EXIT_TDP_FAULT]	= "nested_page_fault",
	[KVISOR_EXIT_HLT]	= "hlt",
	[KVISOR_EXIT_CPUID]	= "cpuid",
	[KVISOR_EXIT_MSR]	= "msr",
	[KVISOR_EXIT_INTR]	= "host_interrupt",
	[KVISOR_EXIT_SHUTDOWN]	= "shutdown",
	[KVISOR_EXIT_IRQ_WINDOW] = "interrupt_window",
	[KVISOR_EXIT_PAUSE]	= "pause",
	[KVISOR_EXIT_NMI_WINDOW] = "nmi_window",
	[KVISOR_EXIT_OTHER]	= "other",
};

static int kvisor_exits_show(struct seq_file *m, void *unused)
{
	struct kvisor_vcpu *vcpu = m->private;
	int i;

	seq_printf(m, "%-20s %llu\n", "total", READ_ONCE(vcpu->nr_exits));
	for (i = 0; i < KVISOR_NR_EXIT_CLASSES; i++)
		seq_printf(m, "%-20s %llu\n", exit_class_names[i],
			   READ_ONCE(vcpu->exits[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_exits);

static int kvisor_vcpu_stats_show(struct seq_file *m, void *unused)
{
	struct kvisor_vcpu *vcpu = m->private;

	kvisor_stats_show(vcpu->vm, vcpu, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_vcpu_stats);

static int kvisor_vm_stats_show(struct seq_file *m, void *unused)
{
	kvisor_stats_show(m->private, NULL, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_vm_stats);

/*
 * What the world switch did for speculation on this vCPU (core/spec.c):
 * the selftests read it to prove a path ran.
 */
static int kvisor_spec_show(struct seq_file *m, void *unused)
{
	struct kvisor_vcpu *vcpu = m->private;
	const struct kvisor_spec *sp = &vcpu->spec;

	seq_printf(m, "%-20s %llu\n", "ibpb", READ_ONCE(sp->ibpb));
	seq_printf(m, "%-20s %llu\n", "guest_ibpb", READ_ONCE(sp->guest_ibpb));
	seq_printf(m, "%-20s %llu\n", "verw", READ_ONCE(sp->verw));
	seq_printf(m, "%-20s %llu\n", "rsb_fill", READ_ONCE(sp->rsb_fill));
	seq_printf(m, "%-20s %llu\n", "rsb_one", READ_ONCE(sp->rsb_one));
	seq_printf(m, "%-20s %llu\n", "bhb_clear", READ_ONCE(sp->bhb_clear));
	seq_printf(m, "%-20s %llu\n", "ibpb_exit", READ_ONCE(sp->ibpb_exit));
	seq_printf(m, "%-20s %llu\n", "l1d_flush", READ_ONCE(sp->l1d_flush));
	seq_printf(m, "%-20s %d\n", "spec_ctrl_passthrough",
		   READ_ONCE(sp->ctrl_pass));
	seq_printf(m, "%-20s %d\n", "pred_cmd_passthrough",
		   READ_ONCE(sp->pred_cmd_pass));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_spec);

static int kvisor_state_show(struct seq_file *m, void *unused)
{
	struct kvisor_vcpu *vcpu = m->private;

	if (mutex_lock_interruptible(&vcpu->mutex))
		return -EINTR;
	seq_printf(m, "vcpu %d: rip %#llx rflags %#llx\n", vcpu->id,
		   vcpu->rip, vcpu->rflags);
	kvisor_ops->dump_state(vcpu, m);
	mutex_unlock(&vcpu->mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_state);

static const char *const mp_state_names[] = {
	[KVM_MP_STATE_RUNNABLE]		= "runnable",
	[KVM_MP_STATE_UNINITIALIZED]	= "uninitialized",
	[KVM_MP_STATE_INIT_RECEIVED]	= "init_received",
	[KVM_MP_STATE_HALTED]		= "halted",
	[KVM_MP_STATE_SIPI_RECEIVED]	= "sipi_received",
};

/*
 * Where the vCPU stands with interrupts, without its mutex: readable
 * while KVM_RUN sleeps in HLT, which is when one wants to know why.
 */
static int kvisor_irq_show(struct seq_file *m, void *unused)
{
	struct kvisor_vcpu *vcpu = m->private;
	u32 mp = READ_ONCE(vcpu->mp_state);

	seq_printf(m, "mp_state %s\nrequests %#lx\nin_guest %d on cpu %d\n",
		   mp < ARRAY_SIZE(mp_state_names) && mp_state_names[mp] ?
		   mp_state_names[mp] : "?", READ_ONCE(vcpu->requests),
		   READ_ONCE(vcpu->in_guest), READ_ONCE(vcpu->cpu));
	seq_printf(m, "nmi_pending %d\nnmi_queued %d\nrflags %#llx\n",
		   atomic_read(&vcpu->nmi_pending),
		   atomic_read(&vcpu->nmi_queued), READ_ONCE(vcpu->rflags));
	if (vcpu->apic)
		kvisor_lapic_dump(vcpu, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_irq);

/*
 * The VM's guest memory: its slots and how many nested mappings of each
 * size it has now (huge ones come from THP and hugetlbfs, mm/fault.c),
 * and how many huge ones were split (mm/tdp.c).
 */
static int kvisor_memory_show(struct seq_file *m, void *unused)
{
	struct kvisor_vm *vm = m->private;
	unsigned long leaves[KVISOR_MAX_MAP_LEVEL], splits;
	int nr = READ_ONCE(vm->nr_memslots);

	spin_lock(&vm->tdp.lock);
	memcpy(leaves, vm->tdp.nr_leaves, sizeof(leaves));
	splits = vm->tdp.nr_splits;
	spin_unlock(&vm->tdp.lock);
	seq_printf(m, "slots %d\nmapped 4K %lu\nmapped 2M %lu\nmapped 1G %lu\n",
		   nr, leaves[0], leaves[1], leaves[2]);
	/* Huge leaves split since the VM began (dirty logging, invalidations) */
	seq_printf(m, "split %lu\n", splits);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvisor_memory);

void kvisor_debugfs_vm_init(struct kvisor_vm *vm)
{
	char name[48];

	if (IS_ERR_OR_NULL(kvisor_debugfs_root))
		return;
	snprintf(name, sizeof(name), "vm-%d-%d", task_pid_nr(current),
		 atomic_inc_return(&kvisor_vm_seq));
	vm->debugfs = debugfs_create_dir(name, kvisor_debugfs_root);
	debugfs_create_file("memory", 0444, vm->debugfs, vm,
			    &kvisor_memory_fops);
	debugfs_create_file("stats", 0444, vm->debugfs, vm,
			    &kvisor_vm_stats_fops);
}

/*
 * The vCPU lives as long as its VM, and the VM's directory goes first
 * (kvisor_debugfs_vm_exit()), so the files never outlive what they show.
 */
void kvisor_debugfs_vcpu_init(struct kvisor_vcpu *vcpu)
{
	struct dentry *dir;
	char name[16];

	if (IS_ERR_OR_NULL(vcpu->vm->debugfs))
		return;
	snprintf(name, sizeof(name), "vcpu%d", vcpu->id);
	dir = debugfs_create_dir(name, vcpu->vm->debugfs);
	debugfs_create_file("exits", 0444, dir, vcpu, &kvisor_exits_fops);
	debugfs_create_file("stats", 0444, dir, vcpu, &kvisor_vcpu_stats_fops);
	debugfs_create_file("irq", 0400, dir, vcpu, &kvisor_irq_fops);
	debugfs_create_file("spec", 0444, dir, vcpu, &kvisor_spec_fops);
	if (kvisor_ops->dump_state)
		debugfs_create_file("state", 0400, dir, vcpu,
				    &kvisor_state_fops);
}

void kvisor_debugfs_vm_exit(struct kvisor_vm *vm)
{
	debugfs_remove_recursive(vm->debugfs);
	vm->debugfs = NULL;
}

void kvisor_debugfs_init(void)
{
	kvisor_debugfs_root = debugfs_create_dir("kvisor", NULL);
}

void kvisor_debugfs_exit(void)
{
	debugfs_remove_recursive(kvisor_debugfs_root);
}
