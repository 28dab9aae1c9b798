// SPDX-License-Identifier: GPL-2.0
/*
 * entry_failure_names: when the hardware refuses a guest state, kvisor
 * names the broken rule (dmesg and kvm_run, see <linux/kvisor.h>).  Invalid
 * states that KVM_SET_SREGS accepts but VM entry or VMRUN refuses must
 * each come back as KVM_EXIT_FAIL_ENTRY with the right name; then the
 * repaired vCPU runs.  States that break the architectural rules (PG
 * without PE, NW without CD, a long-mode CR3 beyond the guest's
 * MAXPHYADDR) never get that far: KVM_SET_SREGS refuses them with EINVAL,
 * as KVM does.
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

/* CR3 at or above the guest's MAXPHYADDR (at most 52) in long mode */
static void cr3_beyond_maxphyaddr(struct kvm_sregs *s)
{
	s->cr3 |= 1ULL << 52;
}

static const struct bad_state intel_state = {
	"TR a 16-bit TSS in long mode", "TR type is not a busy TSS",
	tr_16bit_tss,
};

/* KVM 6.1's KVM_SET_SREGS passes EFER on without checking its bits. */
static void efer_bit1(struct kvm_sregs *s)
{
	s->efer |= 1ULL << 1;
}

static const struct bad_state common_states[] = {
	{ "CS.L=1, CS.D=1 in long mode", "CS.L=1 with CS.D=1", cs_l_and_d },
	{ "EFER bit 1 (reserved) set", "EFER reserved bits", efer_bit1 },
};

/* States KVM_SET_SREGS itself must refuse, leaving the vCPU as it was. */
static const struct bad_state refused_states[] = {
	{ "CR0.PG=1, CR0.PE=0", NULL, pg_without_pe },
	{ "CR0.NW=1, CR0.CD=0", NULL, nw_without_cd },
	{ "CR3 beyond MAXPHYADDR in long mode", NULL, cr3_beyond_maxphyaddr },
};

static void check_refused(struct kvm_vcpu *vcpu, const struct kvm_sregs *good,
			  const struct bad_state *b)
{
	struct kvm_sregs bad = *good, now;
	int r;

	b->make(&bad);
	r = __vcpu_ioctl(vcpu, KVM_SET_SREGS, &bad);
	TEST_ASSERT(r == -1 && errno == EINVAL,
		    "%s: KVM_SET_SREGS gave %d (%s), KVM refuses with EINVAL",
		    b->what, r, strerror(errno));
	vcpu_sregs_get(vcpu, &now);
	TEST_ASSERT_EQ(now.cr0, good->cr0);
	ksft_print_msg("%s: refused by KVM_SET_SREGS\n", b->what);
}

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
	for (i = 0; i < ARRAY_SIZE(refused_states); i++)
		check_refused(vcpu, &good, &refused_states[i]);
	for (i = 0; i < ARRAY_SIZE(common_states); i++)
		check(vcpu, &good, &common_states[i]);

	/* A rule only Intel's VM entry checks (KVM_SET_SREGS leaves TR be). */
	__cpuid(0, eax, ebx, ecx, edx);
	if (ebx == 0x756e6547 /* "Genu" */)
		check(vcpu, &good, &intel_state);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("invalid states refused or named; the repaired vCPU runs\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
