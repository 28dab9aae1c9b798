// SPDX-License-Identifier: GPL-2.0
/*
 * mp_state: KVM_GET/SET_MP_STATE without an in-kernel irqchip.  As in KVM,
 * every vCPU is RUNNABLE (there is no LAPIC in the kernel to hold one in
 * INIT or HALTED), setting RUNNABLE succeeds and any other state, known
 * or not, is -EINVAL; the vCPU then runs its guest.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

static void guest_code(void)
{
	GUEST_DONE();
}

static void set_state(struct kvm_vcpu *vcpu, uint32_t state, int err)
{
	struct kvm_mp_state mp = { .mp_state = state };
	int r = ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);

	TEST_ASSERT(err ? r == -1 && errno == err : r == 0,
		    "KVM_SET_MP_STATE %u: %d (errno %d)", state, r, errno);
}

int main(void)
{
	struct kvm_vcpu *vcpu, *ap;
	struct kvm_mp_state mp;
	struct kvm_vm *vm;

	if (!kvm_check_cap(KVM_CAP_MP_STATE))
		ksft_exit_skip("KVM_CAP_MP_STATE is not offered\n");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	ap = vm_vcpu_add(vm, 1, guest_code);

	TEST_ASSERT(!ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp), "KVM_GET_MP_STATE");
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	TEST_ASSERT(!ioctl(ap->fd, KVM_GET_MP_STATE, &mp), "KVM_GET_MP_STATE");
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);

	set_state(vcpu, KVM_MP_STATE_RUNNABLE, 0);
	set_state(vcpu, KVM_MP_STATE_HALTED, EINVAL);
	set_state(vcpu, KVM_MP_STATE_INIT_RECEIVED, EINVAL);
	set_state(vcpu, 1000, EINVAL);
	TEST_ASSERT(ioctl(vcpu->fd, KVM_GET_MP_STATE, NULL) == -1 &&
		    errno == EFAULT, "KVM_GET_MP_STATE to NULL");

	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("RUNNABLE only, others EINVAL, as KVM without an irqchip: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
