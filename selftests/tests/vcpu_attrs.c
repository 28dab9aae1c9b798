// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_attrs: the vCPU's TSC offset as a device attribute
 * (KVM_VCPU_TSC_CTRL/KVM_VCPU_TSC_OFFSET, what a VMM migrating a VM uses)
 * and MSR_PLATFORM_INFO, which userspace sets and KVM_CAP_MSR_PLATFORM_INFO
 * lets the guest read or makes it fault.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define MSR_PLATFORM_INFO	0xce
#define OFFSET			(1ULL << 50)

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void guest_code(void)
{
	GUEST_SYNC(guest_rdtsc());
	GUEST_SYNC(rdmsr(MSR_PLATFORM_INFO));
	rdmsr(MSR_PLATFORM_INFO);
	GUEST_SYNC(guest_gp_count);
	GUEST_DONE();
}

static int attr(struct kvm_vcpu *vcpu, unsigned long ioctl_nr,
		uint64_t a, uint64_t *val)
{
	struct kvm_device_attr da = {
		.group = KVM_VCPU_TSC_CTRL, .attr = a,
		.addr = (uint64_t)(unsigned long)val,
	};

	return ioctl(vcpu->fd, ioctl_nr, &da);
}

static uint64_t host_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int main(void)
{
	struct kvm_msrs *msrs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t off, lo, hi;

	if (!kvm_check_cap(KVM_CAP_VCPU_ATTRIBUTES) ||
	    !kvm_check_cap(KVM_CAP_MSR_PLATFORM_INFO))
		ksft_exit_skip("no vCPU attributes or KVM_CAP_MSR_PLATFORM_INFO\n");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, 13, guest_skip_gp);

	TEST_ASSERT(!attr(vcpu, KVM_HAS_DEVICE_ATTR, KVM_VCPU_TSC_OFFSET, NULL),
		    "no KVM_VCPU_TSC_OFFSET");
	TEST_ASSERT(attr(vcpu, KVM_HAS_DEVICE_ATTR, 7, NULL) == -1 &&
		    errno == ENXIO, "an unknown attribute is not ENXIO");
	off = OFFSET - host_rdtsc();
	TEST_ASSERT(!attr(vcpu, KVM_SET_DEVICE_ATTR, KVM_VCPU_TSC_OFFSET, &off),
		    "KVM_SET_DEVICE_ATTR: %s", strerror(errno));
	TEST_ASSERT(!attr(vcpu, KVM_GET_DEVICE_ATTR, KVM_VCPU_TSC_OFFSET, &off),
		    "KVM_GET_DEVICE_ATTR: %s", strerror(errno));
	lo = host_rdtsc() + off;
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	hi = host_rdtsc() + off;
	TEST_ASSERT(lo <= uc.args[0] && uc.args[0] <= hi && lo >= OFFSET,
		    "guest TSC %#lx outside [%#lx, %#lx]", uc.args[0], lo, hi);
	ksft_print_msg("TSC offset attribute: the guest's TSC follows it: ok\n");

	msrs = calloc(1, sizeof(*msrs) + sizeof(msrs->entries[0]));
	msrs->nmsrs = 1;
	msrs->entries[0].index = MSR_PLATFORM_INFO;
	msrs->entries[0].data = 0xff00;
	TEST_ASSERT(ioctl(vcpu->fd, KVM_SET_MSRS, msrs) == 1, "set PLATFORM_INFO");
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0] & 0xff00, 0xff00);
	vm_ioctl(vm, KVM_ENABLE_CAP,
		 &(struct kvm_enable_cap){ .cap = KVM_CAP_MSR_PLATFORM_INFO });
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	ksft_print_msg("MSR_PLATFORM_INFO: userspace's value, then #GP once disabled: ok\n");
	vcpu_run_ucall(vcpu, UCALL_DONE, &uc);
	free(msrs);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
