// SPDX-License-Identifier: GPL-2.0
/*
 * The VMCB, decoded, for /sys/kernel/debug/kvisor/.../vcpuN/state: what
 * is intercepted, how the guest is entered, the guest's saved state and
 * the last exit.  The VMCB is plain memory: no instruction needed.
 */
#include <linux/seq_file.h>

#include "svm.h"

static const struct {
	u64 code;
	const char *name;
} svm_exit_names[] = {
	{ SVM_EXIT_INTR, "physical interrupt" },
	{ SVM_EXIT_NMI, "NMI" },
	{ SVM_EXIT_CPUID, "CPUID" },
	{ SVM_EXIT_INVD, "INVD" },
	{ SVM_EXIT_HLT, "HLT" },
	{ SVM_EXIT_IOIO, "I/O instruction" },
	{ SVM_EXIT_MSR, "RDMSR/WRMSR" },
	{ SVM_EXIT_SHUTDOWN, "shutdown (triple fault)" },
	{ SVM_EXIT_VMRUN, "VMRUN" },
	{ SVM_EXIT_XSETBV, "XSETBV" },
	{ SVM_EXIT_NPF, "nested page fault" },
};

static const char *svm_exit_name(u64 code)
{
	int i;

	if ((u32)code == (u32)SVM_EXIT_INVALID)
		return "VMEXIT_INVALID: VMRUN refused the state";
	for (i = 0; i < ARRAY_SIZE(svm_exit_names); i++)
		if (svm_exit_names[i].code == code)
			return svm_exit_names[i].name;
	return "?";
}

static void svm_dump_seg(struct seq_file *m, const char *name,
			 const struct vmcb_seg *s)
{
	u16 a = s->attrib;

	seq_printf(m, "%-8s %04x   %016llx %08x %03x type %u%s dpl %u%s%s%s%s\n",
		   name, s->selector, s->base, s->limit, a,
		   a & SVM_SEG_TYPE_MASK,
		   a & BIT(SVM_SEG_S_SHIFT) ? " code/data" : " system",
		   (a >> SVM_SEG_DPL_SHIFT) & 3,
		   a & BIT(SVM_SEG_P_SHIFT) ? " P" : "",
		   a & BIT(SVM_SEG_L_SHIFT) ? " L" : "",
		   a & BIT(SVM_SEG_DB_SHIFT) ? " D/B" : "",
		   a & BIT(SVM_SEG_G_SHIFT) ? " G" : "");
}

void svm_dump_state(struct kvisor_vcpu *vcpu, struct seq_file *m)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_control *c = &svm->vmcb->control;
	const struct vmcb_save *s = &svm->vmcb->save;

	seq_printf(m, "VMCB at %#llx, ASID %u (CPU %d)\n", svm->vmcb_pa,
		   c->asid, svm->asid_cpu);
	seq_printf(m, "intercepts: cr %08x dr %08x exceptions %08x misc1 %08x misc2 %08x\n",
		   c->intercept_cr, c->intercept_dr, c->intercept_exceptions,
		   c->intercept_misc1, c->intercept_misc2);
	seq_printf(m, "int_ctl %#x  int_state %#x  nested_ctl %#llx  nested_cr3 %#llx\n",
		   c->int_ctl, c->int_state, c->nested_ctl, c->nested_cr3);
	seq_printf(m, "cr0 %#llx  cr3 %#llx  cr4 %#llx  efer %#llx (SVME is kvisor's)\n",
		   s->cr0, s->cr3, s->cr4, s->efer);
	seq_printf(m, "rsp %#llx  rax %#llx  cpl %u  g_pat %#llx  dr6 %#llx  dr7 %#llx\n",
		   s->rsp, s->rax, s->cpl, s->g_pat, s->dr6, s->dr7);
	seq_puts(m, "segment  sel    base             limit    attrib\n");
	svm_dump_seg(m, "es", &s->es);
	svm_dump_seg(m, "cs", &s->cs);
	svm_dump_seg(m, "ss", &s->ss);
	svm_dump_seg(m, "ds", &s->ds);
	svm_dump_seg(m, "fs", &s->fs);
	svm_dump_seg(m, "gs", &s->gs);
	svm_dump_seg(m, "ldtr", &s->ldtr);
	svm_dump_seg(m, "tr", &s->tr);
	seq_printf(m, "gdtr              %016llx %08x\n", s->gdtr.base,
		   s->gdtr.limit);
	seq_printf(m, "idtr              %016llx %08x\n", s->idtr.base,
		   s->idtr.limit);
	seq_printf(m, "last exit: code %#llx (%s), info1 %#llx, info2 %#llx\n",
		   c->exit_code, svm_exit_name(c->exit_code), c->exit_info_1,
		   c->exit_info_2);
	seq_printf(m, "           exit_int_info %#x, next_rip %#llx\n",
		   c->exit_int_info, c->next_rip);
}
