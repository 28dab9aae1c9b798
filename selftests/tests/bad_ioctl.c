// SPDX-License-Identifier: GPL-2.0
/*
 * Bad arguments get the errno in-tree KVM gives for them, on the system fd
 * and the VM fd, and a VM cannot be driven from another process.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "test_util.h"

#define KVM_BOGUS_IOCTL		_IO(KVMIO, 0xfe)

static void expect_errno(int fd, unsigned long cmd, unsigned long arg,
			 int want, const char *what)
{
	int r;

	errno = 0;
	r = ioctl(fd, cmd, arg);
	TEST_ASSERT(r == -1 && errno == want,
		    "%s: got %d (errno %d), want errno %d", what, r, errno, want);
	ksft_print_msg("%s: %s, as KVM\n", what, strerror(want));
}

int main(void)
{
	int kvm, vm, status;
	pid_t pid;

	kvm = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "cannot open %s", kvm_dev_path());

	/* System fd: KVM answers anything unknown with EINVAL. */
	expect_errno(kvm, KVM_BOGUS_IOCTL, 0, EINVAL, "unknown system ioctl");
	expect_errno(kvm, TCGETS, 0, EINVAL, "TCGETS on /dev/kvm");
	expect_errno(kvm, KVM_GET_API_VERSION, 1, EINVAL, "API version with arg");
	expect_errno(kvm, KVM_GET_VCPU_MMAP_SIZE, 1, EINVAL, "mmap size with arg");
	expect_errno(kvm, KVM_CREATE_VM, 1, EINVAL, "VM type 1");
	expect_errno(kvm, KVM_CREATE_VM, ~0ul, EINVAL, "VM type ~0");
	expect_errno(kvm, KVM_TRACE_ENABLE, 0, EOPNOTSUPP, "KVM_TRACE_ENABLE");
	TEST_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, -1L), 0);
	TEST_ASSERT_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, 1L << 40), 0);

	/* VM fd: unknown ioctls are ENOTTY. */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
	expect_errno(vm, KVM_BOGUS_IOCTL, 0, ENOTTY, "unknown VM ioctl");
	expect_errno(vm, KVM_GET_API_VERSION, 0, ENOTTY, "system ioctl on a VM fd");

	/* A VM belongs to the process that created it: others get EIO. */
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		errno = 0;
		_exit(ioctl(vm, KVM_CHECK_EXTENSION, 0) == -1 && errno == EIO ?
		      0 : 1);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "a forked child could use the parent's VM fd");
	ksft_print_msg("VM ioctl from a forked child: EIO, as KVM\n");

	close(vm);
	close(kvm);
	ksft_exit_pass();
}
