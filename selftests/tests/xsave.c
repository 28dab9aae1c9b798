// SPDX-License-Identifier: GPL-2.0
/*
 * xsave: KVM_GET/SET_XCRS and KVM_GET/SET_XSAVE.
 *
 * A fresh vCPU has XCR0 = x87.  The guest turns on CR4.OSXSAVE and sets
 * XCR0 to x87|SSE (and AVX when its CPUID has it); KVM_GET_XCRS shows the
 * value, KVM_SET_XCRS refuses XCR0 values the guest could not set either
 * (0, SSE without x87), flags and too many entries.  Then the guest loads
 * XMM0-15 (YMM0-15 with AVX) and exits; the host finds them in the
 * KVM_GET_XSAVE image (XMM in the legacy area at byte 160, the upper YMM
 * halves where host CPUID leaf 0xd subleaf 2 says), writes new values with
 * KVM_SET_XSAVE, and the guest checks it has those.  Same values on
 * kvisor and in-tree KVM: only what both agree on.
 */
#include <cpuid.h>

#include <string.h>

#include "kvm_util.h"
#include "kmod.h"

#define REG_PORT	0xe2
#define ROUNDS		4

#define XCR0_X87	1ULL
#define XCR0_SSE	2ULL
#define XCR0_AVX	4ULL

#define XSAVE_XMM	160		/* XMM0 in the legacy area */
#define XSAVE_XSTATE_BV	512		/* the XSAVE header's XSTATE_BV */

/* Buffers of the asm routines below, in the guest's copy of this program */
uint8_t ymm_in[16][32], ymm_out[16][32];

#define XLOAD(n)	"	movdqu ymm_in+" #n "*32, %xmm" #n "\n"
#define XSTORE(n)	"	movdqu %xmm" #n ", ymm_out+" #n "*32\n"
#define YLOAD(n)	"	vmovdqu ymm_in+" #n "*32, %ymm" #n "\n"
#define YSTORE(n)	"	vmovdqu %ymm" #n ", ymm_out+" #n "*32\n"

/* Load all 16 registers, exit, store what they hold after the exit. */
asm(".pushsection .text\n"
"xmm_exit:\n"
XLOAD(0) XLOAD(1) XLOAD(2) XLOAD(3) XLOAD(4) XLOAD(5) XLOAD(6) XLOAD(7)
XLOAD(8) XLOAD(9) XLOAD(10) XLOAD(11) XLOAD(12) XLOAD(13) XLOAD(14)
XLOAD(15)
"	outb %al, $" __stringify(REG_PORT) "\n"
XSTORE(0) XSTORE(1) XSTORE(2) XSTORE(3) XSTORE(4) XSTORE(5) XSTORE(6)
XSTORE(7) XSTORE(8) XSTORE(9) XSTORE(10) XSTORE(11) XSTORE(12) XSTORE(13)
XSTORE(14) XSTORE(15)
"	ret\n"
"\n"
"ymm_exit:\n"
YLOAD(0) YLOAD(1) YLOAD(2) YLOAD(3) YLOAD(4) YLOAD(5) YLOAD(6) YLOAD(7)
YLOAD(8) YLOAD(9) YLOAD(10) YLOAD(11) YLOAD(12) YLOAD(13) YLOAD(14)
YLOAD(15)
"	outb %al, $" __stringify(REG_PORT) "\n"
YSTORE(0) YSTORE(1) YSTORE(2) YSTORE(3) YSTORE(4) YSTORE(5) YSTORE(6)
YSTORE(7) YSTORE(8) YSTORE(9) YSTORE(10) YSTORE(11) YSTORE(12) YSTORE(13)
YSTORE(14) YSTORE(15)
"	ret\n"
"	.popsection\n");

void xmm_exit(void);
void ymm_exit(void);

/* Byte @byte of YMM@reg in @round: @host for the host's values */
static uint8_t ymm_byte(uint64_t round, int reg, int byte, bool host)
{
	return (reg * 32 + byte) ^ (round << 4) ^ (host ? 0x5a : 0);
}

/*
 * No compiler generated SSE code here: it would clobber the registers
 * under test, and the build machine's KVM would trap it (regs_survive.c).
 */
static void __attribute__((target("general-regs-only"))) guest_code(void)
{
	uint32_t eax, ebx, ecx, edx, lo, hi;
	uint64_t round, xcr0 = XCR0_X87 | XCR0_SSE;
	int r, b, bytes;

	asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
		     : "a"(1), "c"(0));
	if (ecx & (1u << 28))			/* AVX */
		xcr0 |= XCR0_AVX;
	asm volatile("mov %0, %%cr4" : : "r"(get_cr4() | X86_CR4_OSXSAVE));
	asm volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0), "d"(0));
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	GUEST_ASSERT_EQ(lo | (uint64_t)hi << 32, xcr0);
	GUEST_SYNC(xcr0);

	bytes = xcr0 & XCR0_AVX ? 32 : 16;
	for (round = 0; round < ROUNDS; round++) {
		for (r = 0; r < 16; r++)
			for (b = 0; b < bytes; b++)
				ymm_in[r][b] = ymm_byte(round, r, b, false);
		if (bytes == 32)
			ymm_exit();
		else
			xmm_exit();
		for (r = 0; r < 16; r++)
			for (b = 0; b < bytes; b++)
				GUEST_ASSERT_EQ(ymm_out[r][b],
						ymm_byte(round, r, b, true));
	}
	GUEST_DONE();
}

static uint64_t get_xcr0(struct kvm_vcpu *vcpu)
{
	struct kvm_xcrs xcrs = { 0 };

	vcpu_ioctl(vcpu, KVM_GET_XCRS, &xcrs);
	TEST_ASSERT_EQ(xcrs.nr_xcrs, 1);
	TEST_ASSERT_EQ(xcrs.xcrs[0].xcr, 0);
	return xcrs.xcrs[0].value;
}

static void expect_set_xcrs_einval(struct kvm_vcpu *vcpu, uint32_t nr,
				   uint32_t flags, uint64_t xcr0)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = nr, .flags = flags };
	int ret;

	xcrs.xcrs[0].value = xcr0;
	ret = __vcpu_ioctl(vcpu, KVM_SET_XCRS, &xcrs);
	TEST_ASSERT(ret == -1 && errno == EINVAL,
		    "KVM_SET_XCRS nr %u flags %u XCR0 %#lx: rc %d errno %d",
		    nr, flags, (unsigned long)xcr0, ret, errno);
}

/* As in cpuid.c: is the hypervisor under test kvisor? */
static bool testing_kvisor(void)
{
	return kmod_loaded("kvisor") &&
	       (strstr(kvm_dev_path(), "kvisor") || !kmod_loaded("kvm"));
}

static void test_xcrs(struct kvm_vcpu *vcpu, uint64_t xcr0)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
	uint64_t cur = get_xcr0(vcpu);

	/*
	 * QEMU's SVM does not intercept XSETBV: in-tree KVM then never sees
	 * the guest's XCR0 (and would load x87-only at the next entry).
	 * kvisor reads XCR0 back after each exit, and must have it.
	 */
	if (cur != xcr0) {
		TEST_ASSERT(!testing_kvisor() && cur == XCR0_X87,
			    "XCR0 is %#lx after the guest's XSETBV of %#lx",
			    (unsigned long)cur, (unsigned long)xcr0);
		ksft_print_msg("XSETBV did not exit: KVM kept XCR0 %#lx, setting %#lx\n",
			       (unsigned long)cur, (unsigned long)xcr0);
		xcrs.xcrs[0].value = xcr0;
		vcpu_ioctl(vcpu, KVM_SET_XCRS, &xcrs);
	}
	expect_set_xcrs_einval(vcpu, 1, 0, 0);
	expect_set_xcrs_einval(vcpu, 1, 0, XCR0_SSE);
	expect_set_xcrs_einval(vcpu, 1, 1, xcr0);
	expect_set_xcrs_einval(vcpu, KVM_MAX_XCRS + 1, 0, xcr0);
	TEST_ASSERT_EQ(get_xcr0(vcpu), xcr0);

	/* Valid values are taken, and the guest's own goes back. */
	xcrs.xcrs[0].value = XCR0_X87;
	vcpu_ioctl(vcpu, KVM_SET_XCRS, &xcrs);
	TEST_ASSERT_EQ(get_xcr0(vcpu), XCR0_X87);
	xcrs.xcrs[0].value = xcr0;
	vcpu_ioctl(vcpu, KVM_SET_XCRS, &xcrs);
	TEST_ASSERT_EQ(get_xcr0(vcpu), xcr0);
}

static void test_xsave(struct kvm_vcpu *vcpu, uint64_t xcr0)
{
	bool avx = xcr0 & XCR0_AVX;
	uint32_t eax, ebx = 0, ecx, edx;
	struct kvm_xsave *xs;
	uint64_t round, *bv;
	int r, b, ret;
	uint8_t *p;

	/* The UABI layout is the host's standard format. */
	if (avx)
		__cpuid_count(0xd, 2, eax, ebx, ecx, edx);
	xs = calloc(1, sizeof(*xs));
	TEST_ASSERT(xs, "no memory");
	p = (uint8_t *)xs->region;
	bv = (uint64_t *)(p + XSAVE_XSTATE_BV);

	for (round = 0; round < ROUNDS; round++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		TEST_ASSERT_EQ(vcpu->run->io.port, REG_PORT);
		vcpu_run_complete_io(vcpu);

		vcpu_ioctl(vcpu, KVM_GET_XSAVE, xs);
		for (r = 0; r < 16; r++)
			for (b = 0; b < (avx ? 32 : 16); b++) {
				uint8_t *v = b < 16 ? p + XSAVE_XMM + r * 16 + b
						    : p + ebx + r * 16 + b - 16;

				TEST_ASSERT(*v == ymm_byte(round, r, b, false),
					    "round %lu: YMM%d byte %d is %#x",
					    (unsigned long)round, r, b, *v);
				*v = ymm_byte(round, r, b, true);
			}
		/* The states are given now, not in their init state. */
		*bv |= xcr0 & (XCR0_SSE | XCR0_AVX);

		/* A state no host offers is refused, and nothing taken. */
		*bv |= 1ULL << 62;
		ret = __vcpu_ioctl(vcpu, KVM_SET_XSAVE, xs);
		TEST_ASSERT(ret == -1 && errno == EINVAL,
			    "KVM_SET_XSAVE of XSTATE_BV bit 62: rc %d errno %d",
			    ret, errno);
		*bv &= ~(1ULL << 62);
		vcpu_ioctl(vcpu, KVM_SET_XSAVE, xs);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	ret = __vcpu_ioctl(vcpu, KVM_GET_XSAVE, (struct kvm_xsave *)NULL);
	TEST_ASSERT(ret == -1 && errno == EFAULT,
		    "KVM_GET_XSAVE to NULL: rc %d errno %d", ret, errno);
	ret = __vcpu_ioctl(vcpu, KVM_SET_XSAVE, (struct kvm_xsave *)NULL);
	TEST_ASSERT(ret == -1 && errno == EFAULT,
		    "KVM_SET_XSAVE from NULL: rc %d errno %d", ret, errno);
	free(xs);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t xcr0;

	if (!kvm_check_cap(KVM_CAP_XSAVE) || !kvm_check_cap(KVM_CAP_XCRS))
		ksft_exit_skip("no KVM_CAP_XSAVE or KVM_CAP_XCRS\n");

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	TEST_ASSERT_EQ(get_xcr0(vcpu), XCR0_X87);

	xcr0 = vcpu_run_ucall(vcpu, UCALL_SYNC, NULL);
	test_xcrs(vcpu, xcr0);
	ksft_print_msg("XCR0 %#lx through KVM_GET/SET_XCRS, bad values refused: ok\n",
		       (unsigned long)xcr0);

	test_xsave(vcpu, xcr0);
	ksft_print_msg("%d rounds of %s0-15 through KVM_GET/SET_XSAVE: ok\n",
		       ROUNDS, xcr0 & XCR0_AVX ? "YMM" : "XMM");
	if (!(xcr0 & XCR0_AVX))
		ksft_print_msg("no AVX in the guest's CPUID: XMM only\n");
	kvm_vm_free(vm);
	ksft_exit_pass();
}
