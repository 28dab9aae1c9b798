// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs_stats: what kvisor shows about a running guest.  A guest makes a
 * known number of port I/O exits and CPUID exits; the vCPU's "exits" file
 * must count them, and its "state" file must show the decoded VMCS or
 * VMCB with the guest's RIP.  The vCPU's "stats" file shows what its
 * stats fd shows, under KVM's names (the same counts as "exits"), and the
 * VM's "stats" file the VM's.
 */
#include <dirent.h>
#include <unistd.h>

#include "kvm_util.h"

#define NR_OUTS		25
#define NR_CPUIDS	40

static void guest_code(void)
{
	uint32_t a, b, c, d;
	int i;

	for (i = 0; i < NR_OUTS; i++)
		asm volatile("outb %%al, $0x99" : : "a"(i));
	for (i = 0; i < NR_CPUIDS; i++)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(0), "c"(0));
	GUEST_DONE();
}

int main(void)
{
	char dir[300], path[320], text[8192], rip[32];
	unsigned long long io, cpuid, total;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	struct kvm_vm *vm;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	for (i = 0; i < NR_OUTS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		TEST_ASSERT_EQ(vcpu->run->io.port, 0x99);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	kvisor_vm_debugfs_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/vcpu0/exits", dir);
	read_text_file(path, text, sizeof(text));
	io = text_counter(text, "io ");
	cpuid = text_counter(text, "cpuid ");
	total = text_counter(text, "total ");
	TEST_ASSERT(io >= NR_OUTS + 1 && cpuid == NR_CPUIDS && total >= io + cpuid,
		    "exits: io %llu cpuid %llu total %llu; expected io >= %d, cpuid %d",
		    io, cpuid, total, NR_OUTS + 1, NR_CPUIDS);
	ksft_print_msg("exits: total %llu, io %llu, cpuid %llu\n", total, io,
		       cpuid);

	/* The stats fd's names, one "name value" line each. */
	snprintf(path, sizeof(path), "%s/vcpu0/stats", dir);
	read_text_file(path, text, sizeof(text));
	TEST_ASSERT(text_counter(text, "\nio_exits ") == io &&
		    text_counter(text, "\ncpuid_exits ") == cpuid &&
		    text_counter(text, "\nexits ") == total &&
		    text_counter(text, "\nhalt_attempted_poll ") == 0 &&
		    strstr(text, "\nhalt_wait_hist "),
		    "vcpu0/stats disagrees with exits (io %llu cpuid %llu total %llu):\n%s",
		    io, cpuid, total, text);
	snprintf(path, sizeof(path), "%s/stats", dir);
	read_text_file(path, text, sizeof(text));
	text_counter(text, "remote_tlb_flush ");
	TEST_ASSERT(text_counter(text, "pages_4k ") +
		    text_counter(text, "pages_2m ") > 0,
		    "no nested mappings in the VM's stats:\n%s", text);
	ksft_print_msg("vcpu0/stats and the VM's stats agree with exits\n");

	vcpu_regs_get(vcpu, &regs);
	snprintf(path, sizeof(path), "%s/vcpu0/state", dir);
	read_text_file(path, text, sizeof(text));
	snprintf(rip, sizeof(rip), "rip %#llx", regs.rip);
	TEST_ASSERT(strstr(text, rip) &&
		    (strstr(text, "VMCS at") || strstr(text, "VMCB at")) &&
		    strstr(text, "last exit"),
		    "state has no \"%s\", VMCS/VMCB or last exit:\n%s", rip, text);
	ksft_print_msg("state:\n%s", text);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
