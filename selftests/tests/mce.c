// SPDX-License-Identifier: GPL-2.0
/*
 * mce: machine-check banks (KVM_CAP_MCE, KVM_X86_GET_MCE_CAP_SUPPORTED,
 * KVM_X86_SETUP_MCE, KVM_X86_SET_MCE) and their MSRs, as KVM 6.1 has them.
 *
 *  - KVM_CAP_MCE is 32 banks; the supported MCG_CAP bits include MCG_CTL_P
 *    and MCG_SER_P, and MCG_CMCI_P on Intel only; CPUID.1:EDX offers MCE
 *    and MCA.
 *  - Before KVM_X86_SETUP_MCE, MCG_CAP is 32 banks without MCG_CTL_P, and
 *    userspace may write only 0 to MCG_CTL.
 *  - KVM_X86_SETUP_MCE: 0 or 33 banks, MCG_EXT_P, or MCG_CMCI_P on AMD
 *    (KVM offers CMCI on Intel only; test cmci): EINVAL.
 *    With 10 banks and MCG_CTL_P, MCG_CAP reads back what was set,
 *    MCG_CTL and each bank's CTL are all ones, bank 10 does not exist and
 *    MCG_CAP cannot be written.
 *  - KVM_X86_SET_MCE: a bank beyond the count or a status without VAL is
 *    EINVAL.  An uncorrected error reaches the guest's #MC handler with
 *    MCG_STATUS and the bank's STATUS, ADDR and MISC filled.  A corrected
 *    one is only recorded (a bank holding an uncorrected error only gets
 *    OVER).  With MCG_CTL or MCi_CTL 0 an uncorrected error is dropped.
 *    Another while MCG_STATUS.MCIP is set, or one with CR4.MCE clear,
 *    shuts the guest down (KVM_EXIT_SHUTDOWN).
 *  - The guest's WRMSR: MCi_CTL takes 0 and all ones (bit 10 or 0 may be
 *    clear), other values #GP; MCi_STATUS takes only 0; MCG_CAP none.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MC_CTL(i)		(0x400 + 4 * (i))
#define MSR_MC_STATUS(i)	(0x401 + 4 * (i))
#define MSR_MC_ADDR(i)		(0x402 + 4 * (i))
#define MSR_MC_MISC(i)		(0x403 + 4 * (i))

#define MCG_CTL_P		(1ULL << 8)
#define MCG_EXT_P		(1ULL << 9)
#define MCG_CMCI_P		(1ULL << 10)
#define MCG_SER_P		(1ULL << 24)
#define MCG_STATUS_RIPV		(1ULL << 0)
#define MCG_STATUS_EIPV		(1ULL << 1)
#define MCG_STATUS_MCIP		(1ULL << 2)
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_OVER		(1ULL << 62)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)
#define MCI_STATUS_MISCV	(1ULL << 59)
#define MCI_STATUS_ADDRV	(1ULL << 58)
#define MCI_STATUS_PCC		(1ULL << 57)

#define X86_CR4_MCE		(1UL << 6)
#define NR_BANKS		10
#define TEST_MCG_CAP		(NR_BANKS | MCG_CTL_P)

/* The uncorrected error the guest takes, and a corrected one. */
#define UC_BANK		2
#define UC_STATUS	(MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | \
			 MCI_STATUS_ADDRV | MCI_STATUS_MISCV | \
			 MCI_STATUS_PCC | 0x0150)
#define UC_MCG_STATUS	(MCG_STATUS_MCIP | MCG_STATUS_EIPV)
#define UC_ADDR		0x12345000ULL
#define UC_MISC		0x86ULL
#define CE_BANK		3
#define CE_STATUS	(MCI_STATUS_VAL | MCI_STATUS_EN | MCI_STATUS_ADDRV | \
			 0x0017)
#define CE_ADDR		0xabcd000ULL

static volatile int mc_count;
static volatile uint64_t mc_seen[4];	/* MCG_STATUS, STATUS, ADDR, MISC */

static void mc_handler(struct ex_regs *regs)
{
	(void)regs;
	mc_seen[0] = rdmsr(MSR_MCG_STATUS);
	mc_seen[1] = rdmsr(MSR_MC_STATUS(UC_BANK));
	mc_seen[2] = rdmsr(MSR_MC_ADDR(UC_BANK));
	mc_seen[3] = rdmsr(MSR_MC_MISC(UC_BANK));
	mc_count++;
	/* MCIP stays set: the host checks that a second one shuts down. */
}

/* WRMSR of @val to @msr: 1 if it faulted. */
static int wrmsr_gp(uint32_t msr, uint64_t val)
{
	int before = guest_gp_count;

	wrmsr(msr, val);
	return guest_gp_count - before;
}

static void guest_msr_rules(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_MCG_CAP), TEST_MCG_CAP);
	GUEST_ASSERT_EQ(rdmsr(MSR_MCG_CTL), ~0ULL);	/* MCG_CTL_P */
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL(NR_BANKS - 1)), ~0ULL);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(0), 0x1234), 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL(0)), ~0ULL);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(4), ~(1ULL << 10)), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL(4)), ~(1ULL << 10));
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(1), ~1ULL), 0);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(1), ~3ULL), 1);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(1), ~0ULL), 0);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(0), 0), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL(0)), 0);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(0), ~0ULL), 0);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_STATUS(0), 1), 1);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_STATUS(0), 0), 0);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MCG_CAP, TEST_MCG_CAP), 1);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MCG_CTL, 5), 1);
	GUEST_ASSERT_EQ(wrmsr_gp(MSR_MC_CTL(NR_BANKS), ~0ULL), 1);
	rdmsr(MSR_MC_STATUS(NR_BANKS));
	GUEST_ASSERT_EQ(guest_gp_count, 7);
}

static void guest_code(void)
{
	asm volatile("mov %0, %%cr4" : : "r"(get_cr4() | X86_CR4_MCE));
	guest_msr_rules();
	GUEST_SYNC(1);
	/* The host injected the uncorrected error: #MC came at entry. */
	GUEST_ASSERT_EQ(mc_count, 1);
	ucall(UCALL_SYNC, 5, 2ULL, mc_seen[0], mc_seen[1], mc_seen[2],
	      mc_seen[3]);
	/* The host recorded a corrected error: no #MC for it. */
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(mc_count, 1);
	GUEST_SYNC(4);
	GUEST_DONE();
}

/* A guest that never sets CR4.MCE. */
static void guest_no_mce(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

static void expect_errno(int r, int err, const char *what)
{
	TEST_ASSERT(r == -1 && errno == err, "%s: %d (%s), expected %s",
		    what, r, r ? strerror(errno) : "ok", strerror(err));
}

static int setup_mce(struct kvm_vcpu *vcpu, uint64_t cap)
{
	return __vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &cap);
}

static int set_mce(struct kvm_vcpu *vcpu, uint8_t bank, uint64_t status,
		   uint64_t mcg_status, uint64_t addr)
{
	struct kvm_x86_mce m = {
		.status = status, .addr = addr, .misc = UC_MISC,
		.mcg_status = mcg_status, .bank = bank,
	};

	return __vcpu_ioctl(vcpu, KVM_X86_SET_MCE, &m);
}

static void test_caps(struct kvm_vm *vm)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	uint64_t supported;
	uint32_t i;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_MCE), 32);
	kvm_ioctl(vm->kvm_fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &supported);
	/* CMCI as KVM: Intel's only (the cmci test takes it from there) */
	TEST_ASSERT((supported & (MCG_CTL_P | MCG_SER_P)) ==
		    (MCG_CTL_P | MCG_SER_P) &&
		    !!(supported & MCG_CMCI_P) == !host_cpu_is_amd(),
		    "supported MCG_CAP %#llx", (unsigned long long)supported);
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			TEST_ASSERT((cpuid->entries[i].edx & 0x4080) == 0x4080,
				    "CPUID.1:EDX %#x lacks MCE or MCA",
				    cpuid->entries[i].edx);
	ksft_print_msg("KVM_CAP_MCE 32, supported MCG_CAP %#llx\n",
		       (unsigned long long)supported);
}

static void test_setup(struct kvm_vcpu *vcpu)
{
	uint64_t v;
	int i;

	/* A new vCPU: 32 banks, no MCG_CTL_P, so MCG_CTL takes only 0. */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MCG_CAP), 32);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MCG_CTL, ~0ULL), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MCG_CTL, 0), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_CTL(31)), 0);

	expect_errno(setup_mce(vcpu, 0), EINVAL, "SETUP_MCE with 0 banks");
	expect_errno(setup_mce(vcpu, 33), EINVAL, "SETUP_MCE with 33 banks");
	if (host_cpu_is_amd())
		expect_errno(setup_mce(vcpu, NR_BANKS | MCG_CMCI_P), EINVAL,
			     "SETUP_MCE with MCG_CMCI_P on AMD");
	expect_errno(setup_mce(vcpu, NR_BANKS | MCG_EXT_P), EINVAL,
		     "SETUP_MCE with MCG_EXT_P");
	TEST_ASSERT_EQ(setup_mce(vcpu, TEST_MCG_CAP), 0);

	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MCG_CAP), TEST_MCG_CAP);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MCG_CTL), ~0ULL);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MCG_STATUS), 0);
	for (i = 0; i < NR_BANKS; i++) {
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_CTL(i)), ~0ULL);
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_STATUS(i)), 0);
	}
	TEST_ASSERT_EQ(vcpu_msr_io(vcpu, KVM_GET_MSRS, MSR_MC_CTL(NR_BANKS), &v), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL(NR_BANKS), ~0ULL), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MCG_CAP, TEST_MCG_CAP), 0);
	/* Userspace may restore a status the guest could not write. */
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_STATUS(5), CE_STATUS), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_STATUS(5)), CE_STATUS);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_STATUS(5), 0), 1);

	expect_errno(set_mce(vcpu, NR_BANKS, UC_STATUS, UC_MCG_STATUS, 0),
		     EINVAL, "SET_MCE to bank 10 of 10");
	expect_errno(set_mce(vcpu, 0, UC_STATUS & ~MCI_STATUS_VAL,
			     UC_MCG_STATUS, 0), EINVAL, "SET_MCE without VAL");
	ksft_print_msg("SETUP_MCE: bad counts and caps EINVAL; MSRs after setup ok\n");
}

/* Reporting disabled in MCG_CTL, then in the bank: the error is dropped. */
static void test_disabled(struct kvm_vcpu *vcpu)
{
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MCG_CTL, 0), 1);
	TEST_ASSERT_EQ(set_mce(vcpu, UC_BANK, UC_STATUS, UC_MCG_STATUS,
			       UC_ADDR), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MCG_CTL, ~0ULL), 1);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL(UC_BANK), 0), 1);
	TEST_ASSERT_EQ(set_mce(vcpu, UC_BANK, UC_STATUS, UC_MCG_STATUS,
			       UC_ADDR), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL(UC_BANK), ~0ULL), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_STATUS(UC_BANK)), 0);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MCG_STATUS), 0);
}

static void test_inject(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	test_disabled(vcpu);

	TEST_ASSERT_EQ(set_mce(vcpu, UC_BANK, UC_STATUS, UC_MCG_STATUS,
			       UC_ADDR), 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), 2);
	TEST_ASSERT_EQ(uc.args[1], UC_MCG_STATUS);
	TEST_ASSERT_EQ(uc.args[2], UC_STATUS);
	TEST_ASSERT_EQ(uc.args[3], UC_ADDR);
	TEST_ASSERT_EQ(uc.args[4], UC_MISC);
	ksft_print_msg("#MC in the guest: MCG_STATUS %#llx, MC2_STATUS %#llx, ADDR %#llx\n",
		       (unsigned long long)uc.args[1],
		       (unsigned long long)uc.args[2],
		       (unsigned long long)uc.args[3]);

	/* Corrected: recorded in an empty bank; in bank 2 only OVER. */
	TEST_ASSERT_EQ(set_mce(vcpu, CE_BANK, CE_STATUS, 0, CE_ADDR), 0);
	TEST_ASSERT_EQ(set_mce(vcpu, UC_BANK, CE_STATUS, 0, CE_ADDR), 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_STATUS(CE_BANK)), CE_STATUS);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_ADDR(CE_BANK)), CE_ADDR);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_STATUS(UC_BANK)),
		       UC_STATUS | MCI_STATUS_OVER);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_ADDR(UC_BANK)), UC_ADDR);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 4);
	ksft_print_msg("corrected errors recorded only, OVER on the uncorrected one\n");

	/* MCIP is still set: the next one is a triple fault. */
	TEST_ASSERT(vcpu_get_msr(vcpu, MSR_MCG_STATUS) & MCG_STATUS_MCIP,
		    "MCG_STATUS.MCIP clear after the #MC");
	TEST_ASSERT_EQ(set_mce(vcpu, 1, UC_STATUS, UC_MCG_STATUS, UC_ADDR), 0);
	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
	ksft_print_msg("second #MC with MCIP set: KVM_EXIT_SHUTDOWN\n");
}

static void test_no_cr4_mce(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_no_mce, VM_MODE_LONG_4K);
	TEST_ASSERT_EQ(setup_mce(vcpu, TEST_MCG_CAP), 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	TEST_ASSERT_EQ(set_mce(vcpu, 0, UC_STATUS, UC_MCG_STATUS, 0), 0);
	TEST_ASSERT(__vcpu_run(vcpu) == 0, "KVM_RUN: %s", strerror(errno));
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
	ksft_print_msg("uncorrected error with CR4.MCE clear: KVM_EXIT_SHUTDOWN\n");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (!kvm_check_cap(KVM_CAP_MCE))
		ksft_exit_skip("KVM_CAP_MCE is 0: no machine-check banks\n");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, 18, mc_handler);
	vm_install_exception_handler(vm, 13, guest_skip_gp);
	test_caps(vm);
	test_setup(vcpu);
	test_inject(vcpu);
	kvm_vm_free(vm);
	test_no_cr4_mce();
	ksft_exit_pass();
}
