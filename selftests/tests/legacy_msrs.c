// SPDX-License-Identifier: GPL-2.0
/*
 * legacy_msrs: the model-specific registers a guest may touch with no
 * CPUID bit to ask first, answered as KVM's kvm_get_msr_common() and
 * kvm_set_msr_common() answer them on both vendors.  Firmware and old
 * kernels read them unconditionally: OVMF's PEI phase reads
 * IA32_PLATFORM_ID on every Intel CPU, and a #GP there ends the boot in
 * its exception handler.  Each read must not fault and must give KVM's
 * value (where KVM's does not come from the hardware's LBR state);
 * writes KVM drops must not fault and must leave the value read, and the
 * writes KVM refuses must #GP.
 */
#include "kvm_util.h"

#define ANY		(~0ULL)	/* any value, but no #GP */

/* Reads that do not fault, with KVM's value. */
static const struct {
	uint32_t msr;
	uint64_t val;
} reads[] = {
	{ 0x17, 0 },			/* IA32_PLATFORM_ID */
	{ 0x2a, 0 },			/* IA32_EBL_CR_POWERON */
	{ 0x2c, 1ULL << 24 },		/* EBC_FREQUENCY_ID: ratio 1 */
	{ 0x34, 0 },			/* SMI_COUNT */
	{ 0xcd, 3 },			/* FSB frequency */
	{ 0x11e, 0xbe702111 },		/* BBL_CR_CTL3: L2 configured */
	{ 0x140, 0 },			/* MISC_FEATURES_ENABLES */
	{ 0x198, (4ULL << 40) | 1000 },	/* IA32_PERF_STATUS */
	{ 0x199, 0 },			/* IA32_PERF_CTL */
	{ 0x1db, ANY },			/* LASTBRANCHFROMIP (SVM: the VMCB's) */
	{ 0x1dc, ANY },			/* LASTBRANCHTOIP */
	{ 0x1dd, ANY },			/* LASTINTFROMIP */
	{ 0x1de, ANY },			/* LASTINTTOIP */
	{ 0x606, 0 },			/* RAPL_POWER_UNIT */
	{ 0x611, 0 },			/* PKG_ENERGY_STATUS */
	{ 0x619, 0 },			/* DRAM_ENERGY_STATUS */
	{ 0x639, 0 },			/* PP0_ENERGY_STATUS */
	{ 0x641, 0 },			/* PP1_ENERGY_STATUS */
	{ 0xc0010010, 0 },		/* SYSCFG */
	{ 0xc0010015, 0 },		/* HWCR */
	{ 0xc001001b, 0x20000000 },	/* K7 CLK_CTL: the ramp-up count */
	{ 0xc001001f, 0 },		/* NB_CFG */
	{ 0xc0010055, 0 },		/* INT_PENDING_MSG */
	{ 0xc0010058, 0 },		/* FAM10H MMIO_CONF_BASE */
	{ 0xc0010112, 0 },		/* TSEG_ADDR */
	{ 0xc0010113, 0 },		/* TSEG_MASK */
	{ 0xc0010117, 0 },		/* VM_HSAVE_PA */
	{ 0xc0011022, 0 },		/* DC_CFG */
	{ 0xc0011023, 0 },		/* TW_CFG */
	{ 0xc001102a, 0 },		/* BU_CFG2 */
	{ 0xc001102c, 0 },		/* F15H EX_CFG */
};

/* Writes KVM takes and drops (or keeps, where it reads them back). */
static const struct {
	uint32_t msr;
	uint64_t val;
} dropped[] = {
	{ 0x79, 0 },			/* IA32_UCODE_WRITE */
	{ 0x11e, 1ULL << 19 },		/* BBL_CR_CTL3: Windows XP's bit 19 */
	{ 0x140, 0 },			/* MISC_FEATURES_ENABLES */
	{ 0xc0010015, 0x148 },		/* HWCR: KVM ignores bits 3, 6, 8 */
	{ 0xc001001b, 0x12345678 },	/* K7 CLK_CTL */
	{ 0xc001001f, 1ULL << 54 },	/* NB_CFG */
	{ 0xc0010020, 0x1000 },		/* PATCH_LOADER */
	{ 0xc0010058, 0 },		/* MMIO_CONF_BASE: 0 only */
	{ 0xc0010117, 0 },		/* VM_HSAVE_PA */
	{ 0xc0011022, 1 },		/* DC_CFG */
	{ 0xc0011023, 1 },		/* TW_CFG */
	{ 0xc001102a, 1 },		/* BU_CFG2 */
	{ 0xc001102c, 1 },		/* F15H EX_CFG */
};

/* Accesses KVM refuses with #GP. */
static const struct {
	uint32_t msr;
	uint64_t val;
	bool write;
} refused[] = {
	{ 0x17, 1, true },		/* PLATFORM_ID is read-only */
	{ 0x79, 0, false },		/* UCODE_WRITE is write-only */
	{ 0xc0010020, 0, false },	/* so is PATCH_LOADER */
	{ 0xc0010015, 1ULL << 24, true },	/* HWCR: only McStatusWrEn */
	{ 0xc0010058, 1, true },	/* MMIO_CONF_BASE: anything but 0 */
	{ 0x140, 2, true },		/* MISC_FEATURES_ENABLES: bit 1 */
};

/* What the guest saw, for the host to check: each access's #GPs, value. */
static uint64_t read_val[ARRAY_SIZE(reads)], read_gp[ARRAY_SIZE(reads)];
static uint64_t drop_gp[ARRAY_SIZE(dropped)], after_drop[ARRAY_SIZE(dropped)];
static uint64_t refused_gp[ARRAY_SIZE(refused)];

static uint64_t gp_of(uint64_t before)
{
	return guest_gp_count - before;
}

static void guest_code(void)
{
	unsigned int i;
	uint64_t gp;

	guest_fault_len = 2;		/* rdmsr and wrmsr: 0F 32 / 0F 30 */
	for (i = 0; i < ARRAY_SIZE(reads); i++) {
		gp = guest_gp_count;
		read_val[i] = rdmsr(reads[i].msr);
		read_gp[i] = gp_of(gp);
	}
	for (i = 0; i < ARRAY_SIZE(dropped); i++) {
		gp = guest_gp_count;
		wrmsr(dropped[i].msr, dropped[i].val);
		drop_gp[i] = gp_of(gp);
		/* the write-only ones read as nothing: #GP, not counted */
		after_drop[i] = rdmsr(dropped[i].msr);
	}
	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		gp = guest_gp_count;
		if (refused[i].write)
			wrmsr(refused[i].msr, refused[i].val);
		else
			rdmsr(refused[i].msr);
		refused_gp[i] = gp_of(gp);
	}
	GUEST_DONE();
}

/* The guest's copy of @var[@i]. */
#define SEEN(vm, var, i) \
	(((uint64_t *)addr_gva2hva(vm, (uint64_t)(var)))[i])

/* The value a dropped write leaves: what the read table says. */
static uint64_t kvm_reads(uint32_t msr, bool *known)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reads); i++) {
		if (reads[i].msr == msr && reads[i].val != ANY) {
			*known = true;
			return reads[i].val;
		}
	}
	*known = false;
	return 0;
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i, bad = 0;
	uint64_t v, want;
	bool known;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, 13, guest_skip_gp);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	for (i = 0; i < ARRAY_SIZE(reads); i++) {
		v = SEEN(vm, read_val, i);
		if (SEEN(vm, read_gp, i)) {
			ksft_print_msg("RDMSR %#x: #GP\n", reads[i].msr);
			bad++;
		} else if (reads[i].val != ANY && v != reads[i].val) {
			ksft_print_msg("RDMSR %#x: %#lx, KVM reads %#lx\n",
				       reads[i].msr, v, reads[i].val);
			bad++;
		}
	}
	ksft_print_msg("%zu reads without a CPUID bit checked\n",
		       ARRAY_SIZE(reads));
	for (i = 0; i < ARRAY_SIZE(dropped); i++) {
		want = kvm_reads(dropped[i].msr, &known);
		if (SEEN(vm, drop_gp, i)) {
			ksft_print_msg("WRMSR %#x, %#lx: #GP\n",
				       dropped[i].msr, dropped[i].val);
			bad++;
		} else if (known && SEEN(vm, after_drop, i) != want) {
			ksft_print_msg("WRMSR %#x, %#lx: reads %#lx after, KVM %#lx\n",
				       dropped[i].msr, dropped[i].val,
				       SEEN(vm, after_drop, i), want);
			bad++;
		}
	}
	ksft_print_msg("%zu writes KVM drops checked\n", ARRAY_SIZE(dropped));
	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		if (SEEN(vm, refused_gp, i) != 1) {
			ksft_print_msg("%s %#x: %lu #GP, KVM 1\n",
				       refused[i].write ? "WRMSR" : "RDMSR",
				       refused[i].msr, SEEN(vm, refused_gp, i));
			bad++;
		}
	}
	ksft_print_msg("%zu accesses KVM refuses checked\n",
		       ARRAY_SIZE(refused));
	TEST_ASSERT(!bad, "%u accesses not as KVM answers them", bad);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
