// SPDX-License-Identifier: GPL-2.0
/*
 * entry_failure_names: when the hardware refuses a guest state, kvisor
 * names the broken rule (dmesg and kvm_run, see <linux/kvisor.h>).  Three
 * invalid states, each accepted by KVM_SET_SREGS but refused by VM entry
 * or VMRUN, must each come back as KVM_EXIT_FAIL_ENTRY with the right
 * name; then the repaired vCPU runs.
 */
#include <cpuid.h>
#include <linux/kvisor.h>

#include "kvm_util.h"

static void guest_code(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

struct bad_state {
	const char *what;
	const char *rule;	/* a part of the name kvisor must give */
	void (*make)(struct kvm_sregs *s);
};

static void cs_l_and_d(struct kvm_sregs *s)
{
	s->cs.db = 1;
}

static void pg_without_pe(struct kvm_sregs *s)
{
	s->cr0 &= ~1ULL;
}

static void tr_16bit_tss(struct kvm_sregs *s)
{
	s->tr.type = 3;		/* a busy 16-bit TSS: not in long mode */
}

static void nw_without_cd(struct kvm_sregs *s)
{
	s->cr0 = (s->cr0 & ~(1ULL << 30)) | (1ULL << 29);
}

static const struct bad_state common_states[] = {
	{ "CS.L=1, CS.D=1 in long mode", "CS.L=1 with CS.D=1", cs_l_and_d },
	{ "CR0.PG=1, CR0.PE=0", "CR0.PE=0", pg_without_pe },
};

static const struct bad_state intel_state = {
	"TR a 16-bit TSS in long mode", "TR type is not a busy TSS",
	tr_16bit_tss,
};

static const struct bad_state amd_state = {
	"CR0.NW=1, CR0.CD=0", "CR0.NW=1 with CR0.CD=0", nw_without_cd,
};

static void check(struct kvm_vcpu *vcpu, const struct kvm_sregs *good,
		  const struct bad_state *b)
{
	struct kvisor_fail_entry *fe = (void *)&vcpu->run->fail_entry;
	struct kvm_sregs bad = *good;

	b->make(&bad);
	vcpu_sregs_set(vcpu, &bad);
	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_FAIL_ENTRY);
	if (fe->magic != KVISOR_FAIL_ENTRY_MAGIC)
		ksft_exit_skip("no named entry failures (not kvisor?)\n");
	fe->rule[sizeof(fe->rule) - 1] = 0;
	TEST_ASSERT(strstr(fe->rule, b->rule),
		    "%s: kvisor named \"%s\", expected a rule with \"%s\"",
		    b->what, fe->rule, b->rule);
	ksft_print_msg("%s: reason %#llx, \"%s\"\n", b->what,
		       (unsigned long long)fe->hardware_entry_failure_reason,
		       fe->rule);
	vcpu_sregs_set(vcpu, (struct kvm_sregs *)good);
}

int main(void)
{
	unsigned int eax, ebx, ecx, edx;
	struct kvm_vcpu *vcpu;
	struct kvm_sregs good;
	struct kvm_vm *vm;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vcpu_sregs_get(vcpu, &good);
	for (i = 0; i < ARRAY_SIZE(common_states); i++)
		check(vcpu, &good, &common_states[i]);

	/* The third rule is one only the host's vendor checks. */
	__cpuid(0, eax, ebx, ecx, edx);
	check(vcpu, &good, ebx == 0x756e6547 /* "Genu" */ ? &intel_state :
							     &amd_state);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("three invalid states named; the repaired vCPU runs\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
