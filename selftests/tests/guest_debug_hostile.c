// SPDX-License-Identifier: GPL-2.0
/*
 * guest_debug_hostile: KVM_SET_GUEST_DEBUG values that must not reach the
 * host (host-safety finding 5).  kvisor's workaround for QEMU's emulated
 * SVM arms the guest's breakpoints in host mode for a few instructions
 * before VMRUN; with these values it must not:
 *  - a hardware breakpoint on a kernel address (where the host's own
 *    kernel runs): the guest goes on as before, and the host lives;
 *  - DR7 with bits 63:32 set: KVM takes the ioctl, and the entry then
 *    fails (KVM_EXIT_FAIL_ENTRY) where the CPU checks DR7, or the guest
 *    runs where it does not (an emulator); the host must not fault.
 * With debugging switched off again, the vCPU runs on.
 */
#include "kvm_util.h"

static void guest_code(void)
{
	for (;;)
		GUEST_SYNC(1);
}

static void set_debug(struct kvm_vcpu *vcpu, uint32_t control, uint64_t dr0,
		      uint64_t dr7)
{
	struct kvm_guest_debug dbg = { .control = control };

	dbg.arch.debugreg[0] = dr0;
	dbg.arch.debugreg[7] = dr7;
	vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
}

int main(void)
{
	const uint32_t hw = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int r;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);

	/* G0, execute, on the start of the kernel's text mapping. */
	set_debug(vcpu, hw, 0xffffffff81000000ULL, 0x402);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	ksft_print_msg("a breakpoint on a kernel address: the guest runs on\n");

	set_debug(vcpu, hw, 0x1000, (1ULL << 32) | 1);
	r = __vcpu_run(vcpu);
	TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_FAIL_ENTRY ||
		    vcpu->run->exit_reason == KVM_EXIT_IO,
		    "DR7 bits 63:32: exit reason %u",
		    vcpu->run->exit_reason);
	ksft_print_msg("DR7 with bits 63:32: %s\n",
		       vcpu->run->exit_reason == KVM_EXIT_FAIL_ENTRY ?
		       "the entry failed" : "the guest ran");
	if (vcpu->run->exit_reason == KVM_EXIT_IO)
		vcpu_run_complete_io(vcpu);

	set_debug(vcpu, 0, 0, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
