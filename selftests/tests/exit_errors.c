// SPDX-License-Identifier: GPL-2.0
/*
 * exit_errors: the exits that report trouble rather than work to do.
 *
 *  - KVM_EXIT_FAIL_ENTRY: the hardware refuses to enter a guest whose
 *    state breaks its consistency rules.  A 64-bit code segment with D=1
 *    (CS.L and CS.D both set) passes KVM_SET_SREGS' own checks but is
 *    refused by VMRUN and VM entry alike.
 *  - KVM_EXIT_INTERNAL_ERROR with KVM_INTERNAL_ERROR_EMULATION: an MMIO
 *    access by an instruction the hypervisor cannot emulate; the exit
 *    carries the instruction's bytes.  KVM_CAP_INTERNAL_ERROR_DATA is 1:
 *    ndata says how many of data[] are filled, at most 16.
 * After each, the vCPU is repaired through the ABI and runs on.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define MMIO_GPA	0xc0000000ULL	/* mapped by the guest, no memslot */

static void guest_code(void)
{
	uint64_t v = 1;

	GUEST_SYNC(1);
	/* XADD with a memory operand: kvisor's emulator does not do it. */
	asm volatile("lock xaddq %%rax, (%%rdi)"	/* F0 48 0F C1 07 */
		     : "+a"(v) : "D"(MMIO_GPA) : "memory");
	GUEST_SYNC(2);
	GUEST_DONE();
}

static void test_fail_entry(struct kvm_vcpu *vcpu)
{
	struct kvm_sregs good, bad;

	vcpu_sregs_get(vcpu, &good);

	/* KVM's own rules come first: long mode without EFER.LMA is -EINVAL. */
	bad = good;
	bad.efer &= ~(1ULL << 10);
	TEST_ASSERT(ioctl(vcpu->fd, KVM_SET_SREGS, &bad) == -1 && errno == EINVAL,
		    "KVM_SET_SREGS with LME, PG and no LMA: not EINVAL");

	bad = good;
	bad.cs.db = 1;		/* with cs.l = 1: no such code segment */
	vcpu_sregs_set(vcpu, &bad);
	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_FAIL_ENTRY);
	ksft_print_msg("CS.L=1 with CS.D=1: KVM_EXIT_FAIL_ENTRY, reason %#llx\n",
		       (unsigned long long)
		       vcpu->run->fail_entry.hardware_entry_failure_reason);

	/* Nothing ran: with the state repaired, the guest starts normally. */
	vcpu_sregs_set(vcpu, &good);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
}

static void test_internal_error(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	uint8_t insn[16];

	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	if (run->exit_reason == KVM_EXIT_MMIO)
		ksft_exit_skip("this hypervisor emulates XADD on MMIO\n");
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_INTERNAL_ERROR);
	TEST_ASSERT_EQ(run->internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_INTERNAL_ERROR_DATA), 1);
	TEST_ASSERT(run->internal.ndata <= ARRAY_SIZE(run->internal.data),
		    "ndata %u: more than kvm_run has", run->internal.ndata);
	TEST_ASSERT(run->internal.ndata >= 5 && run->internal.data[2] >= 4,
		    "ndata %u, %llu instruction bytes", run->internal.ndata,
		    (unsigned long long)run->internal.data[2]);
	memcpy(insn, &run->internal.data[3], sizeof(insn));
	/* lock xadd %rax, (%rdi) */
	TEST_ASSERT(insn[0] == 0xf0 && insn[2] == 0x0f && insn[3] == 0xc1,
		    "instruction bytes %02x %02x %02x %02x",
		    insn[0], insn[1], insn[2], insn[3]);
	ksft_print_msg("LOCK XADD on MMIO: KVM_EXIT_INTERNAL_ERROR (emulation), bytes %02x %02x %02x %02x\n",
		       insn[0], insn[1], insn[2], insn[3]);

	/* Skip the instruction by hand: the guest goes on. */
	vcpu_regs_get(vcpu, &regs);
	regs.rip += 5;
	vcpu_regs_set(vcpu, &regs);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);
	test_fail_entry(vcpu);
	test_internal_error(vcpu);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
