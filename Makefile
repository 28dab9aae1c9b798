# SPDX-License-Identifier: GPL-2.0
#
# kvisor top-level Makefile; "make help" lists the targets.
#
# The kernel to build for, the first of:
#   KERNELRELEASE=6.12.x-amd64   as DKMS passes it: that kernel's headers,
#                                whatever KVER or KDIR the environment holds
#   KVER=6.12.x-amd64            a release under /lib/modules
#   KDIR=/path/to/build/tree     a kernel build tree (its release from it)
#   default                      Debian 12's newest 6.1 (the one the test
#                                hosts boot), else the running kernel
# (on the command line; KVER and KDIR are also taken from the environment,
# but the command line wins).

ifneq ($(KBUILD_EXTMOD),)
# Kbuild itself, in an M= build, sets KERNELRELEASE and KBUILD_EXTMOD and
# reads ./Kbuild, not this file; should it ever read this one instead, it
# gets the same thing.
obj-m := module/
else

JOBS ?= 2
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
INSTALL_MOD_DIR ?= extra

# The kernel release a build tree was configured for (Debian's headers
# carry the upstream version in include/config/kernel.release, so not that).
uts_release = $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
			$(1)/include/generated/utsrelease.h 2>/dev/null)

cmdline = $(filter command line,$(origin $(1)))
ifneq ($(KERNELRELEASE),)
  ifneq ($(call cmdline,KVER),)
    ifneq ($(KVER),$(KERNELRELEASE))
      $(error kvisor: KERNELRELEASE=$(KERNELRELEASE) and KVER=$(KVER) disagree)
    endif
  endif
  KVER := $(KERNELRELEASE)
  ifeq ($(call cmdline,KDIR),)
    KDIR := /lib/modules/$(KVER)/build
  else ifneq ($(filter-out $(KVER),$(call uts_release,$(KDIR))),)
    $(error kvisor: KERNELRELEASE=$(KERNELRELEASE), but KDIR=$(KDIR) is $(call uts_release,$(KDIR)))
  endif
else ifneq ($(call cmdline,KVER),)
  ifeq ($(call cmdline,KDIR),)
    KDIR := /lib/modules/$(KVER)/build
  endif
else ifneq ($(origin KDIR),undefined)
  ifneq ($(call cmdline,KDIR)$(filter undefined,$(origin KVER)),)
    KVER := $(call uts_release,$(KDIR))
  endif
endif
ifeq ($(origin KVER),undefined)
  KVER := $(shell $(CURDIR)/selftests/hosts/lib.sh kver 2>/dev/null)
  KVER := $(or $(KVER),$(shell uname -r))
endif
KDIR ?= /lib/modules/$(KVER)/build
MODDIR := $(DESTDIR)/lib/modules/$(KVER)

# Without the kernel's headers, one line that says which package is missing.
ifneq ($(filter all module install,$(or $(MAKECMDGOALS),all)),)
  ifeq ($(wildcard $(KDIR)/Makefile),)
    ifeq ($(origin KDIR),file)
      $(error kvisor: no kernel headers for $(KVER) in $(KDIR): apt-get install linux-headers-$(KVER))
    else
      $(error kvisor: no kernel build tree in KDIR=$(KDIR))
    endif
  endif
endif
ifneq ($(filter all module install uninstall,$(or $(MAKECMDGOALS),all)),)
  ifeq ($(KVER),)
    $(error kvisor: no kernel release in $(KDIR)/include/generated/utsrelease.h: say KVER=)
  endif
endif

# scripts/version.sh: git describe in a checkout, else dkms.conf's version.
# The module (through Kbuild) and kvisor-run both take it from here.
ifeq ($(origin KVISOR_VERSION),undefined)
  KVISOR_VERSION := $(shell sh $(CURDIR)/scripts/version.sh $(CURDIR))
endif
export KVISOR_VERSION

# -Werror: on in a git checkout and in make check, off otherwise (DKMS, a
# tarball), where a newer compiler's new warnings must not stop the build.
ifeq ($(origin KVISOR_WERROR),undefined)
  KVISOR_WERROR := $(if $(wildcard $(CURDIR)/.git),1,0)
endif
export KVISOR_WERROR
check check-svm check-vmx check-debug check-qemu: KVISOR_WERROR := 1

# modules_install signs with the kernel's key when it has one; Debian's
# headers do not ship it, so do not try (sign-file would only complain).
nosign := $(if $(wildcard $(KDIR)/certs/signing_key.x509),,CONFIG_MODULE_SIG_ALL=)

# depmod only for a kernel that is installed: with headers alone there is
# nothing to load the module into, and the kernel's own installation runs
# depmod.  Never into DESTDIR: the package's postinst runs depmod there.
define depmod
	@if [ -n "$(DESTDIR)" ]; then \
		echo "kvisor: DESTDIR given, depmod $(KVER) is left to the target system"; \
	elif [ -e $(MODDIR)/modules.order ]; then \
		echo "depmod $(KVER)"; depmod $(KVER); \
	else \
		echo "kvisor: $(KVER) is not installed (no $(MODDIR)/modules.order), no depmod"; \
	fi
endef

.PHONY: all module userspace selftests check check-svm check-vmx check-debug check-qemu demo deps clean \
	bench conformance install uninstall help version

all: module userspace selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) -j$(JOBS) modules

userspace:
	$(MAKE) -C userspace

selftests:
	$(MAKE) -C selftests

# The module to $(MODDIR)/extra/kvisor.ko (compressed if the kernel
# compresses its own), depmod, and the runner to $(BINDIR).  M= is module/,
# where kvisor.ko and its modules.order are: from the top, modules_install
# would put it in extra/module/.  KERNELRELEASE, because Debian's headers
# name the upstream version, not the package's, in kernel.release.
install: module
	$(MAKE) -C userspace kvisor-run
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module KERNELRELEASE=$(KVER) \
		INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(nosign) modules_install
	$(depmod)
	install -D -m 0755 userspace/kvisor-run $(DESTDIR)$(BINDIR)/kvisor-run

# Exactly what install put there, then depmod.
uninstall:
	rm -f $(foreach z,.ko .ko.gz .ko.xz .ko.zst,$(MODDIR)/$(INSTALL_MOD_DIR)/kvisor$(z))
	@rmdir $(MODDIR)/$(INSTALL_MOD_DIR) 2>/dev/null || true
	$(depmod)
	rm -f $(DESTDIR)$(BINDIR)/kvisor-run

deps:
	selftests/hosts/install-deps.sh

check:
	selftests/hosts/check.sh

check-svm:
	selftests/hosts/check.sh svm

check-vmx:
	selftests/hosts/check.sh vmx

# The suite, the fuzzers and the stress tests on a debug kernel (KASAN,
# kmemleak, lockdep, UBSAN, ...) built once into the cache (HOST=svm|vmx)
check-debug:
	selftests/hosts/check-debug.sh $(HOST)

# QEMU boots Linux on kvisor and on in-tree KVM, in many configurations,
# many times, in both test hosts (or HOST=svm); writes build/check-qemu/
check-qemu:
	selftests/hosts/check-qemu.sh $(HOST)

demo:
	selftests/hosts/demo.sh $(HOST)

# kvisor's exit and guest-memory costs over in-tree KVM's, in both test
# hosts (or HOST=svm); writes build/bench/results.json
bench:
	selftests/hosts/bench.sh $(HOST)

# Linux 6.1's own KVM selftests under in-tree KVM and under kvisor, in both
# test hosts (or HOST=svm); writes Documentation/conformance.rst
conformance:
	selftests/hosts/conformance.sh $(HOST)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf generated
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean

version:
	@echo $(KVISOR_VERSION)

help:
	@echo 'make [TARGET] [KVER=6.12.x-amd64 | KDIR=/kernel/build/tree] [W=1]'
	@echo '  all          (default) module, userspace and selftests'
	@echo '  module       module/kvisor.ko for $(KVER) (KVISOR_WERROR=0|1: -Werror, on in git)'
	@echo '  userspace    userspace/kvisor-run, the runner, and its demo guests'
	@echo '  selftests    the selftest programs, into selftests/build/'
	@echo '  install      kvisor.ko to $(MODDIR)/$(INSTALL_MOD_DIR)/, depmod,'
	@echo '               kvisor-run to $(DESTDIR)$(BINDIR)/ (DESTDIR, PREFIX, BINDIR)'
	@echo '  uninstall    remove what install put there, then depmod'
	@echo '  check        install what is missing, build, run every selftest in both test hosts'
	@echo '  check-svm    the same, in the SVM test host only'
	@echo '  check-vmx    the same, in the VMX test host only'
	@echo '  check-debug  the suite, fuzzers and stress on a debug kernel (KASAN, kmemleak, lockdep; HOST=svm|vmx)'
	@echo '  check-qemu   QEMU boots Linux in 10 configurations, 20 times each, kvisor vs in-tree KVM (HOST=svm|vmx)'
	@echo '  demo         boot a test host, load kvisor, run the demo guests (HOST=vmx: Intel)'
	@echo '  deps         only install the packages the build and the test hosts need'
	@echo '  bench        exits and guest memory, kvisor vs in-tree KVM, as ratios (HOST=svm|vmx)'
	@echo '  conformance  the upstream 6.1 KVM selftests, kvisor vs in-tree KVM (HOST=svm|vmx)'
	@echo '  clean        remove what the build made'
	@echo '  version      print the version ($(KVISOR_VERSION))'
	@echo '  help         this text'

endif
