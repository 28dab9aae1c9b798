// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor and in-tree KVM cannot share the virtualization hardware.  With
 * in-tree KVM running a VM, kvisor must refuse to load and say why; with
 * in-tree KVM merely loaded it must refuse the /dev/kvm name but may sit
 * beside it under another name.  Leaves kvisor loaded as it found it.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kmod.h"
#include "test_util.h"

#define MAX_MODS	8

static char mods[MAX_MODS][256];
static bool loaded_here[MAX_MODS];
static int nr_mods;

static void load_intree(void)
{
	int i, r;

	for (i = 0; i < nr_mods; i++) {
		r = kmod_load(mods[i], "");
		TEST_ASSERT(!r || r == -EEXIST, "load %s: %s", mods[i],
			    strerror(-r));
		loaded_here[i] = !r;
	}
}

static void unload_intree(void)
{
	char name[64];
	int i, r;

	for (i = nr_mods - 1; i >= 0; i--) {
		if (!loaded_here[i])
			continue;
		kmod_name(mods[i], name);
		r = kmod_unload(name);
		TEST_ASSERT(!r, "unload %s: %s", name, strerror(-r));
	}
}

static void expect_refusal(const char *params, const char *logged)
{
	size_t mark = klog_mark();
	int r = kmod_load(kvisor_ko_path(), params);

	TEST_ASSERT(r == -EBUSY, "loading kvisor \"%s\" beside in-tree KVM: %s",
		    params, r ? strerror(-r) : "it loaded");
	TEST_ASSERT(klog_since_contains(mark, logged),
		    "kvisor refused \"%s\" without logging \"%s\"", params,
		    logged);
	ksft_print_msg("kvisor \"%s\" refused, logging \"%s\"\n", params, logged);
}

int main(void)
{
	int kvm, vm, r;

	nr_mods = intree_modules(mods, MAX_MODS);
	if (!nr_mods)
		ksft_exit_skip("no in-tree KVM modules given in $KVISOR_INTREE\n");
	if (!kmod_loaded("kvisor"))
		ksft_exit_skip("kvisor is not loaded (is this a test host?)\n");

	r = kmod_unload("kvisor");
	TEST_ASSERT(!r, "unload kvisor: %s", strerror(-r));
	load_intree();

	/* A running in-tree VM holds VMX/SVM on every CPU. */
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "open in-tree /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm >= 0, "in-tree KVM_CREATE_VM");
	expect_refusal("devname=kvisor", "held by another hypervisor");
	close(vm);
	close(kvm);

	/* In-tree KVM owns the /dev/kvm name even without a VM. */
	expect_refusal("", "cannot register /dev/kvm");

	r = kmod_load(kvisor_ko_path(), "devname=kvisor");
	TEST_ASSERT(!r, "kvisor as /dev/kvisor beside in-tree KVM: %s",
		    strerror(-r));
	kvm = open("/dev/kvisor", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm >= 0, "open /dev/kvisor");
	TEST_ASSERT_EQ(ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	close(kvm);
	ksft_print_msg("kvisor loaded beside in-tree KVM as /dev/kvisor\n");
	TEST_ASSERT(!kmod_unload("kvisor"), "unload /dev/kvisor");

	unload_intree();
	r = kmod_load(kvisor_ko_path(), "");
	TEST_ASSERT(!r, "reload kvisor: %s", strerror(-r));
	chmod("/dev/kvm", 0666);
	ksft_exit_pass();
}
