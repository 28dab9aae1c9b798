// SPDX-License-Identifier: GPL-2.0
/*
 * The VMCS, decoded, for /sys/kernel/debug/kvisor/.../vcpuN/state: the
 * controls kvisor chose, the guest state as the hardware holds it, and the
 * last exit.  Read with VMREAD on the CPU the VMCS is current on.
 */
#include <linux/seq_file.h>

#include "vmx.h"

static const char *const vmx_exit_names[EXIT_REASON_NR] = {
	[EXIT_REASON_EXCEPTION_NMI]	= "exception or NMI",
	[EXIT_REASON_EXTERNAL_INTERRUPT] = "external interrupt",
	[EXIT_REASON_TRIPLE_FAULT]	= "triple fault",
	[EXIT_REASON_INIT_SIGNAL]	= "INIT signal",
	[EXIT_REASON_CPUID]		= "CPUID",
	[EXIT_REASON_HLT]		= "HLT",
	[EXIT_REASON_INVD]		= "INVD",
	[EXIT_REASON_VMCALL]		= "VMCALL",
	[EXIT_REASON_CR_ACCESS]		= "control-register access",
	[EXIT_REASON_IO_INSTRUCTION]	= "I/O instruction",
	[EXIT_REASON_MSR_READ]		= "RDMSR",
	[EXIT_REASON_MSR_WRITE]		= "WRMSR",
	[EXIT_REASON_PAUSE]		= "PAUSE",
	[EXIT_REASON_INVALID_STATE]	= "VM-entry failure: invalid guest state",
	[EXIT_REASON_MSR_LOAD_FAIL]	= "VM-entry failure: MSR loading",
	[EXIT_REASON_EPT_VIOLATION]	= "EPT violation",
	[EXIT_REASON_EPT_MISCONFIG]	= "EPT misconfiguration",
	[EXIT_REASON_PREEMPTION_TIMER]	= "VMX-preemption timer",
	[EXIT_REASON_XSETBV]		= "XSETBV",
};

static const char *const seg_names[] = {
	"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr",
};

static void vmx_dump_segments(struct seq_file *m)
{
	int i;

	seq_puts(m, "segment  sel    base             limit    access rights\n");
	for (i = 0; i < ARRAY_SIZE(seg_names); i++) {
		u32 ar = vmcs_read32(VMCS_GUEST_ES_AR + i * 2);

		seq_printf(m, "%-8s %04x   %016lx %08x %05x", seg_names[i],
			   vmcs_read16(VMCS_GUEST_ES_SELECTOR + i * 2),
			   vmcs_readl(VMCS_GUEST_ES_BASE + i * 2),
			   vmcs_read32(VMCS_GUEST_ES_LIMIT + i * 2), ar);
		if (ar & VMX_AR_UNUSABLE)
			seq_puts(m, " unusable\n");
		else
			seq_printf(m, " type %u%s dpl %u%s%s%s%s\n",
				   ar & VMX_AR_TYPE_MASK,
				   ar & VMX_AR_S ? " code/data" : " system",
				   (ar >> VMX_AR_DPL_SHIFT) & 3,
				   ar & VMX_AR_P ? " P" : "",
				   ar & VMX_AR_L ? " L" : "",
				   ar & VMX_AR_DB ? " D/B" : "",
				   ar & VMX_AR_G ? " G" : "");
	}
	seq_printf(m, "gdtr              %016lx %08x\n",
		   vmcs_readl(VMCS_GUEST_GDTR_BASE),
		   vmcs_read32(VMCS_GUEST_GDTR_LIMIT));
	seq_printf(m, "idtr              %016lx %08x\n",
		   vmcs_readl(VMCS_GUEST_IDTR_BASE),
		   vmcs_read32(VMCS_GUEST_IDTR_LIMIT));
}

static void vmx_dump_exit(struct seq_file *m, const struct vmx_exit_info *e)
{
	u32 basic = e->reason & 0xffff;
	const char *name = basic < EXIT_REASON_NR ? vmx_exit_names[basic] : NULL;

	if (e->vmfail) {
		seq_printf(m, "last exit: VMLAUNCH/VMRESUME failed, VM-instruction error %u\n",
			   e->insn_error);
		return;
	}
	seq_printf(m, "last exit: reason %u (%s)%s, qualification %#lx\n",
		   basic, name ? name : "?",
		   e->reason & EXIT_REASON_FAILED_ENTRY ? ", entry failed" : "",
		   e->qualification);
	seq_printf(m, "           instruction length %u, guest-physical %#llx\n",
		   e->insn_len, e->gpa);
	seq_printf(m, "           interruption info %#x, IDT-vectoring info %#x\n",
		   e->intr_info, e->idt_vectoring);
}

void vmx_dump_state(struct kvisor_vcpu *vcpu, struct seq_file *m)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_load(vmx);
	seq_printf(m, "VMCS at %#llx, current on CPU %d, %s, VPID %u\n",
		   (u64)__pa(vmx->vmcs), vmx->cpu,
		   vmx->launched ? "launched" : "clear", vmx->vpid);
	seq_printf(m, "controls: pin %08x proc %08x proc2 %08x exit %08x entry %08x\n",
		   vmcs_read32(VMCS_PIN_CONTROLS),
		   vmcs_read32(VMCS_PROC_CONTROLS),
		   vmcs_read32(VMCS_PROC_CONTROLS2),
		   vmcs_read32(VMCS_EXIT_CONTROLS),
		   vmcs_read32(VMCS_ENTRY_CONTROLS));
	seq_printf(m, "          exception bitmap %08x, EPTP %#llx\n",
		   vmcs_read32(VMCS_EXCEPTION_BITMAP),
		   vmcs_read64(VMCS_EPT_POINTER));
	seq_printf(m, "cr0 %#lx (guest sees %#lx, mask %#lx)\n",
		   vmcs_readl(VMCS_GUEST_CR0), vmcs_readl(VMCS_CR0_READ_SHADOW),
		   vmcs_readl(VMCS_CR0_GUEST_HOST_MASK));
	seq_printf(m, "cr4 %#lx (guest sees %#lx, mask %#lx)\n",
		   vmcs_readl(VMCS_GUEST_CR4), vmcs_readl(VMCS_CR4_READ_SHADOW),
		   vmcs_readl(VMCS_CR4_GUEST_HOST_MASK));
	seq_printf(m, "cr3 %#lx  efer %#llx  pat %#llx\n",
		   vmcs_readl(VMCS_GUEST_CR3), vmcs_read64(VMCS_GUEST_IA32_EFER),
		   vmcs_read64(VMCS_GUEST_IA32_PAT));
	seq_printf(m, "rsp %#lx  interruptibility %#x  activity %u\n",
		   vmcs_readl(VMCS_GUEST_RSP),
		   vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY),
		   vmcs_read32(VMCS_GUEST_ACTIVITY_STATE));
	vmx_dump_segments(m);
	vmx_put(vmx);
	vmx_dump_exit(m, &vmx->exit);
}
