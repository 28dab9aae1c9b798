// SPDX-License-Identifier: GPL-2.0
/*
 * L1 Terminal Fault across VM entry: the L1D flush before entering a
 * guest, where the host's L1TF mitigation asks for one (Intel's "L1
 * Terminal Fault" guidance; Documentation/admin-guide/hw-vuln/l1tf.rst
 * in the kernel).  A guest can make the CPU read, speculatively, any
 * host data still in the L1 data cache through a non-present guest PTE,
 * EPT notwithstanding; flushing L1D before the entry leaves nothing of
 * the host's there.
 *
 * The module parameter is KVM's, by name, values and meaning:
 * vmentry_l1d_flush=auto|never|cond|always, read back as the mode in
 * force ("not required" on a CPU the host found unaffected or that
 * says it needs no flush, ARCH_CAPABILITIES.SKIP_VMENTRY_L1DFLUSH).
 * "auto" takes the host's choice: kvm_intel's, if it is loaded and made
 * one (l1tf_vmx_mitigation), else what KVM would derive from the kernel's
 * l1tf= mode; l1tf=full,force forces "always", as in KVM.
 *
 * "cond" is KVM's conditional policy: flush only if, since the last
 * entry, something may have brought host secrets into L1D: the vCPU went
 * back to userspace (a new KVM_RUN), its task was switched out (another
 * task ran, or the vCPU moved to another CPU), the kernel emulated one of
 * its instructions, or an interrupt, softirq or NMI ran on this CPU (the
 * kernel's own entry code marks that, irq_stat.kvm_cpu_l1tf_flush_l1d).
 * Exits handled without any of those (CPUID, MSRs, nested page faults)
 * touch only data that is not secret, and re-enter without a flush.
 *
 * The mode is published in l1tf_vmx_mitigation, which
 * /sys/devices/system/cpu/vulnerabilities/l1tf reports, unless kvm_intel
 * holds it.  Only VMX calls kvisor_l1d_flush_irqoff(): no AMD CPU has
 * L1TF.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/hardirq.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/vmx.h>

#include "core/kvisor.h"

/*
 * The software fill reads 64 KiB: the L1D of every affected CPU is
 * 32 KiB, but its replacement is not exactly LRU, so twice that is what
 * it takes to evict everything (Intel's guidance, and KVM's size).
 */
#define KVISOR_L1D_ORDER	4
#define KVISOR_L1D_SIZE		(PAGE_SIZE << KVISOR_L1D_ORDER)
#define KVISOR_L1D_LINE		64

static const char *const kvisor_l1d_names[] = {
	[VMENTER_L1D_FLUSH_AUTO]		= "auto",
	[VMENTER_L1D_FLUSH_NEVER]		= "never",
	[VMENTER_L1D_FLUSH_COND]		= "cond",
	[VMENTER_L1D_FLUSH_ALWAYS]		= "always",
	[VMENTER_L1D_FLUSH_EPT_DISABLED]	= "EPT disabled",
	[VMENTER_L1D_FLUSH_NOT_REQUIRED]	= "not required",
};

static DEFINE_MUTEX(kvisor_l1d_lock);
/* The mode in force; "auto" until kvisor_l1d_init() decided. */
static enum vmx_l1d_flush_state kvisor_l1d_mode = VMENTER_L1D_FLUSH_AUTO;
/* What the parameter said at load, for kvisor_l1d_init(). */
static enum vmx_l1d_flush_state kvisor_l1d_param = VMENTER_L1D_FLUSH_AUTO;
/* The software fill's buffer, where the CPU has no IA32_FLUSH_CMD. */
static void *kvisor_l1d_pages;
/* kvisor's mode is what l1tf_vmx_mitigation says (not kvm_intel's). */
static bool kvisor_l1d_published;

/* The mode for a wish: KVM's vmx_setup_l1d_flush(), EPT being a given. */
static enum vmx_l1d_flush_state
kvisor_l1d_choose(enum vmx_l1d_flush_state want)
{
	enum vmx_l1d_flush_state host = READ_ONCE(l1tf_vmx_mitigation);
	u64 caps;

	if (!boot_cpu_has_bug(X86_BUG_L1TF))
		return VMENTER_L1D_FLUSH_NOT_REQUIRED;
	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES)) {
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, caps);
		if (caps & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH)
			return VMENTER_L1D_FLUSH_NOT_REQUIRED;
	}
	if (l1tf_mitigation == L1TF_MITIGATION_FULL_FORCE)
		return VMENTER_L1D_FLUSH_ALWAYS;
	if (want != VMENTER_L1D_FLUSH_AUTO)
		return want;
	/* kvm_intel's own choice, from its parameter of the same name. */
	if (!kvisor_l1d_published &&
	    (host == VMENTER_L1D_FLUSH_NEVER ||
	     host == VMENTER_L1D_FLUSH_COND ||
	     host == VMENTER_L1D_FLUSH_ALWAYS))
		return host;
	switch (l1tf_mitigation) {
	case L1TF_MITIGATION_OFF:
		return VMENTER_L1D_FLUSH_NEVER;
	case L1TF_MITIGATION_FULL:
	case L1TF_MITIGATION_FULL_FORCE:
		return VMENTER_L1D_FLUSH_ALWAYS;
	default:
		return VMENTER_L1D_FLUSH_COND;
	}
}

/* Under kvisor_l1d_lock: put a wish in force. */
static int kvisor_l1d_apply(enum vmx_l1d_flush_state want)
{
	enum vmx_l1d_flush_state mode = kvisor_l1d_choose(want);
	enum vmx_l1d_flush_state host = READ_ONCE(l1tf_vmx_mitigation);
	struct page *page;
	unsigned int i;

	if ((mode == VMENTER_L1D_FLUSH_COND ||
	     mode == VMENTER_L1D_FLUSH_ALWAYS) &&
	    !boot_cpu_has(X86_FEATURE_FLUSH_L1D) && !kvisor_l1d_pages) {
		/* The host's, for the module's life: not charged to a VMM. */
		page = alloc_pages(GFP_KERNEL, KVISOR_L1D_ORDER);
		if (!page)
			return -ENOMEM;
		/* A pattern per page, so that no page is shared (KSM). */
		for (i = 0; i < 1U << KVISOR_L1D_ORDER; i++)
			memset(page_address(page) + i * PAGE_SIZE, i + 1,
			       PAGE_SIZE);
		kvisor_l1d_pages = page_address(page);
	}
	/* The pages are there before a vCPU can see a mode that reads them. */
	smp_store_release(&kvisor_l1d_mode, mode);

	if (host == VMENTER_L1D_FLUSH_AUTO || kvisor_l1d_published) {
		WRITE_ONCE(l1tf_vmx_mitigation, mode);
		kvisor_l1d_published = true;
	}
	return 0;
}

int kvisor_l1d_init(void)
{
	int r;

	mutex_lock(&kvisor_l1d_lock);
	r = kvisor_l1d_apply(kvisor_l1d_param);
	mutex_unlock(&kvisor_l1d_lock);
	return r;
}

void kvisor_l1d_exit(void)
{
	mutex_lock(&kvisor_l1d_lock);
	/* Give the sysfs line back, unless kvm_intel took it meanwhile. */
	if (kvisor_l1d_published &&
	    READ_ONCE(l1tf_vmx_mitigation) == kvisor_l1d_mode)
		WRITE_ONCE(l1tf_vmx_mitigation, VMENTER_L1D_FLUSH_AUTO);
	kvisor_l1d_published = false;
	kvisor_l1d_mode = VMENTER_L1D_FLUSH_AUTO;
	if (kvisor_l1d_pages)
		free_pages((unsigned long)kvisor_l1d_pages, KVISOR_L1D_ORDER);
	kvisor_l1d_pages = NULL;
	mutex_unlock(&kvisor_l1d_lock);
}

/* What userspace may write: the first four names (KVM's for_parse). */
static int kvisor_l1d_parse(const char *s)
{
	int i;

	for (i = VMENTER_L1D_FLUSH_AUTO; i <= VMENTER_L1D_FLUSH_ALWAYS; i++)
		if (sysfs_streq(s, kvisor_l1d_names[i]))
			return i;
	return -EINVAL;
}

/*
 * As KVM: a name it does not know is -EINVAL; on a CPU without L1TF any
 * known name is taken and changes nothing; before kvisor_l1d_init() (a
 * parameter given at load) it is kept for then.
 */
static int kvisor_l1d_param_set(const char *s, const struct kernel_param *kp)
{
	int want = kvisor_l1d_parse(s);
	int r = 0;

	if (want < 0)
		return want;
	if (!boot_cpu_has_bug(X86_BUG_L1TF))
		return 0;
	mutex_lock(&kvisor_l1d_lock);
	if (kvisor_l1d_mode == VMENTER_L1D_FLUSH_AUTO)
		kvisor_l1d_param = want;
	else
		r = kvisor_l1d_apply(want);
	mutex_unlock(&kvisor_l1d_lock);
	return r;
}

static int kvisor_l1d_param_get(char *s, const struct kernel_param *kp)
{
	enum vmx_l1d_flush_state mode = READ_ONCE(kvisor_l1d_mode);

	if (mode >= ARRAY_SIZE(kvisor_l1d_names))
		return -EINVAL;
	return scnprintf(s, PAGE_SIZE, "%s\n", kvisor_l1d_names[mode]);
}

static const struct kernel_param_ops kvisor_l1d_param_ops = {
	.set = kvisor_l1d_param_set,
	.get = kvisor_l1d_param_get,
};
module_param_cb(vmentry_l1d_flush, &kvisor_l1d_param_ops, NULL, 0644);
MODULE_PARM_DESC(vmentry_l1d_flush,
		 "L1D flush on VM entry (L1TF): auto, never, cond or always");

/* Whether the guest's L1TF may expose host secrets (ARCH_CAPABILITIES). */
bool kvisor_l1d_flush_never(void)
{
	return READ_ONCE(kvisor_l1d_mode) == VMENTER_L1D_FLUSH_NEVER;
}

/*
 * "cond": did anything since the last entry bring host data into L1D?
 * Consumes the marks, whatever the answer.
 */
static bool kvisor_l1d_due(struct kvisor_vcpu *vcpu)
{
	unsigned long switches = current->nvcsw + current->nivcsw;
	bool due = vcpu->spec.l1d_dirty;

	vcpu->spec.l1d_dirty = false;
	/* KVM's sched_in hook: another task ran here, or the vCPU moved. */
	if (switches != vcpu->spec.switches) {
		vcpu->spec.switches = switches;
		due = true;
	}
#if IS_ENABLED(CONFIG_KVM_INTEL)
	/* Set by the kernel's interrupt, softirq and NMI entry code. */
	due |= kvm_get_cpu_l1tf_flush_l1d();
	kvm_clear_cpu_l1tf_flush_l1d();
#else
	/* Without KVM_INTEL the kernel keeps no such mark: assume one. */
	due = true;
#endif
	return due;
}

/*
 * Fill L1D with the buffer's lines, evicting whatever was there: first
 * touch every page, so that the fill itself takes no TLB miss (a page
 * walk would bring page tables into L1D), then serialize, then read a
 * byte of every 64-byte line, and let no later load pass the fill.
 */
static void kvisor_l1d_fill(const u8 *buf)
{
	unsigned int eax = 0, ebx, ecx = 0, edx;
	unsigned long off;

	for (off = 0; off < KVISOR_L1D_SIZE; off += PAGE_SIZE)
		(void)READ_ONCE(buf[off]);
	native_cpuid(&eax, &ebx, &ecx, &edx);
	for (off = 0; off < KVISOR_L1D_SIZE; off += KVISOR_L1D_LINE)
		(void)READ_ONCE(buf[off]);
	/* LFENCE: the entry's loads wait for the fill (no barrier pairs). */
	rmb();
}

/*
 * Right before VM entry, interrupts off: flush L1D if the mode says so
 * (KVM's vmx_l1d_flush()), with IA32_FLUSH_CMD where the CPU has it, else
 * the software fill.  Counted in debugfs ("spec": l1d_flush).
 */
void kvisor_l1d_flush_irqoff(struct kvisor_vcpu *vcpu)
{
	/* Pairs with kvisor_l1d_apply(): the fill's pages are there. */
	enum vmx_l1d_flush_state mode = smp_load_acquire(&kvisor_l1d_mode);

	if (mode != VMENTER_L1D_FLUSH_COND && mode != VMENTER_L1D_FLUSH_ALWAYS)
		return;
	if (mode == VMENTER_L1D_FLUSH_COND && !kvisor_l1d_due(vcpu))
		return;
	vcpu->spec.l1d_flush++;
	if (boot_cpu_has(X86_FEATURE_FLUSH_L1D))
		wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
	else
		kvisor_l1d_fill(kvisor_l1d_pages);
}
