// SPDX-License-Identifier: GPL-2.0
/*
 * VMX vCPUs: creating one with its VMCS's initial contents (host state,
 * controls, the guest's RESET state), freeing it, and one trip through
 * VMLAUNCH/VMRESUME (SDM Vol. 3, "VM Entries" and "VM Exits": what entry
 * loads and exit saves, and "Loading Host State", what the host must put
 * back by hand).  Where the VMCS is current is vmcs.c's business; event
 * injection is in events.c, the guest's registers in state.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/desc.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/debugreg.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "core/spec.h"
#include "vmx.h"

/* The power-on PAT: WB, WT, UC-, UC, repeated. */
#define PAT_RESET	0x0007040600070406ULL

const u32 vmx_switched_msrs[VMX_NR_SWITCHED_MSRS] = {
	MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
};

#define VMX_MSR_KERNEL_GS_BASE	0	/* index in the lists above */

/* Setup -------------------------------------------------------------- */

/* Host state that is the same on every CPU and for every entry. */
static void vmx_setup_host_state(void)
{
	u64 v;

	vmcs_writel(VMCS_HOST_CR0, read_cr0());
	vmcs_write16(VMCS_HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write16(VMCS_HOST_SS_SELECTOR, __KERNEL_DS);
	/* Null data selectors are legal in 64-bit mode; see vmx_run(). */
	vmcs_write16(VMCS_HOST_DS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_ES_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_FS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_GS_SELECTOR, 0);
	vmcs_write16(VMCS_HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_writel(VMCS_HOST_RIP, (unsigned long)kv_vmx_vmexit);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write32(VMCS_HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_writel(VMCS_HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_EFER, v);
	vmcs_write64(VMCS_HOST_IA32_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write64(VMCS_HOST_IA32_PAT, v);
}

static void vmx_setup_controls(struct vmx_vcpu *vmx, u64 msr_bitmap_pa)
{
	const struct vmx_config *c = &vmx_config;

	vmcs_write32(VMCS_PIN_CONTROLS, c->pin);
	vmcs_write32(VMCS_PROC_CONTROLS, c->proc);
	/*
	 * RDTSCP and RDPID, XSAVES and XRSTORS #UD until the guest's CPUID
	 * offers them.  Then XSAVES exits for no IA32_XSS bit: the guest's
	 * IA32_XSS is 0, and nothing it saves needs kvisor.
	 */
	vmcs_write32(VMCS_PROC_CONTROLS2,
		     c->proc2 & ~(PROC2_RDTSCP | PROC2_XSAVES));
	if (c->proc2 & PROC2_XSAVES)
		vmcs_write64(VMCS_XSS_EXIT_BITMAP, 0);
	vmcs_write32(VMCS_EXIT_CONTROLS, c->exit);
	vmcs_write32(VMCS_ENTRY_CONTROLS, c->entry);
	/*
	 * #MC is the host's.  #DB and #AC exit and are handed back: delivering
	 * one can raise another, forever, inside the CPU, where no host
	 * interrupt would ever be taken again.
	 */
	vmcs_write32(VMCS_EXCEPTION_BITMAP, BIT(X86_TRAP_MC) | BIT(X86_TRAP_DB) |
		     BIT(X86_TRAP_AC) | BIT(X86_TRAP_UD));
	vmcs_write32(VMCS_PF_ERROR_CODE_MASK, 0);
	vmcs_write32(VMCS_PF_ERROR_CODE_MATCH, 0);
	vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	if (c->proc2 & PROC2_PAUSE_LOOP_EXITING) {
		vmcs_write32(VMCS_PLE_GAP, ple_gap);
		vmx->ple_window = ple_window;
		vmx->ple_window_dirty = true;
	}
	vmcs_write64(VMCS_MSR_BITMAP, msr_bitmap_pa);
	vmcs_write64(VMCS_EPT_POINTER, vmx_eptp(vmx->vcpu.vm));
	vmcs_write16(VMCS_VPID, vmx->vpid);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);	/* no shadow VMCS */
	vmcs_write64(VMCS_TSC_OFFSET, 0);	/* core/tsc.c sets it next */

	/*
	 * No VM-entry or VM-exit MSR lists: the SYSCALL MSRs and
	 * KERNEL_GS_BASE are switched by hand once a KVM_RUN
	 * (vmx_prepare_switch_to_guest()).
	 */
	vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, 0);

	/*
	 * CR0/CR4 bits VMX forces (CR0.NE, CR4.VMXE; PE and PG are free with
	 * unrestricted guest) are owned by kvisor: the guest reads its own
	 * value from the shadow and exits when it tries to change them.  So
	 * is every CR4 bit that exists only with a CPUID feature, since the
	 * guest must get #GP for a feature its CPUID does not offer
	 * (vmx_exit_cr0_cr4()): the guest owns only VMX_CR4_GUEST_OWNED.
	 */
	vmcs_writel(VMCS_CR0_GUEST_HOST_MASK,
		    (u32)((c->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG)) |
			  ~c->cr0_fixed1));
	vmcs_writel(VMCS_CR4_GUEST_HOST_MASK,
		    (u32)(~VMX_CR4_GUEST_OWNED | c->cr4_fixed0 |
			  ~c->cr4_fixed1));
}

static void vmx_seg_reset(u32 sel_field, u16 selector, u64 base, u32 ar)
{
	/* Selector, limit, AR and base fields keep the same order per segment. */
	u32 i = (sel_field - VMCS_GUEST_ES_SELECTOR) / 2;

	vmcs_write16(VMCS_GUEST_ES_SELECTOR + i * 2, selector);
	vmcs_write32(VMCS_GUEST_ES_LIMIT + i * 2, 0xffff);
	vmcs_write32(VMCS_GUEST_ES_AR + i * 2, ar);
	vmcs_writel(VMCS_GUEST_ES_BASE + i * 2, base);
}

/* The state of an x86 CPU after RESET: real mode at F000:FFF0. */
static void vmx_reset_guest_state(struct vmx_vcpu *vmx)
{
	vmx_seg_reset(VMCS_GUEST_CS_SELECTOR, 0xf000, 0xffff0000, 0x9b);
	vmx_seg_reset(VMCS_GUEST_DS_SELECTOR, 0, 0, 0x93);
	vmx_seg_reset(VMCS_GUEST_ES_SELECTOR, 0, 0, 0x93);
	vmx_seg_reset(VMCS_GUEST_SS_SELECTOR, 0, 0, 0x93);
	vmx_seg_reset(VMCS_GUEST_FS_SELECTOR, 0, 0, 0x93);
	vmx_seg_reset(VMCS_GUEST_GS_SELECTOR, 0, 0, 0x93);
	vmx_seg_reset(VMCS_GUEST_LDTR_SELECTOR, 0, 0, 0x82);
	vmx_seg_reset(VMCS_GUEST_TR_SELECTOR, 0, 0, 0x8b);
	vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writel(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmcs_writel(VMCS_GUEST_IDTR_BASE, 0);
	vmx_set_cr0(vmx, X86_CR0_NW | X86_CR0_CD | X86_CR0_ET);
	vmx_set_cr4(vmx, 0);
	vmcs_writel(VMCS_GUEST_CR3, 0);
	vmx_set_efer(vmx, 0);
	vmcs_write64(VMCS_GUEST_IA32_PAT, PAT_RESET);
	vmcs_writel(VMCS_GUEST_DR7, 0x400);
	vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write32(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_writel(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_writel(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_writel(VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write32(VMCS_ENTRY_INTR_INFO, 0);
	/* From here on the VMCS's copies change only with their cache. */
	vmx->vmcs_rsp = 0;
	vmx->vmcs_rip = 0xfff0;
	vmx->vmcs_rflags = X86_EFLAGS_FIXED;
	vmcs_writel(VMCS_GUEST_RSP, vmx->vmcs_rsp);
	vmcs_writel(VMCS_GUEST_RIP, vmx->vmcs_rip);
	vmcs_writel(VMCS_GUEST_RFLAGS, vmx->vmcs_rflags);
}

/*
 * The MSRs the guest reaches without exits: those VMX switches itself
 * (VMCS fields and the MSR-load lists), as far as the VM's MSR filter
 * allows (core/msr_filter.c).
 */
static const u32 vmx_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
	MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* Shared by the vCPUs without a bitmap of their own. */
static u8 *vmx_msr_bitmap;

/*
 * Make the guest's reads and writes of @msr exit or not.  The bitmap
 * covers 0-0x1fff and 0xc0000000-0xc0001fff; every other MSR exits.
 */
static void vmx_msr_bitmap_set(u8 *bitmap, u32 msr, bool read_exit,
			       bool write_exit)
{
	/* Read bitmap low, read high, write low, write high: 1K each. */
	u32 base = msr >= 0xc0000000 ? 1024 : 0;
	u8 bit = BIT(msr % 8);
	u8 *rd, *wr;

	if (msr > 0x1fff && (msr < 0xc0000000 || msr > 0xc0001fff))
		return;
	rd = &bitmap[base + (msr & 0x1fff) / 8];
	wr = rd + 2048;
	*rd = read_exit ? *rd | bit : *rd & ~bit;
	*wr = write_exit ? *wr | bit : *wr & ~bit;
}

/*
 * The vCPU gets its own copy of the shared bitmap the first time it
 * needs another (core/spec.c's lazy pass-through, an MSR filter);
 * vmx_run() puts it in the VMCS.
 */
static int vmx_own_msr_bitmap(struct vmx_vcpu *vmx)
{
	if (vmx->msr_bitmap)
		return 0;
	vmx->msr_bitmap = (u8 *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!vmx->msr_bitmap)
		return -ENOMEM;
	memcpy(vmx->msr_bitmap, vmx_msr_bitmap, PAGE_SIZE);
	WRITE_ONCE(vmx->msr_bitmap_new, true);
	return 0;
}

/* Let @msr through (its writes only, @write_only) where the filter allows. */
static void vmx_msr_pass(struct vmx_vcpu *vmx, u32 msr, bool write_only)
{
	bool read = !write_only && kvisor_msr_allowed(&vmx->vcpu, msr, false);
	bool write = kvisor_msr_allowed(&vmx->vcpu, msr, true);

	vmx_msr_bitmap_set(vmx->msr_bitmap, msr, !read, !write);
}

/* core/spec.c's lazy pass-through, which a new filter has redone too */
int vmx_msr_passthrough(struct kvisor_vcpu *vcpu, u32 msr, bool write_only)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int r = vmx_own_msr_bitmap(vmx);

	if (r)
		return r;
	vmx_msr_pass(vmx, msr, write_only);
	return 0;
}

/*
 * A new MSR filter: every MSR this vCPU would let through is decided
 * again, so that what the filter denies exits and what it allows (again)
 * does not.  MSRs that always exit meet the filter in core/msrs.c.
 */
int vmx_msr_filter_changed(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i, r = vmx_own_msr_bitmap(vmx);

	if (r)
		return r;
	for (i = 0; i < ARRAY_SIZE(vmx_passthrough_msrs); i++)
		vmx_msr_pass(vmx, vmx_passthrough_msrs[i], false);
	return 0;
}

void vmx_free_msr_bitmap(void)
{
	free_page((unsigned long)vmx_msr_bitmap);
	vmx_msr_bitmap = NULL;
}

static int vmx_get_msr_bitmap(void)
{
	static DEFINE_MUTEX(lock);
	int i;

	mutex_lock(&lock);
	if (!vmx_msr_bitmap) {
		vmx_msr_bitmap = (u8 *)__get_free_page(GFP_KERNEL);
		if (vmx_msr_bitmap) {
			memset(vmx_msr_bitmap, 0xff, PAGE_SIZE);
			for (i = 0; i < ARRAY_SIZE(vmx_passthrough_msrs); i++)
				vmx_msr_bitmap_set(vmx_msr_bitmap,
						   vmx_passthrough_msrs[i],
						   false, false);
		}
	}
	mutex_unlock(&lock);
	return vmx_msr_bitmap ? 0 : -ENOMEM;
}

static void vmx_vcpu_destroy(struct vmx_vcpu *vmx)
{
	vmx_unload(vmx);
	if (vmx->vpid)
		vmx_free_vpid(vmx->vpid);
	free_page((unsigned long)vmx->msr_bitmap);
	free_page((unsigned long)vmx->vmcs);
	kfree(vmx);
}

struct kvisor_vcpu *vmx_vcpu_create(struct kvisor_vm *vm)
{
	struct vmx_vcpu *vmx;
	int i, vpid, r = -ENOMEM;

	if (vmx_get_msr_bitmap())
		return ERR_PTR(-ENOMEM);
	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return ERR_PTR(-ENOMEM);
	vmx->cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded);
	vmx->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vmx->vmcs)
		goto fail;
	/* The host's SYSCALL MSRs are fixed for its life; KERNEL_GS_BASE is not. */
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		rdmsrl(vmx_switched_msrs[i], vmx->host_msrs[i]);
	/* A VMCS region starts with the revision id, like VMXON's. */
	*(u32 *)vmx->vmcs = vmx_config.revision;
	vpid = vmx_alloc_vpid();
	if (vpid < 0) {
		r = vpid;
		goto fail;
	}
	vmx->vpid = vpid;
	vmx->vcpu.vm = vm;	/* vmx_setup_controls() needs the VM's EPT */
	r = kvisor_vcpu_init(&vmx->vcpu, vm);
	if (r)
		goto fail;

	/* A new VMCS starts "clear"; vmx_load() then makes it current. */
	vmx_vmclear(vmx->vmcs);
	vmx_load(vmx);
	vmx_setup_host_state();
	vmx_setup_controls(vmx, __pa(vmx_msr_bitmap));
	vmx_reset_guest_state(vmx);
	vmx_put(vmx);
	vmx->vcpu.rip = 0xfff0;
	return &vmx->vcpu;
fail:
	vmx_vcpu_destroy(vmx);
	return ERR_PTR(r);
}

void vmx_vcpu_free(struct kvisor_vcpu *vcpu)
{
	kvisor_vcpu_uninit(vcpu);
	vmx_vcpu_destroy(to_vmx(vcpu));
}

/* World switch ---------------------------------------------------------- */

/*
 * The PLE_Window for this entry.  KVM shrinks it when the vCPU's thread
 * is scheduled in again (its sched_in hook): here, when the thread
 * switched context since the last entry.  A PAUSE exit that yielded to
 * another vCPU comes back that way too, so only a spin that found no one
 * to yield to keeps a grown window.
 */
static void vmx_update_ple_window(struct vmx_vcpu *vmx)
{
	unsigned long switches = current->nvcsw + current->nivcsw;
	u32 old = vmx->ple_window;

	if (!(vmx_config.proc2 & PROC2_PAUSE_LOOP_EXITING))
		return;
	if (switches != vmx->ple_switches) {
		vmx->ple_switches = switches;
		vmx->ple_window = kvisor_pause_window_shrink(old, ple_window,
							     ple_window_shrink);
		vmx->ple_window_dirty |= vmx->ple_window != old;
	}
	if (vmx->ple_window_dirty) {
		vmcs_write32(VMCS_PLE_WINDOW, vmx->ple_window);
		vmx->ple_window_dirty = false;
	}
}

/*
 * RSP, RIP and RFLAGS go into the VMCS only when a handler or userspace
 * changed them: most exits (CPUID, I/O, MSRs) change RIP alone.
 */
static void vmx_load_guest_regs(struct vmx_vcpu *vmx)
{
	struct kvisor_vcpu *vcpu = &vmx->vcpu;

	if (vcpu->rip != vmx->vmcs_rip) {
		/* A handler moved RIP past an instruction: its STI shadow is over. */
		u32 intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

		if (intr & (VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS))
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, intr &
				~(VMX_INTR_BLOCK_STI | VMX_INTR_BLOCK_MOV_SS));
		vmx->vmcs_rip = vcpu->rip;
		vmcs_writel(VMCS_GUEST_RIP, vmx->vmcs_rip);
	}
	if (vcpu->regs[EMU_RSP] != vmx->vmcs_rsp) {
		vmx->vmcs_rsp = vcpu->regs[EMU_RSP];
		vmcs_writel(VMCS_GUEST_RSP, vmx->vmcs_rsp);
	}
	if (vcpu->rflags != vmx->vmcs_rflags) {
		vmx->vmcs_rflags = vcpu->rflags;
		vmcs_writel(VMCS_GUEST_RFLAGS, vmx->vmcs_rflags);
	}
}

static void vmx_load_guest(struct vmx_vcpu *vmx)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();

	vmx_load_guest_regs(vmx);
	if (vmx_config.preemption_ticks)
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE,
			     vmx_config.preemption_ticks);
	vmx_update_ple_window(vmx);
	vmx_inject_event(vmx);

	/* Host state that changes with the task or over time. */
	if (cr3 != vmx->host_cr3)
		vmcs_writel(VMCS_HOST_CR3, vmx->host_cr3 = cr3);
	if (cr4 != vmx->host_cr4)
		vmcs_writel(VMCS_HOST_CR4, vmx->host_cr4 = cr4);
}

/*
 * The exits whose qualification the SDM leaves cleared ("Exit
 * Qualification for VM Exits" lists those that have one): the frequent
 * ones, whose handlers never look, skip the VMREAD.
 */
static bool vmx_exit_has_qualification(u32 basic)
{
	switch (basic) {
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_INTERRUPT_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
	case EXIT_REASON_CPUID:
	case EXIT_REASON_HLT:
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
	case EXIT_REASON_PAUSE:
	case EXIT_REASON_EPT_MISCONFIG:
	case EXIT_REASON_PREEMPTION_TIMER:
	case EXIT_REASON_XSETBV:
		return false;
	}
	return true;
}

/*
 * The exit information fields an exit defines, each read only where it
 * does (SDM Vol. 3, "VM-Exit Information Fields"); the others stay 0,
 * which is what the SDM puts in most of them anyway.  Each VMREAD saved
 * is an instruction off every exit (vmx.rst, "What that trip costs").
 */
static void vmx_save_exit_fields(struct vmx_exit_info *e)
{
	u32 basic = e->reason & 0xffff;

	if (vmx_exit_has_qualification(basic))
		e->qualification = vmcs_readl(VMCS_EXIT_QUALIFICATION);
	if (basic == EXIT_REASON_EXCEPTION_NMI ||
	    basic == EXIT_REASON_EXTERNAL_INTERRUPT) {
		e->intr_info = vmcs_read32(VMCS_EXIT_INTR_INFO);
		if (e->intr_info & VMX_INTR_INFO_ERROR_VALID)
			e->intr_error = vmcs_read32(VMCS_EXIT_INTR_ERROR_CODE);
	}
	e->idt_vectoring = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	if ((e->idt_vectoring & VMX_INTR_INFO_VALID) &&
	    (e->idt_vectoring & VMX_INTR_INFO_ERROR_VALID))
		e->idt_vectoring_error =
			vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE);
	e->insn_len = vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN);
	if (basic == EXIT_REASON_EPT_VIOLATION ||
	    basic == EXIT_REASON_EPT_MISCONFIG)
		e->gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
}

/* Read everything the exit handlers need while the VMCS is current. */
static void vmx_save_exit(struct vmx_vcpu *vmx, bool entry_failed)
{
	struct vmx_exit_info *e = &vmx->exit;
	struct kvisor_vcpu *vcpu = &vmx->vcpu;

	memset(e, 0, sizeof(*e));
	if (entry_failed) {
		/* VMLAUNCH/VMRESUME refused, before any guest state changed. */
		e->vmfail = true;
		e->insn_error = vmcs_read32(VMCS_INSTRUCTION_ERROR);
		vmx_cancel_entry_event(vmx);
		return;
	}
	e->reason = vmcs_read32(VMCS_EXIT_REASON);
	/*
	 * A failed entry updates no other exit information field (the
	 * IDT-vectoring information is the last exit's) and no guest state.
	 */
	if (e->reason & EXIT_REASON_FAILED_ENTRY) {
		e->qualification = vmcs_readl(VMCS_EXIT_QUALIFICATION);
		vmx_cancel_entry_event(vmx);
		return;
	}
	vmx_save_exit_fields(e);
	vmx->vmcs_rsp = vmcs_readl(VMCS_GUEST_RSP);
	vmx->vmcs_rip = vmcs_readl(VMCS_GUEST_RIP);
	vmx->vmcs_rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	vcpu->regs[EMU_RSP] = vmx->vmcs_rsp;
	vcpu->rip = vmx->vmcs_rip;
	vcpu->rflags = vmx->vmcs_rflags;

	vmx_requeue_event(vmx);
}

/*
 * A machine check ended the guest's run: the exception exit for #MC
 * (SDM Vol. 3, "Basic VM-Exit Information": a hardware exception with
 * vector 18), or the entry failure "due to machine-check event" (exit
 * reason 41, with the failed-entry bit), which the CPU reports when the
 * #MC arrived during the entry itself.  Either way the host's handler
 * did not run.
 */
static bool vmx_exit_is_machine_check(const struct vmx_exit_info *e)
{
	if ((e->reason & 0xffff) == EXIT_REASON_MCE_DURING_ENTRY)
		return true;
	return (e->reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
	       (e->intr_info & (VMX_INTR_INFO_VALID | VMX_INTR_TYPE_MASK |
				VMX_INTR_INFO_VECTOR_MASK)) ==
	       (VMX_INTR_INFO_VALID | VMX_INTR_TYPE_HW_EXCEPTION | X86_TRAP_MC);
}

static void vmx_save_host_segments(struct vmx_host_segments *h)
{
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	asm volatile("sldt %0" : "=g" (h->ldt));
}

static void vmx_restore_host_segments(struct vmx_vcpu *vmx,
				      const struct vmx_host_segments *h)
{
	/*
	 * VM exit left LDTR null: the LDT first, since any of the selectors
	 * below may point into it (loading one then would fault, and the
	 * fixup would leave it null).
	 */
	if (h->ldt)
		asm volatile("lldt %0" : : "rm" (h->ldt));
	/* VM exit left null data selectors and a short TSS limit. */
	if (h->ds)
		loadsegment(ds, h->ds);
	if (h->es)
		loadsegment(es, h->es);
	/* Reloading a selector reloads the base too: put the real ones back. */
	if (h->fs) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, vmx->host_fs_base);
	}
	/* (which writes KERNEL_GS_BASE: vmx_vcpu_put() puts it back after) */
	if (h->gs)
		load_gs_index(h->gs);
	invalidate_tss_limit();
	/* VM exit also leaves the GDT limit at 0xffff. */
	load_fixmap_gdt(raw_smp_processor_id());
}

/*
 * The host state a VM exit leaves wrong for userspace, but right for the
 * kernel, is switched once a KVM_RUN, as KVM does
 * (vmx_prepare_switch_to_guest() and vmx_prepare_switch_to_host()): VM
 * exit loads null data selectors (64-bit mode ignores them), the FS base
 * saved here, the kernel's GS base, a GDT limit of 0xffff and a short TSS
 * limit, and clears LDTR.  None of that matters to the kernel, which
 * never uses those segments, the LDT or the I/O bitmap; userspace and the
 * scheduler's save of the task's segments do, so core/steal.c calls
 * vmx_vcpu_put() before either can look.  The FS base and
 * KERNEL_GS_BASE cannot change meanwhile: only the task itself sets them
 * (arch_prctl, WRFSBASE), from userspace.  Preemption is off.
 *
 * The guest's KERNEL_GS_BASE and SYSCALL MSRs (STAR, LSTAR, CSTAR,
 * SFMASK) stay in the CPU the same way, from here to vmx_vcpu_put(),
 * as KVM keeps them (its user-return MSRs): the kernel uses none of them
 * (SYSCALL comes from userspace, SWAPGS only on entries from it), and an
 * MSR list switching them at every entry and exit costs each exit 15 MSR
 * accesses (SDM Vol. 3, "VM-Entry Controls for MSRs", "VM-Exit Controls
 * for MSRs").  The guest reaches them without exits; vmx_get_msr() reads
 * the CPU while they are there.
 */
static void vmx_prepare_switch_to_guest(struct vmx_vcpu *vmx)
{
	int i;

	if (vmx->host_state_loaded)
		return;
	vmx_save_host_segments(&vmx->host_segs);
	rdmsrl(MSR_FS_BASE, vmx->host_fs_base);
	vmcs_writel(VMCS_HOST_FS_BASE, vmx->host_fs_base);
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->host_msrs[VMX_MSR_KERNEL_GS_BASE]);
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		wrmsrl(vmx_switched_msrs[i], vmx->guest_msrs[i]);
	vmx->host_state_loaded = true;
}

bool vmx_vcpu_put(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i;

	if (!vmx->host_state_loaded)
		return false;
	/* The guest's, as it left them (SWAPGS changes KERNEL_GS_BASE) */
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		rdmsrl(vmx_switched_msrs[i], vmx->guest_msrs[i]);
	vmx_restore_host_segments(vmx, &vmx->host_segs);
	for (i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		wrmsrl(vmx_switched_msrs[i], vmx->host_msrs[i]);
	vmx->host_state_loaded = false;
	return true;
}

/*
 * One trip into the guest: load, enter, restore what the host needs at
 * once (the rest waits for vmx_vcpu_put()), save the exit.
 * External interrupts and NMIs exit the guest (pin-based controls)
 * without being acknowledged, so a pending interrupt is taken by the host
 * as soon as interrupts are enabled again; an NMI, which the exit
 * consumed, is handed to the host's NMI handler by hand.
 */
int vmx_run(struct kvisor_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long debugctl, spec;
	bool failed, switch_aux;
	u32 reason;
	u64 host_xcr0;
	int r;

	vmx_load(vmx);
	if (READ_ONCE(vmx->msr_bitmap_new)) {
		WRITE_ONCE(vmx->msr_bitmap_new, false);
		vmcs_write64(VMCS_MSR_BITMAP, __pa(vmx->msr_bitmap));
	}
	vmx_prepare_switch_to_guest(vmx);

	/*
	 * Checked before the guest state is loaded: an entry called off
	 * (-EAGAIN, a kick arrived) must leave a pending event where the run
	 * loop sees it, not half-injected in the VMCS.
	 */
	r = kvisor_enter_guest_irqoff(vcpu);
	if (r) {
		kvisor_exit_guest_irqoff(vcpu);
		vmx_put(vmx);
		return r;
	}
	vmx_load_guest(vmx);
	if (READ_ONCE(vmx->flush)) {
		WRITE_ONCE(vmx->flush, false);
		vmx_invept(vmx_eptp(vcpu->vm));
		vmx_invvpid(vmx->vpid);
		vcpu->stat.tlb_flush++;
	}
	host_xcr0 = kvisor_xcr0_enter(vcpu, vmcs_readl(VMCS_GUEST_CR4));
	/* RDTSCP and RDPID read the guest's IA32_TSC_AUX (core/msrs.c). */
	switch_aux = kvisor_tsc_aux_enter_irqoff(vcpu);
	if (read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);
	kvisor_debug_enter_irqoff(vcpu);
	debugctl = get_debugctlmsr();

	/*
	 * What vmenter.S does for speculation, as KVM 6.1's __vmx_vcpu_run():
	 * the guest's SPEC_CTRL; VERW where the host clears CPU buffers (the
	 * user-mode bit KVM 6.1 tests, or the VM one later kernels use); the
	 * RSB filled after the exit where the host asks (RSB_VMEXIT), or one
	 * CALL retired where eIBRS needs only that (RSB_VMEXIT_LITE).
	 */
	spec = kvisor_spec_flags(vcpu);
	if (vmx->launched)
		spec |= KV_SPEC_RESUME;
	if (cpu_feature_enabled(X86_FEATURE_CLEAR_CPU_BUF) ||
	    cpu_feature_enabled(X86_FEATURE_CLEAR_CPU_BUF_VM))
		spec |= KV_SPEC_VERW;
	if (cpu_feature_enabled(X86_FEATURE_RSB_VMEXIT))
		spec |= KV_SPEC_RSB;
	else if (cpu_feature_enabled(X86_FEATURE_RSB_VMEXIT_LITE))
		spec |= KV_SPEC_RSB_ONE;

	/* L1TF: the L1D flush, last before the entry but for VERW. */
	kvisor_l1d_flush_irqoff(vcpu);
	failed = kv_vmx_vmenter(vcpu->regs, spec, &vcpu->spec.spec_ctrl);
	kvisor_spec_exit_irqoff(vcpu, failed ? spec & KV_SPEC_VERW : spec);

	/* VM exit clears IA32_DEBUGCTL: the host's LBR/BTF settings go back. */
	if (debugctl)
		update_debugctlmsr(debugctl);
	kvisor_debug_exit_irqoff(vcpu);
	vmx->cr2 = read_cr2();
	kvisor_tsc_aux_exit_irqoff(switch_aux);
	kvisor_xcr0_exit(vcpu, host_xcr0);
	vmx_save_exit(vmx, failed);
	/* An entry that failed its checks leaves the VMCS unlaunched. */
	if (!failed && !(vmx->exit.reason & EXIT_REASON_FAILED_ENTRY))
		vmx->launched = true;
	if (!failed && (vmx->exit.reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
	    (vmx->exit.intr_info & VMX_INTR_TYPE_MASK) == VMX_INTR_TYPE_NMI)
		asm volatile("int $2");
	/* Before interrupts are on, and on this CPU: its banks hold it. */
	if (!failed && vmx_exit_is_machine_check(&vmx->exit))
		kvisor_machine_check();
	/*
	 * KVM's at_instruction_boundary: a host interrupt's exit, or the
	 * preemption timer's, which stands in for one where the interrupt
	 * makes no exit (Bochs), and comes between instructions as well.
	 */
	reason = failed ? 0 : vmx->exit.reason & 0xffff;
	vcpu->at_boundary = reason == EXIT_REASON_EXTERNAL_INTERRUPT ||
			    reason == EXIT_REASON_PREEMPTION_TIMER;
	kvisor_exit_guest_irqoff(vcpu);
	vmx_put(vmx);
	return 0;
}
