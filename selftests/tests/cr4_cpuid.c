// SPDX-License-Identifier: GPL-2.0
/*
 * cr4_cpuid: a guest's MOV to CR4 may set only the bits of features its
 * CPUID offers, as in KVM (kvm_is_valid_cr4()).  For each CR4 bit that
 * depends on a CPUID feature: with the supported table as the guest's
 * CPUID, a bit it offers can be set (CR4 reads it back) and cleared
 * again, a bit it does not offer gives #GP and CR4 stays as it was; with
 * the feature cleared from the table (KVM_SET_CPUID2), the write gives
 * #GP.  LA57 cannot change in long mode at all: #GP either way.  Each
 * write goes through RAX and then through R9 (a REX prefix, which a
 * hypervisor without decode assists must decode itself).
 */
#include "kvm_util.h"

struct cr4_feature {
	const char *name;
	uint64_t cr4;
	uint32_t function;
	int reg;		/* CPUID_EBX, CPUID_ECX */
	int bit;
	bool never;		/* can never change in long mode */
};

static const struct cr4_feature features[] = {
	{ "VMXE", 1UL << 13, 1, CPUID_ECX, 5, false },
	{ "PCIDE", 1UL << 17, 1, CPUID_ECX, 17, false },
	{ "OSXSAVE", 1UL << 18, 1, CPUID_ECX, 26, false },
	{ "FSGSBASE", 1UL << 16, 7, CPUID_EBX, 0, false },
	{ "SMEP", 1UL << 20, 7, CPUID_EBX, 7, false },
	{ "SMAP", 1UL << 21, 7, CPUID_EBX, 20, false },
	{ "UMIP", 1UL << 11, 7, CPUID_ECX, 2, false },
	{ "PKE", 1UL << 22, 7, CPUID_ECX, 3, false },
	{ "LA57", 1UL << 12, 7, CPUID_ECX, 16, true },
};

/* mov %rax, %cr4: 0F 22 E0 */
static void set_cr4_rax(uint64_t v)
{
	guest_fault_len = 3;
	asm volatile("mov %0, %%cr4" : : "a"(v) : "memory");
}

/* mov %r9, %cr4: 41 0F 22 E1 */
static void set_cr4_r9(uint64_t v)
{
	guest_fault_len = 4;
	asm volatile("mov %0, %%r9\n\tmov %%r9, %%cr4" : : "r"(v)
		     : "r9", "memory");
}

static void guest_code(uint64_t bit, uint64_t may_set)
{
	uint64_t cr4 = get_cr4();

	GUEST_ASSERT_EQ(cr4 & bit, 0);
	set_cr4_rax(cr4 | bit);
	if (may_set) {
		GUEST_ASSERT_EQ(guest_gp_count, 0);
		GUEST_ASSERT_EQ(get_cr4(), cr4 | bit);
		set_cr4_r9(cr4);
		GUEST_ASSERT_EQ(guest_gp_count, 0);
		GUEST_ASSERT_EQ(get_cr4(), cr4);
		set_cr4_r9(cr4 | bit);
		GUEST_ASSERT_EQ(guest_gp_count, 0);
		GUEST_ASSERT_EQ(get_cr4(), cr4 | bit);
		set_cr4_rax(cr4);
	} else {
		GUEST_ASSERT_EQ(guest_gp_count, 1);
		GUEST_ASSERT_EQ(get_cr4(), cr4);
		set_cr4_r9(cr4 | bit);
		GUEST_ASSERT_EQ(guest_gp_count, 2);
	}
	GUEST_ASSERT_EQ(get_cr4(), cr4);
	GUEST_DONE();
}

static uint32_t *feature_reg(struct kvm_cpuid2 *cpuid,
			     const struct cr4_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find_leaf(cpuid, f->function);

	if (!e)
		return NULL;
	return f->reg == CPUID_EBX ? &e->ebx : &e->ecx;
}

/* One guest: @f's bit in CR4, with or without the feature in CPUID. */
static void run_one(const struct cr4_feature *f, bool hide)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t *reg;
	bool offered;

	TEST_ASSERT(cpuid, "KVM_GET_SUPPORTED_CPUID failed");
	reg = feature_reg(cpuid, f);
	offered = reg && (*reg & (1U << f->bit));
	if (hide && !offered) {
		free(cpuid);
		return;
	}
	if (hide)
		*reg &= ~(1U << f->bit);
	guest_gp_count = 0;
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	vcpu_args_set(vcpu, 2, f->cr4, (uint64_t)(offered && !hide && !f->never));
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	ksft_print_msg("CR4.%s: %s in CPUID%s, %s: ok\n", f->name,
		       offered ? "offered" : "not offered",
		       hide ? " then hidden" : "",
		       offered && !hide && !f->never ? "set and cleared" : "#GP");
	kvm_vm_free(vm);
	free(cpuid);
}

int main(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(features); i++) {
		run_one(&features[i], false);
		run_one(&features[i], true);
	}
	ksft_exit_pass();
}
