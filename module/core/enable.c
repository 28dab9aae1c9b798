// SPDX-License-Identifier: GPL-2.0
/*
 * The backend chosen at load (kvisor_ops, set once by main.c's probe and
 * read by everyone after), and switching VMX/SVM on and off in the host
 * CPUs.
 *
 * The extension is on only while at least one VM exists: the first VM
 * switches it on in every online CPU, the last one to go switches it off.
 * In between, a CPU that comes online gets it switched on too, and one
 * that goes offline, or a machine that reboots or suspends, gets it
 * switched off, so that no CPU is ever left in VMX operation (which blocks
 * INIT) or with EFER.SVME set once kvisor is gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/syscore_ops.h>
#include <linux/version.h>
#include <asm/reboot.h>

#include "core/kvisor.h"

const struct kvisor_vendor_ops *kvisor_ops;
struct kvisor_cpu_caps kvisor_caps;

static DEFINE_MUTEX(kvisor_hw_lock);
static int kvisor_hw_users;		/* VMs alive; under kvisor_hw_lock */
static DEFINE_PER_CPU(bool, kvisor_cpu_on);
static atomic_t kvisor_enable_failed;
static enum cpuhp_state kvisor_cpuhp_state;

static void kvisor_cpu_on_this(void *unused)
{
	if (this_cpu_read(kvisor_cpu_on) || !kvisor_ops->cpu_enable)
		return;
	if (kvisor_ops->cpu_enable()) {
		atomic_inc(&kvisor_enable_failed);
		return;
	}
	kvisor_tsc_aux_cpu_init();
	kvisor_xss_cpu_init();
	this_cpu_write(kvisor_cpu_on, true);
}

static void kvisor_cpu_off_this(void *unused)
{
	if (!this_cpu_read(kvisor_cpu_on))
		return;
	kvisor_ops->cpu_disable();
	this_cpu_write(kvisor_cpu_on, false);
}

/*
 * A reboot may go through INIT, which VMX operation blocks.  Set for good
 * once the machine goes down; the world switch and the exception fixups
 * of every VMX and SVM instruction read it.
 */
bool kvisor_rebooting;

/*
 * The exception tables of the backends lead here when a VMX or SVM
 * instruction faults (#UD, #GP): the extension is off in this CPU.  While
 * rebooting that is expected, since the reboot notifier or the emergency
 * path switched it off under a vCPU thread or an ioctl, and the
 * instruction is skipped (VMREAD reads 0, VMLAUNCH "fails"), as KVM's
 * kvm_spurious_fault().  Otherwise something switched it off behind
 * kvisor's back: KVM BUG()s there; kvisor says so loudly and goes on the
 * same way, which only fails the vCPU's next entries (the skipped
 * instruction changed nothing in the host).
 */
void kvisor_virt_fault(void)
{
	WARN_ONCE(!READ_ONCE(kvisor_rebooting),
		  "kvisor: VMX/SVM instruction faulted: the extension was switched off under kvisor\n");
}

/*
 * The kernel's emergency path (crash kexec, emergency restart) calls this
 * on every CPU, the others through an NMI, before it resets or jumps to a
 * new kernel: VMX blocks INIT, and a new kernel must find VMX and SVM
 * off.  Registered only while kvisor has the extension on, as KVM 6.12
 * does: the kernel takes one such callback at a time.
 */
static void kvisor_emergency_disable(void)
{
	WRITE_ONCE(kvisor_rebooting, true);
	if (kvisor_ops->emergency_disable)
		kvisor_ops->emergency_disable();
}

/*
 * Linux 6.1's kvm_intel holds the emergency callback from its load on,
 * whether it runs a VM or not (its own turns VMX off in every CPU, which
 * kvisor's would have done; SVM the 6.1 kernel switches off itself), and
 * registering a second one is a WARN: with KVM loaded, kvisor leaves it.
 * From 6.12 on KVM holds it only while it has the extension on, which
 * excludes kvisor's.
 */
static bool kvisor_emergency_registered;

static void kvisor_emergency_register(void)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
	void *kvm = __symbol_get("kvm_rebooting");

	if (kvm) {
		__symbol_put("kvm_rebooting");
		return;
	}
#endif
	cpu_emergency_register_virt_callback(kvisor_emergency_disable);
	kvisor_emergency_registered = true;
}

static void kvisor_emergency_unregister(void)
{
	if (!kvisor_emergency_registered)
		return;
	cpu_emergency_unregister_virt_callback(kvisor_emergency_disable);
	kvisor_emergency_registered = false;
}

int kvisor_get_hardware(void)
{
	int r = 0;

	cpus_read_lock();
	mutex_lock(&kvisor_hw_lock);
	if (READ_ONCE(kvisor_rebooting)) {
		r = -EBUSY;	/* the machine is going down */
	} else if (!kvisor_hw_users) {
		kvisor_emergency_register();
		atomic_set(&kvisor_enable_failed, 0);
		on_each_cpu(kvisor_cpu_on_this, NULL, 1);
		if (atomic_read(&kvisor_enable_failed)) {
			on_each_cpu(kvisor_cpu_off_this, NULL, 1);
			kvisor_emergency_unregister();
			pr_err("%s is held by another hypervisor; cannot run VMs\n",
			       kvisor_caps.vendor);
			r = -EBUSY;
		}
	}
	if (!r)
		kvisor_hw_users++;
	mutex_unlock(&kvisor_hw_lock);
	cpus_read_unlock();
	return r;
}

void kvisor_put_hardware(void)
{
	cpus_read_lock();
	mutex_lock(&kvisor_hw_lock);
	if (!--kvisor_hw_users) {
		on_each_cpu(kvisor_cpu_off_this, NULL, 1);
		kvisor_emergency_unregister();
	}
	mutex_unlock(&kvisor_hw_lock);
	cpus_read_unlock();
}

/* Hotplug callbacks run on the CPU concerned, with the hotplug lock held. */
static int kvisor_cpu_online(unsigned int cpu)
{
	int r = 0;

	mutex_lock(&kvisor_hw_lock);
	if (kvisor_hw_users) {
		local_irq_disable();
		atomic_set(&kvisor_enable_failed, 0);
		kvisor_cpu_on_this(NULL);
		r = atomic_read(&kvisor_enable_failed) ? -EBUSY : 0;
		local_irq_enable();
	}
	mutex_unlock(&kvisor_hw_lock);
	return r;
}

static int kvisor_cpu_offline(unsigned int cpu)
{
	local_irq_disable();
	kvisor_cpu_off_this(NULL);
	local_irq_enable();
	return 0;
}

static int kvisor_reboot(struct notifier_block *nb, unsigned long code,
			 void *unused)
{
	/*
	 * vCPUs check this with interrupts off right before they enter, and
	 * the IPIs below wait for interrupts on: no CPU enters a guest once
	 * its extension is off.
	 */
	WRITE_ONCE(kvisor_rebooting, true);
	on_each_cpu(kvisor_cpu_off_this, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block kvisor_reboot_nb = {
	.notifier_call = kvisor_reboot,
};

/* Syscore callbacks run on one CPU, the others already offline. */
static int kvisor_suspend(void)
{
	kvisor_cpu_off_this(NULL);
	return 0;
}

static void kvisor_resume(void)
{
	if (kvisor_hw_users)
		kvisor_cpu_on_this(NULL);
}

static struct syscore_ops kvisor_syscore_ops = {
	.suspend	= kvisor_suspend,
	.resume		= kvisor_resume,
};

int kvisor_enable_init(void)
{
	int r;

	r = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "kvisor:online",
				      kvisor_cpu_online, kvisor_cpu_offline);
	if (r < 0)
		return r;
	kvisor_cpuhp_state = r;
	register_reboot_notifier(&kvisor_reboot_nb);
	register_syscore_ops(&kvisor_syscore_ops);
	return 0;
}

void kvisor_enable_exit(void)
{
	unregister_syscore_ops(&kvisor_syscore_ops);
	unregister_reboot_notifier(&kvisor_reboot_nb);
	cpuhp_remove_state_nocalls(kvisor_cpuhp_state);
}
