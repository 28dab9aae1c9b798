// SPDX-License-Identifier: GPL-2.0
/*
 * The current VMCS: which VMCS each CPU has loaded, and moving a vCPU's
 * VMCS to the CPU that is about to use it (SDM Vol. 3, "Software Use of
 * Virtual-Machine Control Structures"), plus the part of the host-state
 * area that differs between CPUs (SDM Vol. 3, "Host-State Area"), which
 * must follow the VMCS to its new CPU.
 *
 * A VMCS is reachable only on the CPU where it was last made current with
 * VMPTRLD, and the CPU may cache parts of it there.  So every access runs
 * between vmx_load(), which pins the thread to its CPU and moves the VMCS
 * here if it was elsewhere (VMCLEAR on the old CPU writes it back to
 * memory first), and vmx_put().  A VMCS that moved must be started again
 * with VMLAUNCH; after that, VMRESUME.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/msr.h>

#include "vmx.h"

/*
 * What the CPU's VMX capability MSRs allowed (filled once by vmx.c's
 * probe) and each CPU's VMXON region and current VMCS: defined here, in
 * the file every other VMX file calls down into, and read by all.
 */
struct vmx_config vmx_config;
DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);

void vmcs_error(const char *insn, unsigned long field, unsigned long value)
{
	pr_warn_ratelimited("%s of VMCS field %#lx (value %#lx) failed\n",
			    insn, field, value);
}

/* Write a VMCS back to memory and make it "clear", not launched. */
void vmx_vmclear(void *vmcs)
{
	u64 pa = __pa(vmcs);

	bool fault = true;

	asm volatile("1: vmclear %[pa]\n\t"
		     "movb $0, %[fault]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [fault] "+qm" (fault) : [pa] "m" (pa) : "memory", "cc");
	if (unlikely(fault))
		kvisor_virt_fault();
}

static void vmx_vmptrld(void *vmcs)
{
	u64 pa = __pa(vmcs);
	u8 ok = 2;		/* stays 2 if VMPTRLD faulted */

	asm volatile("1: vmptrld %[pa]\n\t"
		     "seta %[ok]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [ok] "+qm" (ok) : [pa] "m" (pa) : "memory", "cc");
	if (unlikely(ok == 2))
		kvisor_virt_fault();
	else if (unlikely(!ok))
		pr_warn_ratelimited("VMPTRLD of %#llx failed\n", pa);
}

/* Runs on the CPU the VMCS is loaded on, interrupts disabled. */
static void vmx_unload_here(void *arg)
{
	struct vmx_vcpu *vmx = arg;
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	if (vmx->cpu != smp_processor_id())
		return;
	vmx_vmclear(vmx->vmcs);
	if (vc->current_vmcs == vmx->vmcs)
		vc->current_vmcs = NULL;
	list_del(&vmx->loaded);
	vmx->launched = false;
	WRITE_ONCE(vmx->cpu, -1);
}

/* Before VMXOFF or when this CPU goes away. */
void vmx_clear_loaded_vmcss(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vcpu *vmx, *tmp;

	list_for_each_entry_safe(vmx, tmp, &vc->loaded, loaded)
		vmx_unload_here(vmx);
}

/*
 * Take the VMCS off the CPU it is loaded on, wherever that is, before it
 * is freed.
 */
void vmx_unload(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_unload_here, vmx, 1);
}

/*
 * Host state that differs between CPUs: VM exit loads it from the VMCS,
 * so it must be this CPU's.
 */
static void vmx_set_host_cpu_state(int cpu)
{
	struct desc_ptr idt;
	unsigned long gs_base;

	vmcs_writel(VMCS_HOST_TR_BASE,
		    (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_writel(VMCS_HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	vmcs_writel(VMCS_HOST_IA32_SYSENTER_ESP,
		    (unsigned long)(cpu_entry_stack(cpu) + 1));
	rdmsrl(MSR_GS_BASE, gs_base);
	vmcs_writel(VMCS_HOST_GS_BASE, gs_base);
	store_idt(&idt);
	vmcs_writel(VMCS_HOST_IDTR_BASE, idt.address);
}

void vmx_load(struct vmx_vcpu *vmx)
{
	int cpu = get_cpu();
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	int old = READ_ONCE(vmx->cpu);

	if (old == cpu) {
		if (vc->current_vmcs != vmx->vmcs) {
			vmx_vmptrld(vmx->vmcs);
			vc->current_vmcs = vmx->vmcs;
			/* as KVM's vmx_vcpu_load_vmcs(): core/spec.c */
			kvisor_spec_ibpb(&vmx->vcpu);
		}
		return;
	}
	if (old >= 0)
		smp_call_function_single(old, vmx_unload_here, vmx, 1);

	local_irq_disable();
	list_add(&vmx->loaded, &vc->loaded);
	vmx->cpu = cpu;
	local_irq_enable();
	vmx_vmptrld(vmx->vmcs);
	/*
	 * Another VMCS than this CPU's last: its branch predictions may be
	 * another vCPU's, so IBPB, as KVM does at every VMCS switch.
	 */
	if (vc->current_vmcs != vmx->vmcs)
		kvisor_spec_ibpb(&vmx->vcpu);
	vc->current_vmcs = vmx->vmcs;
	vmx->launched = false;
	vmx_set_host_cpu_state(cpu);
	/* This CPU may hold translations from an earlier stay: drop them. */
	vmx->flush = true;
}

void vmx_put(struct vmx_vcpu *vmx)
{
	put_cpu();
}
