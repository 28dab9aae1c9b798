// SPDX-License-Identifier: GPL-2.0
/*
 * Create and destroy VMs in a loop, many at once, and past the lifetime of
 * the /dev/kvm fd: nothing may leak and every VM fd must keep working.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "test_util.h"

#define LOOPS		500
#define AT_ONCE		64

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	TEST_ASSERT(d, "opendir /proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int main(void)
{
	int kvm, vms[AT_ONCE], i, fds;

	kvm = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "cannot open %s", kvm_dev_path());
	fds = count_fds();

	for (i = 0; i < LOOPS; i++) {
		int vm = ioctl(kvm, KVM_CREATE_VM, 0);

		TEST_ASSERT(vm >= 0, "KVM_CREATE_VM, iteration %d", i);
		TEST_ASSERT(fcntl(vm, F_GETFD) & FD_CLOEXEC,
			    "a VM fd must be close-on-exec, as KVM's is");
		close(vm);
	}
	ksft_print_msg("%d VMs created and closed one by one\n", LOOPS);

	for (i = 0; i < AT_ONCE; i++) {
		vms[i] = ioctl(kvm, KVM_CREATE_VM, 0);
		TEST_ASSERT(vms[i] >= 0, "KVM_CREATE_VM #%d of %d at once",
			    i, AT_ONCE);
	}
	/* A VM outlives the system fd that created it. */
	close(kvm);
	for (i = 0; i < AT_ONCE; i++) {
		TEST_ASSERT_EQ(ioctl(vms[i], KVM_CHECK_EXTENSION,
				     KVM_CAP_CHECK_EXTENSION_VM), 1);
		close(vms[i]);
	}
	ksft_print_msg("%d VMs alive at once, used after /dev/kvm closed\n",
		       AT_ONCE);

	kvm = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "reopen %s", kvm_dev_path());
	close(kvm);
	TEST_ASSERT_EQ(count_fds(), fds - 1);
	ksft_exit_pass();
}
