// SPDX-License-Identifier: GPL-2.0
/*
 * cr8_tpr: the guest's MOV to CR8 is its LAPIC's TPR, and lowering it
 * delivers at once an interrupt the TPR held back (SDM Vol. 3, "Task
 * Priority Register (TPR)"; APM Vol. 2, "Task-Priority Register").
 *
 * On SVM a MOV to CR8 writes V_TPR without an exit, so kvisor intercepts
 * CR8 writes while the TPR holds back an interrupt, as KVM does; in QEMU's
 * SVM (the SVM test host) it also intercepts them while a virtual
 * interrupt is posted, since QEMU's own MOV to CR8 then aborts the
 * emulator (Documentation/svm.rst, "QEMU's emulated SVM").  Phases:
 *  1. TPR 9 with a self-IPI of class 8 pending: not taken with IF set;
 *     then MOV 0 to CR8, and the interrupt must come right after that
 *     instruction, not at some later exit.
 *  2. IF clear with a self-IPI pending (an interrupt window is open):
 *     MOV 3 to CR8 reads back as 3, as TPR 0x30, and as KVM_GET_SREGS'
 *     cr8; MOV 16 to CR8 raises #GP and changes nothing; STI then takes
 *     the interrupt after the instruction STI protects.  With
 *     KVHOST_KVISOR=emulator_quirks=0 the SVM test host dies here.
 */
#include "apic.h"
#include "kvm_util.h"

#define IPI_VEC		0x81		/* priority class 8 */
#define APIC_DEST_SELF	0x40000		/* ICR destination shorthand */
#define SPIN		200000

static volatile uint32_t taken, gp_count;
static volatile uint64_t taken_rip;

/* Labels in the asm below. */
extern char cr8_lowered[], cr8_gp_after[], cr8_sti_after[];

static void irq_handler(struct ex_regs *regs)
{
	taken++;
	taken_rip = regs->rip;
	xapic_write(APIC_EOI, 0);
}

/* Only the MOV at cr8_gp_insn faults. */
static void gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip = (uint64_t)cr8_gp_after;
}

static void guest_code(void)
{
	uint32_t i;

	xapic_enable();

	/* 1: held back by the TPR, then delivered by lowering it */
	asm volatile("cli");
	set_cr8(9);
	xapic_write(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VEC);
	GUEST_ASSERT_EQ(get_cr8(), 9);
	GUEST_ASSERT_EQ(xapic_read(APIC_TASKPRI), 0x90);
	asm volatile("sti");
	for (i = 0; i < SPIN; i++)
		asm volatile("" ::: "memory");
	GUEST_ASSERT_EQ(taken, 0);
	asm volatile("mov %0, %%cr8\n"
		     ".global cr8_lowered\n"
		     "cr8_lowered: cli" : : "r"(0UL) : "memory");
	GUEST_ASSERT_EQ(taken, 1);
	GUEST_ASSERT_EQ(taken_rip, (uint64_t)cr8_lowered);

	/* 2: CR8 written while an interrupt waits for IF */
	xapic_write(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VEC);
	set_cr8(3);
	GUEST_ASSERT_EQ(get_cr8(), 3);
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(xapic_read(APIC_TASKPRI), 0x30);
	asm volatile(".global cr8_gp_insn\n"
		     "cr8_gp_insn: mov %0, %%cr8\n"
		     ".global cr8_gp_after\n"
		     "cr8_gp_after:" : : "r"(16UL) : "memory");
	GUEST_ASSERT_EQ(gp_count, 1);
	GUEST_ASSERT_EQ(get_cr8(), 3);
	GUEST_ASSERT_EQ(taken, 1);
	asm volatile("sti\n"
		     "nop\n"
		     ".global cr8_sti_after\n"
		     "cr8_sti_after: cli" ::: "memory");
	GUEST_ASSERT_EQ(taken, 2);
	GUEST_ASSERT_EQ(taken_rip, (uint64_t)cr8_sti_after);
	GUEST_DONE();
}

int main(void)
{
	struct kvm_sregs sregs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create(VM_MODE_LONG_4K);
	vm_create_irqchip(vm);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	apic_map(vm);
	vm_install_exception_handler(vm, IPI_VEC, irq_handler);
	vm_install_exception_handler(vm, GP_VECTOR, gp_handler);

	vcpu_run_ucall(vcpu, UCALL_SYNC, NULL);
	ksft_print_msg("1: TPR 9 held the interrupt back; MOV 0 to CR8 delivered it right after itself: ok\n");
	vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs);
	TEST_ASSERT_EQ(sregs.cr8, 3);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("2: MOV to CR8 with an interrupt waiting for IF: CR8 3, TPR 0x30, KVM_GET_SREGS cr8 3, #GP for 16, delivered after STI's shadow: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
