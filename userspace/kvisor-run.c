// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor-run: the tiny userspace runner.
 *
 *   kvisor-run --info [DEVICE]
 *	print what the KVM device answers: API version, vCPU mapping
 *	size, every capability it advertises, and whether a VM can be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
#include "caps.h"
};

static const char *cap_name(int cap)
{
	size_t i;

	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (cap_names[i].cap == cap)
			return cap_names[i].name;
	return "?";
}

static int info(const char *dev)
{
	int kvm, vm, cap, r, n = 0;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvisor-run: %s: %s\n", dev, strerror(errno));
		return 1;
	}
	printf("%s: KVM_GET_API_VERSION = %d\n", dev,
	       ioctl(kvm, KVM_GET_API_VERSION, 0));
	printf("%s: KVM_GET_VCPU_MMAP_SIZE = %d\n", dev,
	       ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	for (cap = 0; cap < 1024; cap++) {
		r = ioctl(kvm, KVM_CHECK_EXTENSION, cap);
		if (r > 0) {
			printf("%s: KVM_CHECK_EXTENSION(%s) = %d\n", dev,
			       cap_name(cap), r);
			n++;
		}
	}
	printf("%s: %d capabilities advertised\n", dev, n);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		printf("%s: KVM_CREATE_VM failed: %s\n", dev, strerror(errno));
	else
		printf("%s: KVM_CREATE_VM = fd %d\n", dev, vm);
	close(vm);
	close(kvm);
	return vm < 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: kvisor-run --info [DEVICE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--info"))
		return info(argc >= 3 ? argv[2] : "/dev/kvm");
	usage();
}
