// SPDX-License-Identifier: GPL-2.0
/*
 * xsaves: IA32_XSS, XSAVES and XRSTORS as KVM 6.1 gives them.  XSAVES is
 * in the supported CPUID (leaf 0xd.1 EAX[3]) where the hypervisor can
 * offer it; no supervisor state is virtualized, so IA32_XSS is 0, and
 * only 0, for userspace and for a guest whose CPUID offers XSAVES.
 *
 * Userspace: KVM_GET_MSRS reads 0, KVM_SET_MSRS takes 0 and refuses each
 * of the 64 bits alone (upstream's xss_msr_test, which also lets a bit
 * through if IA32_XSS is on the save/restore list; it is on neither
 * hypervisor's).
 *
 * A guest with XSAVES in its CPUID turns on CR4.OSXSAVE and XCR0 =
 * x87|SSE; RDMSR of IA32_XSS reads 0, WRMSR of 0 works and of bit 8
 * (Intel PT's state, which KVM does not offer either) raises #GP.  It
 * puts a pattern in XMM0, saves x87|SSE with XSAVES (the compacted
 * format: XCOMP_BV bit 63 set, XMM0 at byte 160), clears XMM0, and
 * XRSTORS brings the pattern back.
 *
 * A guest without XSAVES in its CPUID, on an Intel host: XSAVES raises
 * #UD (the VMX control is off), IA32_XSS #GPs both ways.  On AMD XSAVES
 * cannot be turned off for a guest, so only the MSR is checked there.
 * Without XSAVES in the supported CPUID (QEMU's emulated CPU has none),
 * SKIP.
 */
#include "kvm_util.h"

#define MSR_IA32_XSS	0xda0
#define XCR0_X87_SSE	3ULL
#define XSS_PT		(1ULL << 8)
#define PATTERN		0x1122334455667788ULL

#define XSAVE_XMM0	160		/* XMM0 in the legacy area */
#define XSTATE_BV	512		/* the XSAVE header */
#define XCOMP_BV	520

/* The guest's XSAVE area, in its copy of this program */
uint8_t xs_area[4096] __attribute__((aligned(64)));

static uint64_t rdmsr_or_gp(uint32_t msr)
{
	uint32_t lo = 0, hi = 0;

	guest_fault_len = 2;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static void wrmsr_or_gp(uint32_t msr, uint64_t val)
{
	guest_fault_len = 2;
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)));
}

/* XSAVES64 and XRSTORS64 of x87|SSE at xs_area: 48 0F C7 /5 and /3 */
static void xsaves(void)
{
	guest_fault_len = 4;
	asm volatile(".byte 0x48, 0x0f, 0xc7, 0x2f"
		     : : "D"(xs_area), "a"((uint32_t)XCR0_X87_SSE), "d"(0)
		     : "memory");
}

static void xrstors(void)
{
	guest_fault_len = 4;
	asm volatile(".byte 0x48, 0x0f, 0xc7, 0x1f"
		     : : "D"(xs_area), "a"((uint32_t)XCR0_X87_SSE), "d"(0)
		     : "memory");
}

/* No compiler generated SSE here: XMM0 is under test. */
static void __attribute__((target("general-regs-only"))) guest_code(void)
{
	uint64_t v;
	int gp;

	asm volatile("mov %0, %%cr4" : : "r"(get_cr4() | X86_CR4_OSXSAVE));
	asm volatile("xsetbv" : : "c"(0), "a"((uint32_t)XCR0_X87_SSE), "d"(0));

	gp = guest_gp_count;
	v = rdmsr_or_gp(MSR_IA32_XSS);
	GUEST_SYNC2(guest_gp_count - gp, v);			/* 1: RDMSR */
	gp = guest_gp_count;
	wrmsr_or_gp(MSR_IA32_XSS, 0);
	GUEST_SYNC(guest_gp_count - gp);			/* 2: WRMSR 0 */
	gp = guest_gp_count;
	wrmsr_or_gp(MSR_IA32_XSS, XSS_PT);
	GUEST_SYNC(guest_gp_count - gp);			/* 3: WRMSR PT */

	/* (xs_area starts zeroed: nothing that may use XMM0 comes between) */
	asm volatile("movq %0, %%xmm0" : : "r"(PATTERN));
	gp = guest_ud_count;
	xsaves();
	GUEST_SYNC(guest_ud_count - gp);			/* 4: XSAVES */
	if (guest_ud_count != gp)
		GUEST_DONE();
	GUEST_ASSERT_EQ(*(uint64_t *)(xs_area + XSAVE_XMM0), PATTERN);
	GUEST_ASSERT(*(uint64_t *)(xs_area + XSTATE_BV) & 2);
	GUEST_ASSERT(*(uint64_t *)(xs_area + XCOMP_BV) & (1ULL << 63));
	asm volatile("pxor %xmm0, %xmm0");
	xrstors();
	asm volatile("movq %%xmm0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, PATTERN);
	GUEST_DONE();
}

static uint64_t xss_io(struct kvm_vcpu *vcpu, unsigned long nr,
		       uint64_t val, int *ret)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = MSR_IA32_XSS, .e.data = val };

	*ret = ioctl(vcpu->fd, nr, &b);
	return b.e.data;
}

static struct kvm_cpuid_entry2 *leaf_d1(struct kvm_cpuid2 *cpuid)
{
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0xd &&
		    cpuid->entries[i].index == 1)
			return &cpuid->entries[i];
	return NULL;
}

/* One guest: the supported CPUID, or it without XSAVES. */
static void run_guest(bool with)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t v;
	int ret, i;

	if (!with)
		leaf_d1(cpuid)->eax &= ~(1U << 3);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, UD_VECTOR, guest_skip_ud);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);

	/* Userspace: 0 only, whatever the guest's CPUID. */
	v = xss_io(vcpu, KVM_GET_MSRS, ~0ULL, &ret);
	TEST_ASSERT(ret == 1 && v == 0, "KVM_GET_MSRS IA32_XSS: %d, %#lx",
		    ret, (unsigned long)v);
	xss_io(vcpu, KVM_SET_MSRS, 0, &ret);
	TEST_ASSERT_EQ(ret, 1);
	for (i = 0; i < 64; i++) {
		xss_io(vcpu, KVM_SET_MSRS, 1ULL << i, &ret);
		TEST_ASSERT(ret == 0, "KVM_SET_MSRS took IA32_XSS bit %d", i);
	}

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(with ? uc.args[0] == 0 && uc.args[1] == 0 : uc.args[0] == 1,
		    "RDMSR IA32_XSS: %lu #GP, %#lx", (unsigned long)uc.args[0],
		    (unsigned long)uc.args[1]);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(uc.args[0] == !with, "WRMSR IA32_XSS 0: %lu #GP",
		    (unsigned long)uc.args[0]);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(uc.args[0] == 1, "WRMSR IA32_XSS of bit 8: no #GP");
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	if (with)
		TEST_ASSERT(uc.args[0] == 0, "XSAVES raised #UD");
	else if (!host_cpu_is_amd())
		TEST_ASSERT(uc.args[0] == 1,
			    "XSAVES ran though the guest's CPUID does not offer it");
	ksft_print_msg("%s XSAVES in CPUID: IA32_XSS %s; XSAVES %s\n",
		       with ? "with" : "without",
		       with ? "0, only 0" : "#GP", uc.args[0] ? "#UD" :
		       with ? "and XRSTORS keep XMM0" : "ran (AMD)");
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	free(cpuid);
}

int main(void)
{
	struct kvm_cpuid2 *supported = kvm_get_supported_cpuid();
	struct kvm_cpuid_entry2 *e;

	TEST_ASSERT(supported, "KVM_GET_SUPPORTED_CPUID failed");
	e = leaf_d1(supported);
	if (!e || !(e->eax & (1U << 3)))
		ksft_exit_skip("no XSAVES in KVM_GET_SUPPORTED_CPUID (this host's CPU has none, or the hypervisor cannot offer it)\n");
	TEST_ASSERT(e->ebx >= 576, "CPUID 0xd.1 EBX %u: no XSAVE area size",
		    e->ebx);
	free(supported);
	run_guest(true);
	run_guest(false);
	ksft_exit_pass();
}
