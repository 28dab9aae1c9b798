// SPDX-License-Identifier: GPL-2.0
/*
 * perf_guest: not a test, the guest that the host-side test perf_kvm_stat
 * (selftests/hosts/guest/perf_kvm_stat) runs under "perf kvm stat record"
 * and "trace-cmd record": a known mix of exits (OUTs, MMIO writes,
 * CPUIDs, RDMSRs, HLTs), then kvisor's own count of them, one
 * "STAT <name> <value>" line each, from the vCPU's binary stats fd.
 */
#include "kvm_util.h"

#define MMIO_GPA	0xc0000000ULL
#define NR_OUT		20
#define NR_MMIO		8
#define NR_CPUID	30
#define NR_RDMSR	10
#define NR_HLT		5

static void guest_code(void)
{
	volatile uint32_t *m = (uint32_t *)MMIO_GPA;
	uint32_t a, b, c, d;
	int i;

	for (i = 0; i < NR_OUT; i++)
		asm volatile("outb %%al, $0x99" : : "a"(i));
	for (i = 0; i < NR_MMIO; i++)
		m[i] = i;
	for (i = 0; i < NR_CPUID; i++)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(0), "c"(0));
	for (i = 0; i < NR_RDMSR; i++)
		asm volatile("rdmsr" : "=a"(a), "=d"(d) : "c"(0x1a0));
	for (i = 0; i < NR_HLT; i++)
		asm volatile("cli; hlt");
	GUEST_DONE();
}

int main(void)
{
	static const char *const stats[] = {
		"exits", "io_exits", "mmio_exits", "halt_exits", "cpuid_exits",
		"msr_exits", "nested_page_fault_exits", "irq_exits",
		"irq_window_exits", "other_exits",
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);
	for (;;) {
		vcpu_run(vcpu);
		if (get_ucall(vcpu, &uc) == UCALL_DONE)
			break;
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO ||
			    vcpu->run->exit_reason == KVM_EXIT_MMIO ||
			    vcpu->run->exit_reason == KVM_EXIT_HLT,
			    "unexpected exit %s%s",
			    exit_reason_str(vcpu->run->exit_reason),
			    vcpu_exit_details(vcpu));
	}
	for (i = 0; i < ARRAY_SIZE(stats); i++)
		printf("STAT %s %llu\n", stats[i],
		       (unsigned long long)vcpu_get_stat(vcpu, stats[i]));
	kvm_vm_free(vm);
	return 0;
}
