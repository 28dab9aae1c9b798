// SPDX-License-Identifier: GPL-2.0
/*
 * pv_hypercall: KVM's hypercall ABI and the quirk switches around it.
 *
 * The guest makes hypercalls with this vendor's instruction (VMCALL on
 * Intel, VMMCALL on AMD): KVM_HC_VAPIC_POLL_IRQ and KVM_HC_SCHED_YIELD
 * return 0, an unknown number -KVM_ENOSYS.  It then runs the other
 * vendor's instruction, as a guest migrated between vendors would: with
 * KVM_X86_QUIRK_FIX_HYPERCALL_INSN on, the hypervisor rewrote it into the
 * native one and the call returned 0; after KVM_CAP_DISABLE_QUIRKS2 turns
 * the quirk off it raises #UD and stays as it was.  MONITOR and MWAIT,
 * which the guest's CPUID does not offer, are NOPs while
 * KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is on and #UD once it is off; with
 * KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off as well, setting
 * IA32_MISC_ENABLE's MWAIT bit makes CPUID offer MONITOR and the two
 * instructions NOPs again.  A second VM enforces its CPUID's paravirtual
 * features (KVM_CAP_ENFORCE_PV_FEATURE_CPUID) with an empty KVM feature
 * leaf: KVM_HC_KICK_CPU, KVM_HC_SEND_IPI and KVM_HC_SCHED_YIELD return
 * -KVM_ENOSYS and the kvmclock MSRs #GP, for the guest and for
 * KVM_GET_MSRS.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/kvm_para.h>
#include <asm/kvm_para.h>

#include "kvm_util.h"

/* hc_site must exist once: site_call() is never inlined */
#define __noinline	__attribute__((__noinline__))

#define QUIRKS_USED	(KVM_X86_QUIRK_FIX_HYPERCALL_INSN |		\
			 KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS |		\
			 KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT)
#define BIT(n)			(1U << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define MSR_MISC_ENABLE		0x1a0
#define MISC_ENABLE_MWAIT	BIT_ULL(18)
#define CPUID_1_ECX_MWAIT	BIT(3)
#define HC_LEN			3

static const uint8_t vmcall_insn[HC_LEN] = { 0x0f, 0x01, 0xc1 };
static const uint8_t vmmcall_insn[HC_LEN] = { 0x0f, 0x01, 0xd9 };
extern uint8_t hc_site[HC_LEN];

static volatile int ud_count, gp_count;

/* #UD: the hypercall, MONITOR and MWAIT are all three bytes long. */
static void ud_handler(struct ex_regs *regs)
{
	ud_count++;
	regs->rax = -EFAULT;
	regs->rip += HC_LEN;
}

static void gp_handler(struct ex_regs *regs)
{
	gp_count++;
	regs->rip += 2;		/* RDMSR */
}

static uint64_t hypercall(bool amd, uint64_t nr, uint64_t a0)
{
	uint64_t ret;

	if (amd)
		asm volatile("vmmcall" : "=a"(ret) : "a"(nr), "b"(a0) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a0) : "memory");
	return ret;
}

/* A hypercall whose instruction the guest writes at hc_site first. */
static __noinline uint64_t site_call(uint64_t nr)
{
	uint64_t ret;

	asm volatile("hc_site: .byte 0xcc, 0xcc, 0xcc"
		     : "=a"(ret) : "a"(nr), "b"(0ULL) : "memory");
	return ret;
}

static void site_set(const uint8_t *insn)
{
	int i;

	for (i = 0; i < HC_LEN; i++)
		((volatile uint8_t *)hc_site)[i] = insn[i];
}

static bool site_is(const uint8_t *insn)
{
	int i;

	for (i = 0; i < HC_LEN; i++)
		if (((volatile uint8_t *)hc_site)[i] != insn[i])
			return false;
	return true;
}

static void monitor_mwait(void)
{
	/* SVM checks MONITOR's operands before its intercept: valid ones. */
	asm volatile("monitor" : : "a"(hc_site), "c"(0), "d"(0));
	asm volatile("mwait" : : "a"(0), "c"(0));
}

static void guest_code(uint64_t amd)
{
	const uint8_t *native = amd ? vmmcall_insn : vmcall_insn;
	const uint8_t *other = amd ? vmcall_insn : vmmcall_insn;
	uint32_t a = 1, b, c = 0, d;

	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_VAPIC_POLL_IRQ, 0), 0);
	GUEST_ASSERT_EQ(hypercall(amd, 0xabcd, 0), (uint64_t)-KVM_ENOSYS);
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_SCHED_YIELD, 0), 0);
	/* a hint: 0 also for an APIC ID no vCPU has */
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_SCHED_YIELD, 7), 0);
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_SCHED_YIELD, ~0ULL), 0);
	/* the other vendor's instruction, fixed up */
	site_set(other);
	GUEST_ASSERT_EQ(site_call(KVM_HC_VAPIC_POLL_IRQ), 0);
	GUEST_ASSERT(site_is(native));
	GUEST_ASSERT_EQ(site_call(0xabcd), (uint64_t)-KVM_ENOSYS);
	monitor_mwait();
	GUEST_ASSERT_EQ(ud_count, 0);
	GUEST_SYNC(1);

	/* FIX_HYPERCALL_INSN and MWAIT_NEVER_UD_FAULTS are off. */
	site_set(other);
	GUEST_ASSERT_EQ(site_call(KVM_HC_VAPIC_POLL_IRQ), (uint64_t)-EFAULT);
	GUEST_ASSERT(site_is(other));
	GUEST_ASSERT_EQ(ud_count, 1);
	monitor_mwait();
	GUEST_ASSERT_EQ(ud_count, 3);
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_VAPIC_POLL_IRQ, 0), 0);
	GUEST_SYNC(2);

	/* MISC_ENABLE_NO_MWAIT off too, and IA32_MISC_ENABLE.MWAIT set. */
	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	GUEST_ASSERT(c & CPUID_1_ECX_MWAIT);
	monitor_mwait();
	GUEST_ASSERT_EQ(ud_count, 3);
	GUEST_DONE();
}

static void guest_enforce(uint64_t amd)
{
	uint32_t lo, hi;

	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_KICK_CPU, 0),
			(uint64_t)-KVM_ENOSYS);
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_SEND_IPI, 0),
			(uint64_t)-KVM_ENOSYS);
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_SCHED_YIELD, 0),
			(uint64_t)-KVM_ENOSYS);
	GUEST_ASSERT_EQ(hypercall(amd, KVM_HC_VAPIC_POLL_IRQ, 0), 0);
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi)
		     : "c"(MSR_KVM_SYSTEM_TIME_NEW));
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_KVM_WALL_CLOCK));
	GUEST_ASSERT_EQ(gp_count, 2);
	GUEST_DONE();
}

static void enable_cap(int fd, uint32_t cap, uint64_t arg, int err)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { arg } };
	int r = ioctl(fd, KVM_ENABLE_CAP, &c);

	if (err)
		TEST_ASSERT(r == -1 && errno == err,
			    "KVM_ENABLE_CAP(%u, %#lx): %d, errno %d, not %d",
			    cap, (unsigned long)arg, r, errno, err);
	else
		TEST_ASSERT(!r, "KVM_ENABLE_CAP(%u, %#lx): errno %d", cap,
			    (unsigned long)arg, errno);
}

/* The vCPU's CPUID, with leaf @fn's register @reg ANDed with @mask. */
static void cpuid_clear(struct kvm_vcpu *vcpu, uint32_t fn, uint32_t mask)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	struct kvm_cpuid_entry2 *e;

	TEST_ASSERT(cpuid, "KVM_GET_SUPPORTED_CPUID");
	e = cpuid_find_leaf(cpuid, fn);
	TEST_ASSERT(e, "no CPUID leaf %#x", fn);
	if (fn == 1)
		e->ecx &= mask;
	else
		e->eax &= mask;
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
}

static void test_quirks(bool amd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_MISC_ENABLE };
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *cpuid;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, UD_VECTOR, ud_handler);
	cpuid_clear(vcpu, 1, ~CPUID_1_ECX_MWAIT);
	vcpu_args_set(vcpu, 1, (uint64_t)amd);
	enable_cap(vm->fd, KVM_CAP_DISABLE_QUIRKS2, 1ULL << 31, EINVAL);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	enable_cap(vm->fd, KVM_CAP_DISABLE_QUIRKS2,
		   KVM_X86_QUIRK_FIX_HYPERCALL_INSN |
		   KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);

	enable_cap(vm->fd, KVM_CAP_DISABLE_QUIRKS2, QUIRKS_USED, 0);
	TEST_ASSERT_EQ(ioctl(vcpu->fd, KVM_GET_MSRS, &m), 1);
	m.e.data |= MISC_ENABLE_MWAIT;
	TEST_ASSERT_EQ(ioctl(vcpu->fd, KVM_SET_MSRS, &m), 1);
	/* KVM_GET_CPUID2 shows the bit the guest will see */
	cpuid = calloc(1, sizeof(*cpuid) + 100 * sizeof(*e));
	cpuid->nent = 100;
	vcpu_ioctl(vcpu, KVM_GET_CPUID2, cpuid);
	e = cpuid_find_leaf(cpuid, 1);
	TEST_ASSERT(e && (e->ecx & CPUID_1_ECX_MWAIT),
		    "CPUID.1:ECX.MONITOR not set by IA32_MISC_ENABLE");
	free(cpuid);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
}

static void test_enforce(bool amd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_KVM_SYSTEM_TIME_NEW };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_enforce, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, GP_VECTOR, gp_handler);
	vcpu_args_set(vcpu, 1, (uint64_t)amd);
	enable_cap(vcpu->fd, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1, 0);
	cpuid_clear(vcpu, KVM_CPUID_FEATURES, 0);
	enable_cap(vcpu->fd, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1, 0);
	/* KVM refuses the MSR to userspace too */
	TEST_ASSERT_EQ(ioctl(vcpu->fd, KVM_GET_MSRS, &m), 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
}

int main(void)
{
	bool amd = host_cpu_is_amd();
	int quirks = kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2);

	TEST_ASSERT((quirks & QUIRKS_USED) == QUIRKS_USED,
		    "KVM_CAP_DISABLE_QUIRKS2 is %#x", quirks);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID), 1);
	test_quirks(amd);
	ksft_print_msg("%s hypercalls, the other vendor's fixed up or #UD, %s\n",
		       amd ? "VMMCALL" : "VMCALL",
		       "MONITOR/MWAIT under both quirk settings: ok");
	test_enforce(amd);
	ksft_print_msg("ENFORCE_PV_FEATURE_CPUID: -KVM_ENOSYS, #GP where CPUID withholds: ok\n");
	ksft_exit_pass();
}
