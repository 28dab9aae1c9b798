/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest states that crash or hang QEMU 7.2 itself, the SVM test host's
 * emulator, under in-tree kvm_amd as under kvisor (Documentation/
 * testing.rst, "Quirks of the emulators that the tests meet").  The
 * fuzzers build none of them there; elsewhere these change nothing.
 */
#ifndef KVISOR_SELFTEST_QEMU_QUIRKS_H
#define KVISOR_SELFTEST_QEMU_QUIRKS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Running in the SVM test host (KVHOST=svm on the host's command line). */
bool qemu_svm_host(void);

/*
 * @dr7 with only its I/O breakpoints (R/W=10) left enabled: an instruction
 * breakpoint hit where CS.base is not 0 segfaults QEMU, a data breakpoint
 * hit while an interrupt is delivered aborts it.
 */
uint64_t qemu_safe_dr7(uint64_t dr7);

/* TR present and an available TSS: a busy or absent one aborts QEMU. */
void qemu_safe_tr(struct kvm_segment *tr);

/*
 * Both of those for a whole register set, plus CR4.PAE wherever EFER.LME
 * is set with paging off: QEMU's #VMEXIT from LME=1, PG=0, PAE=0 leaves
 * the host running on the guest's CR0.
 */
void qemu_safe_sregs(struct kvm_sregs *s);

#endif
