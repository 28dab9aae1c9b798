// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor cannot be unloaded while a VM exists, unloads cleanly when none
 * does (its device node goes away), and loads again, several times over
 * (STRESS_RELOADS, default 5; make check-debug asks for 1,000), each time
 * running a guest with an in-kernel irqchip in between.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "fuzz.h"
#include "kmod.h"
#include "kvm_util.h"

static void guest_done(void)
{
	GUEST_DONE();
}

static void use_kvisor(void)
{
	struct kvm_vm *guest_vm;
	struct kvm_vcpu *vcpu;
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

	/* a guest ran, with everything a VM allocates, before the unload */
	guest_vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(guest_vm, KVM_CREATE_IRQCHIP, NULL);
	vcpu = vm_vcpu_add(guest_vm, 0, guest_done);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(guest_vm);
}

int main(void)
{
	uint64_t reloads = fuzz_env("STRESS_RELOADS", 5), i;
	struct stat st;
	int kvm, vm, r;

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

	for (i = 0; i < reloads; i++) {
		r = kmod_unload("kvisor");
		TEST_ASSERT(!r, "unload #%llu: %s", (unsigned long long)i, strerror(-r));
		TEST_ASSERT(!kmod_loaded("kvisor"), "still in /sys/module");
		TEST_ASSERT(stat(kvm_dev_path(), &st) && errno == ENOENT,
			    "%s outlived the module", kvm_dev_path());

		r = kmod_load(kvisor_ko_path(), "");
		TEST_ASSERT(!r, "reload #%llu of %s: %s",
			    (unsigned long long)i, kvisor_ko_path(),
			    strerror(-r));
		chmod(kvm_dev_path(), 0666);
		use_kvisor();
	}
	ksft_print_msg("unloaded and reloaded %llu times\n",
		       (unsigned long long)reloads);
	ksft_exit_pass();
}
