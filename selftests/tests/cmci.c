// SPDX-License-Identifier: GPL-2.0
/*
 * cmci: UCNA errors signalled through CMCI (MCG_CMCI_P), as KVM 6.1
 * offers it on Intel hosts (SDM Vol. 3B, "Corrected Machine Check Error
 * Interrupt"; upstream's ucna_injection_test checks part of this).
 *
 *  - KVM_X86_GET_MCE_CAP_SUPPORTED has MCG_CMCI_P, else SKIP (AMD hosts:
 *    the mce test checks that neither KVM nor kvisor offers it there).
 *  - A vCPU without it: the LAPIC version register counts six LVT
 *    entries; the CMCI entry (0x2f0) reads 0 and ignores writes, and
 *    MCi_CTL2 raises #GP in the guest.
 *  - KVM_X86_SETUP_MCE with it: seven entries, the CMCI entry masked
 *    (even where KVM_SET_LAPIC had put something there before), every
 *    MCi_CTL2 0.  Userspace reads and writes MCi_CTL2; a reserved bit is
 *    refused.
 *  - The guest: the entry keeps its vector, delivery mode and mask bit
 *    only; MCi_CTL2 keeps CMCI_EN and the threshold, and a reserved bit
 *    or a bank beyond the count raises #GP.
 *  - A UCNA error (KVM_X86_SET_MCE: VAL and UC, none of S, AR, PCC) is
 *    recorded in its bank every time, and reaches the guest as the
 *    entry's fixed vector while the bank's CTL2.CMCI_EN is set and the
 *    entry unmasked: its handler reads the error's address from the
 *    bank.  None comes for a corrected error (recorded only, as KVM),
 *    with CMCI_EN clear or with the entry masked; an NMI comes with the
 *    entry in NMI mode; never a #MC.  Turning the LAPIC software-off
 *    masks the entry.
 */
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_util.h"
#include "apic.h"

#define MSR_MCG_CAP		0x179
#define MSR_MC_STATUS(i)	(0x401 + 4 * (i))
#define MSR_MC_ADDR(i)		(0x402 + 4 * (i))
#define MSR_MC_CTL2(i)		(0x280 + (i))

#define MCG_CTL_P		(1ULL << 8)
#define MCG_CMCI_P		(1ULL << 10)
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)
#define MCI_STATUS_MISCV	(1ULL << 59)
#define MCI_STATUS_ADDRV	(1ULL << 58)
#define MCI_CTL2_CMCI_EN	(1ULL << 30)
#define MCI_CTL2_RESERVED	(1ULL << 29)

#define APIC_LVTCMCI		0x2f0
#define APIC_LVT_MASKED		(1U << 16)
#define APIC_LVT_LEVEL		(1U << 15)
#define APIC_LVT_REMOTE_IRR	(1U << 14)
#define APIC_LVT_POLARITY	(1U << 13)
#define LVR_MAX_LVT(v)		(((v) >> 16) & 0xff)

#define NR_BANKS		10
#define BANK			7
#define TEST_MCG_CAP		(NR_BANKS | MCG_CTL_P | MCG_CMCI_P)
#define THRESHOLD		5
#define CMCI_VECTOR		0xa9
#define NMI_VECTOR		2
#define MC_VECTOR		18

/*
 * A memory-read UCNA error, as the upstream test makes it: uncorrected,
 * neither signalled nor action required nor context corrupt.
 */
#define UCNA_STATUS		(MCI_STATUS_VAL | MCI_STATUS_UC | \
				 MCI_STATUS_EN | MCI_STATUS_MISCV | \
				 MCI_STATUS_ADDRV | 0x10090)
/* A corrected one: what CMCI signals on a CPU, but not through SET_MCE. */
#define CE_STATUS		(MCI_STATUS_VAL | MCI_STATUS_EN | \
				 MCI_STATUS_ADDRV | 0x0090)
#define CE_STEP			2
#define STATUS(n)		((n) == CE_STEP ? CE_STATUS : UCNA_STATUS)
#define ADDR(n)			(0x1000ULL * (n) + 0xabc00000ULL)

static volatile int cmci_count, nmi_count, mc_count;
static volatile uint64_t cmci_addr;

static void cmci_handler(struct ex_regs *regs)
{
	(void)regs;
	cmci_addr = rdmsr(MSR_MC_ADDR(BANK));
	cmci_count++;
	xapic_write(APIC_EOI, 0);
}

static void nmi_handler(struct ex_regs *regs)
{
	(void)regs;
	nmi_count++;
}

static void mc_handler(struct ex_regs *regs)
{
	(void)regs;
	mc_count++;
}

/* RDMSR or WRMSR that should raise #GP: 1 if it did. */
static int msr_gp(uint32_t msr, bool write, uint64_t val)
{
	int before = guest_gp_count;

	guest_fault_len = 2;	/* 0F 32 and 0F 30 */
	if (write)
		wrmsr(msr, val);
	else
		rdmsr(msr);
	return guest_gp_count - before;
}

/* The host injected error @n: it is in the bank, whatever was signalled. */
static void guest_check_bank(int n)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_STATUS(BANK)), STATUS(n));
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_ADDR(BANK)), ADDR(n));
}

static void guest_registers(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_MCG_CAP), TEST_MCG_CAP);
	GUEST_ASSERT_EQ(LVR_MAX_LVT(xapic_read(APIC_LVR)), 6);
	GUEST_ASSERT_EQ(xapic_read(APIC_LVTCMCI), APIC_LVT_MASKED);
	xapic_write(APIC_LVTCMCI, CMCI_VECTOR | APIC_LVT_LEVEL |
		    APIC_LVT_REMOTE_IRR | APIC_LVT_POLARITY);
	GUEST_ASSERT_EQ(xapic_read(APIC_LVTCMCI), CMCI_VECTOR);

	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL2(BANK)), 0);
	GUEST_ASSERT_EQ(msr_gp(MSR_MC_CTL2(BANK), true,
			       MCI_CTL2_CMCI_EN | THRESHOLD), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL2(BANK)), MCI_CTL2_CMCI_EN | THRESHOLD);
	GUEST_ASSERT_EQ(msr_gp(MSR_MC_CTL2(BANK), true,
			       MCI_CTL2_CMCI_EN | MCI_CTL2_RESERVED), 1);
	GUEST_ASSERT_EQ(msr_gp(MSR_MC_CTL2(NR_BANKS), true, 0), 1);
	GUEST_ASSERT_EQ(msr_gp(MSR_MC_CTL2(NR_BANKS), false, 0), 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_MC_CTL2(BANK)), MCI_CTL2_CMCI_EN | THRESHOLD);
}

static void guest_code(void)
{
	xapic_enable();
	guest_registers();

	/* 1: enabled and unmasked, the handler sees the error's address */
	GUEST_SYNC(1);
	take_interrupts(&cmci_count, 1);
	GUEST_ASSERT_EQ(cmci_count, 1);
	GUEST_ASSERT_EQ(cmci_addr, ADDR(1));
	guest_check_bank(1);

	/* 2: a corrected error, everything enabled: recorded, not signalled */
	GUEST_SYNC(CE_STEP);
	take_interrupts(&cmci_count, 2);
	guest_check_bank(CE_STEP);

	/* 3: CMCI_EN clear in the bank: recorded, not signalled */
	wrmsr(MSR_MC_CTL2(BANK), THRESHOLD);
	GUEST_SYNC(3);
	take_interrupts(&cmci_count, 2);
	guest_check_bank(3);

	/* 4: enabled again, the entry masked */
	wrmsr(MSR_MC_CTL2(BANK), MCI_CTL2_CMCI_EN);
	xapic_write(APIC_LVTCMCI, CMCI_VECTOR | APIC_LVT_MASKED);
	GUEST_SYNC(4);
	take_interrupts(&cmci_count, 2);
	guest_check_bank(4);
	GUEST_ASSERT_EQ(cmci_count, 1);

	/* 5: the entry in NMI mode */
	xapic_write(APIC_LVTCMCI, APIC_DM_NMI);
	GUEST_SYNC(5);
	take_interrupts(&nmi_count, 1);
	GUEST_ASSERT_EQ(nmi_count, 1);
	guest_check_bank(5);

	GUEST_ASSERT_EQ(cmci_count, 1);
	GUEST_ASSERT_EQ(mc_count, 0);
	xapic_write(APIC_SPIV, 0xff);	/* software-off */
	GUEST_ASSERT_EQ(xapic_read(APIC_LVTCMCI),
			APIC_DM_NMI | APIC_LVT_MASKED);
	GUEST_DONE();
}

/* MCG_CAP without MCG_CMCI_P: no CMCI entry, no MCi_CTL2. */
static void guest_no_cmci(void)
{
	xapic_enable();
	GUEST_ASSERT_EQ(LVR_MAX_LVT(xapic_read(APIC_LVR)), 5);
	xapic_write(APIC_LVTCMCI, CMCI_VECTOR);
	GUEST_ASSERT_EQ(xapic_read(APIC_LVTCMCI), 0);
	GUEST_ASSERT_EQ(msr_gp(MSR_MC_CTL2(BANK), false, 0), 1);
	GUEST_ASSERT_EQ(msr_gp(MSR_MC_CTL2(BANK), true, MCI_CTL2_CMCI_EN), 1);
	GUEST_DONE();
}

static void setup_mce(struct kvm_vcpu *vcpu, uint64_t cap)
{
	vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &cap);
}

static void inject(struct kvm_vcpu *vcpu, int n)
{
	struct kvm_x86_mce m = {
		.status = STATUS(n), .addr = ADDR(n), .misc = 0x8c,
		.bank = BANK,
	};

	vcpu_ioctl(vcpu, KVM_X86_SET_MCE, &m);
}

static uint32_t lapic_reg(struct kvm_vcpu *vcpu, uint32_t off)
{
	struct kvm_lapic_state s;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	return *(uint32_t *)(s.regs + off);
}

static struct kvm_vm *create(struct kvm_vcpu **vcpu, void *guest)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG_4K);

	vm_create_irqchip(vm);
	*vcpu = vm_vcpu_add(vm, 0, guest);
	apic_map(vm);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);
	vm_install_exception_handler(vm, CMCI_VECTOR, cmci_handler);
	vm_install_exception_handler(vm, NMI_VECTOR, nmi_handler);
	vm_install_exception_handler(vm, MC_VECTOR, mc_handler);
	return vm;
}

static void test_without(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, guest_no_cmci);
	uint64_t v;

	setup_mce(vcpu, NR_BANKS | MCG_CTL_P);
	TEST_ASSERT_EQ(LVR_MAX_LVT(lapic_reg(vcpu, APIC_LVR)), 5);
	/* userspace: 0 reads back, only 0 goes in */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_CTL2(BANK)), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL2(BANK), 0), 1);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL2(BANK),
				    MCI_CTL2_CMCI_EN), 0);
	TEST_ASSERT_EQ(vcpu_msr_io(vcpu, KVM_GET_MSRS, MSR_MC_CTL2(NR_BANKS),
				   &v), 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	/* the guest's write to 0x2f0 went nowhere */
	TEST_ASSERT_EQ(lapic_reg(vcpu, APIC_LVTCMCI), 0);
	kvm_vm_free(vm);
	ksft_print_msg("without MCG_CMCI_P: six LVT entries, 0x2f0 reads 0, MCi_CTL2 #GP in the guest, userspace writes only 0: ok\n");
}

static void test_setup(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state s;

	/* something at 0x2f0 before the entry exists: setup masks it */
	TEST_ASSERT_EQ(LVR_MAX_LVT(lapic_reg(vcpu, APIC_LVR)), 5);
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	*(uint32_t *)(s.regs + APIC_LVTCMCI) = 0x42;
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &s);
	setup_mce(vcpu, TEST_MCG_CAP);
	TEST_ASSERT_EQ(LVR_MAX_LVT(lapic_reg(vcpu, APIC_LVR)), 6);
	TEST_ASSERT_EQ(lapic_reg(vcpu, APIC_LVTCMCI), APIC_LVT_MASKED);

	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_CTL2(BANK)), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL2(BANK),
				    MCI_CTL2_CMCI_EN | 7), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_CTL2(BANK)),
		       MCI_CTL2_CMCI_EN | 7);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL2(BANK),
				    MCI_CTL2_RESERVED), 0);
	TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_CTL2(BANK), 0), 1);
	ksft_print_msg("KVM_X86_SETUP_MCE with MCG_CMCI_P: seven LVT entries, the CMCI entry masked, MCi_CTL2 0 and settable: ok\n");
}

static void test_signal(struct kvm_vcpu *vcpu)
{
	int n;

	for (n = 1; n <= 5; n++) {
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), n);
		/* the bank empty again, so the corrected one is not OVER */
		TEST_ASSERT_EQ(vcpu_set_msr(vcpu, MSR_MC_STATUS(BANK), 0), 1);
		inject(vcpu, n);
		TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_MC_STATUS(BANK)),
			       STATUS(n));
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("UCNA: fixed CMCI with CMCI_EN (address read in the handler), none without or masked or for a corrected error, an NMI in NMI mode, no #MC, always in the bank: ok\n");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t supported;
	int kvm;

	kvm = open_kvm_dev_path_or_exit();
	TEST_ASSERT(!ioctl(kvm, KVM_X86_GET_MCE_CAP_SUPPORTED, &supported),
		    "KVM_X86_GET_MCE_CAP_SUPPORTED: %s", strerror(errno));
	close(kvm);
	if (!(supported & MCG_CMCI_P))
		ksft_exit_skip("MCG_CMCI_P not offered (%s host; KVM offers it on Intel only)\n",
			       host_cpu_is_amd() ? "an AMD" : "this");

	test_without();
	vm = create(&vcpu, guest_code);
	test_setup(vcpu);
	test_signal(vcpu);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
