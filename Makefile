# SPDX-License-Identifier: GPL-2.0
#
# kvisor top-level Makefile.
#   make            module (module/kvisor.ko), userspace runner, selftests
#   make check      install what the test hosts need, then run the selftests
#                   in both emulated test hosts (SVM under QEMU, VMX under Bochs)
#   make demo       boot the SVM test host, load kvisor, show what it found
#   make KDIR=...   build the module against another kernel tree
#
# The default kernel is Debian 12's 6.1 (the one the test hosts boot), not
# the build machine's running kernel.
KVER ?= $(shell ls /lib/modules 2>/dev/null | grep -E '^6\.1\..*-amd64$$' | sort -V | tail -1)
KDIR ?= /lib/modules/$(KVER)/build
JOBS ?= 2

.PHONY: all module userspace selftests check check-svm check-vmx demo deps clean \
	bench conformance

all: module userspace selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) -j$(JOBS) modules

userspace:
	$(MAKE) -C userspace

selftests:
	$(MAKE) -C selftests

deps:
	selftests/hosts/install-deps.sh

check:
	selftests/hosts/check.sh

check-svm:
	selftests/hosts/check.sh svm

check-vmx:
	selftests/hosts/check.sh vmx

demo:
	selftests/hosts/demo.sh $(HOST)

# kvisor's exit costs over in-tree KVM's, in both test hosts (or HOST=svm)
bench:
	selftests/hosts/bench.sh $(HOST)

# Linux 6.1's own KVM selftests under in-tree KVM and under kvisor, in both
# test hosts (or HOST=svm); writes Documentation/conformance.rst
conformance:
	selftests/hosts/conformance.sh $(HOST)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean
