// SPDX-License-Identifier: GPL-2.0
/*
 * tsc_aux: RDTSCP and RDPID return the guest's IA32_TSC_AUX, never the
 * host's (which is the host CPU number), and RDPRU raises #UD (it would
 * read the host's APERF/MPERF), as in KVM.
 *
 * Three guests.  The first has the supported CPUID; userspace sets
 * TSC_AUX to 0x5a5a with KVM_SET_MSRS.  The second has RDTSCP and RDPID
 * added to its CPUID where the host has them, and sets TSC_AUX itself
 * with WRMSR (0x5a5b), reads it back with RDMSR, and KVM_GET_MSRS sees
 * it.  The third has both taken out of its CPUID; userspace sets TSC_AUX
 * (KVM lets it, the host has the MSR).
 *
 * An instruction must return the guest's value where the guest's CPUID
 * offers it and the supported CPUID does too, and on an AMD host whatever
 * CPUID says (AMD does not gate RDTSCP/RDPID on CPUID, so a guest can
 * always run them).  On an Intel host an instruction the guest's CPUID
 * does not offer must raise #UD.  Elsewhere (a VMX hypervisor that does
 * not offer RDTSCP but was given it by userspace) it may do either, and
 * the test says which.  Without RDTSCP and RDPID on the host, SKIP.
 */
#include <cpuid.h>
#include <string.h>

#include "kvm_util.h"

#define MSR_TSC_AUX	0xc0000103
#define HOST_AUX	0x5a5a
#define GUEST_AUX	0x5a5b

/* What each instruction gave: the value, or ~0 for #UD. */
#define GOT_UD		(~0ULL)

enum { RDTSCP, RDPID, RDPRU, NR_INSNS };
static const char *const insn_name[] = { "RDTSCP", "RDPID", "RDPRU" };

static void wrmsr_or_gp(uint32_t msr, uint64_t val)
{
	guest_fault_len = 2;
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)));
}

static uint64_t run_insn(int which)
{
	uint64_t val = 0;
	int ud = guest_ud_count;

	switch (which) {
	case RDTSCP:
		guest_fault_len = 3;				/* 0F 01 F9 */
		asm volatile(".byte 0x0f, 0x01, 0xf9"
			     : "=c"(val) : "c"(0) : "rax", "rdx");
		val = (uint32_t)val;
		break;
	case RDPID:
		guest_fault_len = 4;				/* F3 0F C7 F8 */
		asm volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8"
			     : "=a"(val) : "a"(0));
		break;
	case RDPRU:
		guest_fault_len = 3;				/* 0F 01 FD */
		asm volatile(".byte 0x0f, 0x01, 0xfd"
			     : : "c"(0) : "rax", "rdx");
		break;
	}
	return guest_ud_count != ud ? GOT_UD : val;
}

/* @set: the guest writes @aux to TSC_AUX first (and must be able to). */
static void guest_code(uint64_t set, uint64_t aux)
{
	int i;

	if (set) {
		wrmsr_or_gp(MSR_TSC_AUX, aux);
		GUEST_ASSERT_EQ(guest_gp_count, 0);
		GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), aux);
	}
	for (i = 0; i < NR_INSNS; i++)
		GUEST_SYNC2(i, run_insn(i));
	GUEST_DONE();
}

static bool host_has(uint32_t leaf, int reg, int bit)
{
	uint32_t r[4];

	if (__get_cpuid_max(leaf & 0x80000000, NULL) < leaf)
		return false;
	__cpuid_count(leaf, 0, r[0], r[1], r[2], r[3]);
	return r[reg] & (1U << bit);
}

/* Is RDTSCP (0x80000001.EDX[27]) or RDPID (7.ECX[22]) in @cpuid? */
static bool cpuid_offers(struct kvm_cpuid2 *cpuid, int which)
{
	struct kvm_cpuid_entry2 *e;

	if (which == RDTSCP) {
		e = cpuid_find_leaf(cpuid, 0x80000001);
		return e && (e->edx & (1U << 27));
	}
	e = cpuid_find_leaf(cpuid, 7);
	return e && (e->ecx & (1U << 22));
}

enum guest_cpuid { SUPPORTED, ADDED, REMOVED };

/* RDTSCP and RDPID added where the host has them, or taken out. */
static void edit_features(struct kvm_cpuid2 *cpuid, enum guest_cpuid how)
{
	struct kvm_cpuid_entry2 *e;

	e = cpuid_find_leaf(cpuid, 0x80000001);
	if (e && how == REMOVED)
		e->edx &= ~(1U << 27);
	else if (e && host_has(0x80000001, 3, 27))
		e->edx |= 1U << 27;
	e = cpuid_find_leaf(cpuid, 7);
	if (e && how == REMOVED)
		e->ecx &= ~(1U << 22);
	else if (e && host_has(7, 2, 22))
		e->ecx |= 1U << 22;
}

static const char *const cpuid_name[] = {
	"the supported CPUID", "RDTSCP and RDPID added to CPUID",
	"RDTSCP and RDPID taken out of CPUID",
};

static void msr_io(struct kvm_vcpu *vcpu, unsigned long nr, uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = MSR_TSC_AUX, .e.data = *val };

	TEST_ASSERT_EQ(ioctl(vcpu->fd, nr, &b), 1);
	*val = b.e.data;
}

static void check(int which, uint64_t got, uint64_t aux,
		  struct kvm_cpuid2 *guest, struct kvm_cpuid2 *supported)
{
	bool host_has_it = which == RDTSCP ? host_has(0x80000001, 3, 27) :
			   host_has(7, 2, 22);
	bool must_work, must_ud;

	if (which == RDPRU) {
		TEST_ASSERT(got == GOT_UD, "RDPRU did not raise #UD");
		return;
	}
	if (!host_has_it) {
		ksft_print_msg("%s: not on this host (%s)\n", insn_name[which],
			       got == GOT_UD ? "#UD" : "ran");
		return;
	}
	must_work = host_cpu_is_amd() ||
		    (cpuid_offers(guest, which) &&
		     cpuid_offers(supported, which));
	must_ud = !host_cpu_is_amd() && !cpuid_offers(guest, which);
	TEST_ASSERT(got == GOT_UD || got == aux,
		    "%s returned %#lx, not the guest's TSC_AUX %#lx",
		    insn_name[which], (unsigned long)got, (unsigned long)aux);
	TEST_ASSERT(!must_work || got == aux, "%s raised #UD",
		    insn_name[which]);
	TEST_ASSERT(!must_ud || got == GOT_UD,
		    "%s ran though the guest's CPUID does not offer it",
		    insn_name[which]);
	ksft_print_msg("%s: %s\n", insn_name[which],
		       got == GOT_UD ? "#UD" : "the guest's TSC_AUX");
}

static void run_guest(enum guest_cpuid how, struct kvm_cpuid2 *supported)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	bool guest_sets = how == ADDED;
	uint64_t aux = guest_sets ? GUEST_AUX : HOST_AUX + how, val;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int i;

	if (how != SUPPORTED)
		edit_features(cpuid, how);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, UD_VECTOR, guest_skip_ud);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	if (!guest_sets) {
		val = aux;
		msr_io(vcpu, KVM_SET_MSRS, &val);
	}
	vcpu_args_set(vcpu, 2, (uint64_t)guest_sets, aux);
	ksft_print_msg("%s, TSC_AUX %#lx set by %s:\n", cpuid_name[how],
		       (unsigned long)aux,
		       guest_sets ? "the guest" : "KVM_SET_MSRS");
	for (i = 0; i < NR_INSNS; i++) {
		vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
		TEST_ASSERT_EQ(uc.args[0], i);
		check(i, uc.args[1], aux, cpuid, supported);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	val = 0;
	msr_io(vcpu, KVM_GET_MSRS, &val);
	TEST_ASSERT_EQ(val, aux);
	kvm_vm_free(vm);
	free(cpuid);
}

int main(void)
{
	struct kvm_cpuid2 *supported;

	if (!host_has(0x80000001, 3, 27) && !host_has(7, 2, 22))
		ksft_exit_skip("the host has neither RDTSCP nor RDPID\n");
	supported = kvm_get_supported_cpuid();
	TEST_ASSERT(supported, "KVM_GET_SUPPORTED_CPUID failed");
	run_guest(SUPPORTED, supported);
	run_guest(ADDED, supported);
	run_guest(REMOVED, supported);
	free(supported);
	ksft_exit_pass();
}
