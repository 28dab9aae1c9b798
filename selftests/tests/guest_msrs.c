// SPDX-License-Identifier: GPL-2.0
/*
 * guest_msrs: MSR and XCR0 accesses the hypervisor handles in the kernel.
 * The guest reads EFER (its own bits only: no SVME), writes and reads PAT,
 * reads a rising TSC and the APIC base (BSP flag on vCPU 0), and gets #GP
 * for an MSR nobody models and for a reserved EFER bit; the legacy
 * performance counters (AMD's K7 four, Intel's two P6 ones, which no
 * CPUID bit announces) read as 0 and take a write of 0 without a #GP, as
 * on KVM without a vPMU; with CR4.OSXSAVE
 * it sets XCR0 with XSETBV, and gets #GP for an XCR0 without x87.  The
 * guest's CR8 (TPR) is its own: set to 15 it reads back 15 and shows in
 * KVM_GET_SREGS, while the host (whose own TPR it must not be) goes on
 * taking interrupts.
 */
#include <unistd.h>

#include "kvm_util.h"

#define MSR_EFER		0xc0000080
#define MSR_PAT			0x277
#define MSR_TSC			0x10
#define MSR_APIC_BASE		0x1b
#define MSR_NOBODY		0x2ff0	/* not an architectural MSR */

/* K7 EVNTSEL0-3 and PERFCTR0-3; P6 PERFCTR0-1 and EVNTSEL0-1 */
static const uint32_t legacy_perf_msrs[] = {
	0xc0010000, 0xc0010001, 0xc0010002, 0xc0010003,
	0xc0010004, 0xc0010005, 0xc0010006, 0xc0010007,
	0xc1, 0xc2, 0x186, 0x187,
};

static void guest_code(void)
{
	uint64_t efer, tsc1, tsc2, cr4, xcr0;
	uint32_t lo, hi, i;

	efer = rdmsr(MSR_EFER);
	GUEST_ASSERT_EQ(efer & ((1 << 8) | (1 << 10)), (1 << 8) | (1 << 10));
	GUEST_ASSERT_EQ(efer & (1 << 12), 0);	/* SVME is the host's */

	wrmsr(MSR_PAT, 0x0007040600070406ULL ^ 0x0100);	/* WT in PAT1 */
	GUEST_ASSERT_EQ(rdmsr(MSR_PAT), 0x0007040600070406ULL ^ 0x0100);

	tsc1 = rdmsr(MSR_TSC);
	tsc2 = rdmsr(MSR_TSC);
	GUEST_ASSERT(tsc2 > tsc1);
	GUEST_ASSERT_EQ(rdmsr(MSR_APIC_BASE), 0xfee00900ULL);

	guest_fault_len = 2;			/* rdmsr and wrmsr: 0F 32/30 */
	rdmsr(MSR_NOBODY);
	GUEST_ASSERT_EQ(guest_gp_count, 1);
	wrmsr(MSR_EFER, efer | (1ULL << 20));	/* a reserved bit */
	GUEST_ASSERT_EQ(guest_gp_count, 2);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), efer);

	for (i = 0; i < ARRAY_SIZE(legacy_perf_msrs); i++) {
		wrmsr(legacy_perf_msrs[i], 0);
		GUEST_ASSERT_EQ(rdmsr(legacy_perf_msrs[i]), 0);
	}
	GUEST_ASSERT_EQ(guest_gp_count, 2);

	cr4 = get_cr4();
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | (1 << 18)));	/* OSXSAVE */
	asm volatile("xsetbv" : : "c"(0), "a"(3), "d"(0));	/* x87 | SSE */
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	xcr0 = lo | (uint64_t)hi << 32;
	GUEST_ASSERT_EQ(xcr0, 3);
	guest_fault_len = 3;			/* xsetbv: 0F 01 D1 */
	asm volatile("xsetbv" : : "c"(0), "a"(2), "d"(0));	/* no x87 */
	GUEST_ASSERT_EQ(guest_gp_count, 3);

	asm volatile("mov %0, %%cr8" : : "r"(15UL));
	asm volatile("mov %%cr8, %0" : "=r"(cr4));
	GUEST_ASSERT_EQ(cr4, 15);
	GUEST_SYNC(15);
	GUEST_DONE();
}

int main(void)
{
	struct kvm_sregs sregs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, 13, guest_skip_gp);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 15);
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(sregs.cr8, 15);
	/* A guest holding TPR 15 for a while must not starve the host. */
	usleep(100000);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("EFER, PAT, TSC, APIC base, #GP for unknown MSRs and bad XCR0, CR8: ok\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
