// SPDX-License-Identifier: GPL-2.0
/*
 * exit_hlt_shutdown:
 *  - without an in-kernel irqchip nothing in the kernel can wake a halted
 *    vCPU, so HLT exits to userspace as KVM_EXIT_HLT, RIP past the HLT;
 *  - an exception that cannot be delivered (the IDT limit is 0) becomes
 *    #GP, then #DF, then a triple fault: KVM_EXIT_SHUTDOWN (#UD from UD2,
 *    #DE from a division by zero);
 *  - after a shutdown, KVM_SET_SREGS and KVM_SET_REGS make the vCPU
 *    runnable again, here from the start of guest_code().
 */
#include "kvm_util.h"

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static void __attribute__((noinline)) guest_hlt(void)
{
	asm volatile("hlt\n.globl after_hlt\nafter_hlt:");
}

extern const char after_hlt[];

static void guest_code(uint64_t phase)
{
	static const struct desc_ptr null_idt = { 0, 0 };

	switch (phase) {
	case 0:
		guest_hlt();
		GUEST_SYNC(1);
		asm volatile("lidt %0; ud2" : : "m"(null_idt));
		break;
	case 1:
		asm volatile("lidt %0; xor %%eax, %%eax; div %%eax"
			     : : "m"(null_idt) : "rax", "rdx");
		break;
	case 2:
		GUEST_SYNC(2);
		GUEST_DONE();
		break;
	}
	GUEST_ASSERT(0);	/* not reached */
}

static void reset_vcpu(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs,
		       struct kvm_regs *regs, uint64_t phase)
{
	vcpu_sregs_set(vcpu, sregs);
	regs->rdi = phase;
	vcpu_regs_set(vcpu, regs);
}

int main(void)
{
	struct kvm_sregs sregs0, sregs;
	struct kvm_regs regs0, regs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	/* The library creates no irqchip (KVM_CREATE_IRQCHIP). */
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_DEFAULT);
	vcpu_regs_get(vcpu, &regs0);
	vcpu_sregs_get(vcpu, &sregs0);

	/* HLT */
	reset_vcpu(vcpu, &sregs0, &regs0, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rip, (uint64_t)after_hlt);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	ksft_print_msg("HLT: KVM_EXIT_HLT, RIP after the HLT: ok\n");

	/* #UD with IDT limit 0: triple fault */
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
	ksft_print_msg("#UD with a null IDT: KVM_EXIT_SHUTDOWN: ok\n");

	/*
	 * #DE likewise, after a reset by KVM_SET_SREGS/REGS.  (Not INT3: the
	 * paravirtualized KVM of the build machine fails to emulate INT3 and
	 * INT n, with KVM_EXIT_INTERNAL_ERROR, even with a valid IDT.)
	 */
	reset_vcpu(vcpu, &sregs0, &regs0, 1);
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
	ksft_print_msg("#DE with a null IDT: KVM_EXIT_SHUTDOWN: ok\n");

	/* and the vCPU still runs normal code after that */
	reset_vcpu(vcpu, &sregs0, &regs0, 2);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(sregs.idt.base, sregs0.idt.base);
	TEST_ASSERT_EQ(sregs.idt.limit, sregs0.idt.limit);
	ksft_print_msg("run again after a reset by KVM_SET_SREGS/REGS: ok\n");

	kvm_vm_free(vm);
	ksft_exit_pass();
}
