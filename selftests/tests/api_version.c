// SPDX-License-Identifier: GPL-2.0
/*
 * The first things every KVM client asks of /dev/kvm: the API version, the
 * size of the vCPU mapping, and capabilities, which must read the same on
 * the system fd and on a VM fd.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "test_util.h"

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int kvm, vm, cap, r;

	kvm = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "cannot open %s", kvm_dev_path());

	r = ioctl(kvm, KVM_GET_API_VERSION, 0);
	TEST_ASSERT_EQ(r, KVM_API_VERSION);
	ksft_print_msg("API version %d\n", r);

	r = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(r >= page * 2 && r % page == 0,
		    "vCPU mmap size %d: want whole pages, kvm_run and PIO data", r);

	/* QEMU asks the VM fd first: it only may if this answers 1. */
	TEST_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
	for (cap = 0; cap < 512; cap++) {
		int sys = ioctl(kvm, KVM_CHECK_EXTENSION, cap);
		int onvm = ioctl(vm, KVM_CHECK_EXTENSION, cap);

		TEST_ASSERT(sys >= 0 && onvm >= 0, "cap %d: %d / %d", cap, sys, onvm);
		TEST_ASSERT(sys == onvm, "cap %d: system fd says %d, VM fd %d",
			    cap, sys, onvm);
		if (sys)
			ksft_print_msg("capability %d = %d\n", cap, sys);
	}
	close(vm);
	close(kvm);
	ksft_exit_pass();
}
