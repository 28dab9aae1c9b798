// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor cannot be unloaded while a VM exists, unloads cleanly when none
 * does (its device node goes away), and loads again, several times over.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kmod.h"
#include "test_util.h"

#define RELOADS		5

static void use_kvisor(void)
{
	int kvm, vm, i;

	kvm = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "cannot open %s after loading", kvm_dev_path());
	TEST_ASSERT_EQ(ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	for (i = 0; i < 20; i++) {
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
		close(vm);
	}
	close(kvm);
}

int main(void)
{
	struct stat st;
	int kvm, vm, r, i;

	if (!kmod_loaded("kvisor"))
		ksft_exit_skip("kvisor is not loaded (is this a test host?)\n");

	kvm = open(kvm_dev_path(), O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "cannot open %s", kvm_dev_path());
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "KVM_CREATE_VM");
	close(kvm);

	/* The VM fd holds the module: unloading now must fail, harmlessly. */
	r = kmod_unload("kvisor");
	TEST_ASSERT(r == -EWOULDBLOCK || r == -EBUSY,
		    "unload with a VM open returned %d", r);
	TEST_ASSERT_EQ(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	close(vm);
	ksft_print_msg("unload refused while a VM was open (%s)\n", strerror(-r));

	for (i = 0; i < RELOADS; i++) {
		r = kmod_unload("kvisor");
		TEST_ASSERT(!r, "unload #%d: %s", i, strerror(-r));
		TEST_ASSERT(!kmod_loaded("kvisor"), "still in /sys/module");
		TEST_ASSERT(stat(kvm_dev_path(), &st) && errno == ENOENT,
			    "%s outlived the module", kvm_dev_path());

		r = kmod_load(kvisor_ko_path(), "");
		TEST_ASSERT(!r, "reload #%d of %s: %s", i, kvisor_ko_path(),
			    strerror(-r));
		chmod(kvm_dev_path(), 0666);
		use_kvisor();
	}
	ksft_print_msg("unloaded and reloaded %d times\n", RELOADS);
	ksft_exit_pass();
}
