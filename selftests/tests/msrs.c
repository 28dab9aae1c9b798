// SPDX-License-Identifier: GPL-2.0
/*
 * msrs: the MSR ioctls, and the small VM and vCPU ioctls around them.
 *
 *  - KVM_GET_MSR_INDEX_LIST: -E2BIG with the count needed for a short
 *    buffer, then a list with the MSRs a VMM saves and restores, each of
 *    which reads and takes its value back; the feature MSRs read on
 *    /dev/kvm.
 *  - A new VM's TSC starts from 0.
 *  - KVM_SET_MSRS: values set from userspace are what the guest reads
 *    with RDMSR.  The SYSCALL MSRs, KERNEL_GS_BASE and SYSENTER_ESP are
 *    not intercepted, so this checks that the values reach the hardware
 *    the guest runs on.  A TSC set far ahead shows in RDTSC too.
 *  - KVM_GET_MSRS: values the guest wrote with WRMSR come back.
 *  - A batch stops at the first MSR that fails; the return value is the
 *    number of entries done.  4096 entries or more: -E2BIG.
 *  - KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR take the usual
 *    addresses (the latter only before vCPUs exist); KVM_GET_TSC_KHZ
 *    gives a rate.
 */
#include <sys/ioctl.h>

#include "kvm_util.h"

#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_PAT			0x277
#define MSR_TSC			0x10
#define MSR_NOBODY		0x2ff0	/* not an architectural MSR */

#define PAT_RESET		0x0007040600070406ULL
#define TSC_AHEAD		(1ULL << 52)

/* The MSRs set from both sides, in this order. */
static const uint32_t msr_idx[] = {
	MSR_LSTAR, MSR_STAR, MSR_KERNEL_GS_BASE, MSR_SYSENTER_ESP, MSR_PAT,
	MSR_EFER,
};

#define NR_MSRS ARRAY_SIZE(msr_idx)

/*
 * Canonical, distinct values.  SYSENTER_ESP is kept to 32 bits: KVM on
 * AMD keeps only those for a guest that is not "GenuineIntel".
 */
static uint64_t host_val[NR_MSRS] = {
	0xffffffff81234560ULL, 0x0023001000000000ULL, 0x00007f0012345000ULL,
	0x12345678ULL, PAT_RESET ^ 0x0100, 0,
};

static uint64_t guest_val[NR_MSRS] = {
	0xffffffff8abcdef0ULL, 0x001b000800000000ULL, 0xffff888012345000ULL,
	0x87654320ULL, PAT_RESET ^ 0x01000000, 0,
};

/* What the guest read, for the host to compare. */
static uint64_t guest_read[NR_MSRS];
static uint64_t guest_tsc, guest_rdtsc;

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

static void guest_code(void)
{
	unsigned int i;

	for (i = 0; i < NR_MSRS; i++)
		guest_read[i] = rdmsr(msr_idx[i]);
	guest_tsc = rdmsr(MSR_TSC);
	guest_rdtsc = rdtsc();
	GUEST_SYNC(1);
	for (i = 0; i < NR_MSRS; i++)
		wrmsr(msr_idx[i], guest_val[i]);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* One KVM_GET/SET_MSRS call on up to 8 entries; the ioctl's result. */
struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[8];
};

static int msrs_io(struct kvm_vcpu *vcpu, unsigned long ioctl_nr,
		   struct msr_buf *b, unsigned int n)
{
	b->hdr.nmsrs = n;
	return ioctl(vcpu->fd, ioctl_nr, b);
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t idx)
{
	struct msr_buf b = { .e[0].index = idx };

	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_GET_MSRS, &b, 1), 1);
	return b.e[0].data;
}

static void test_index_list(struct kvm_vm *vm)
{
	static const uint32_t want[] = {
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
		MSR_KERNEL_GS_BASE, MSR_SYSENTER_CS, MSR_SYSENTER_ESP,
		MSR_SYSENTER_EIP, MSR_PAT, MSR_TSC,
	};
	struct kvm_msr_list small = { .nmsrs = 1 };
	struct kvm_msr_list *list;
	unsigned int i, j, n;

	TEST_ASSERT(ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &small) == -1 &&
		    errno == E2BIG, "short KVM_GET_MSR_INDEX_LIST: not E2BIG");
	n = small.nmsrs;
	TEST_ASSERT(n >= ARRAY_SIZE(want), "index list of %u MSRs", n);
	list = calloc(1, sizeof(*list) + n * sizeof(list->indices[0]));
	TEST_ASSERT(list, "calloc");
	list->nmsrs = n;
	kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list);
	TEST_ASSERT_EQ(list->nmsrs, n);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		for (j = 0; j < n && list->indices[j] != want[i]; j++)
			;
		TEST_ASSERT(j < n, "MSR %#x not in the index list", want[i]);
	}
	free(list);
	ksft_print_msg("KVM_GET_MSR_INDEX_LIST: E2BIG, then %u MSRs\n", n);
}

/*
 * What a VMM's save/restore does: every listed MSR reads and writes back,
 * on a vCPU set up as a VMM sets it up (KVM checks some MSRs against the
 * CPUID model, and some need the in-kernel LAPIC).
 */
static void test_list_round_trip(void)
{
	struct kvm_msr_list *list;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct msr_buf b;
	unsigned int i;

	vm = vm_create(VM_MODE_LONG_4K);
	if (kvm_check_cap(KVM_CAP_IRQCHIP))
		vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vcpu = vm_vcpu_add(vm, 0, NULL);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, kvm_get_supported_cpuid());
	list = calloc(1, sizeof(*list) + 256 * sizeof(list->indices[0]));
	TEST_ASSERT(list, "calloc");
	list->nmsrs = 256;
	kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list);
	for (i = 0; i < list->nmsrs; i++) {
		b.e[0] = (struct kvm_msr_entry){ .index = list->indices[i] };
		TEST_ASSERT(msrs_io(vcpu, KVM_GET_MSRS, &b, 1) == 1,
			    "listed MSR %#x does not read", list->indices[i]);
		TEST_ASSERT(msrs_io(vcpu, KVM_SET_MSRS, &b, 1) == 1,
			    "listed MSR %#x does not take back its value %#llx",
			    list->indices[i], b.e[0].data);
	}
	ksft_print_msg("all %u listed MSRs read and write back: ok\n",
		       list->nmsrs);
	free(list);
	kvm_vm_free(vm);
}

/* MTRRs: KVM's capability word, and its checks on what is written. */
static void test_mtrrs(struct kvm_vcpu *vcpu)
{
	struct msr_buf b;

	b.e[0] = (struct kvm_msr_entry){ .index = 0xfe };	/* MTRRcap */
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_GET_MSRS, &b, 1), 1);
	TEST_ASSERT_EQ(b.e[0].data, 0x508);
	b.e[0] = (struct kvm_msr_entry){ .index = 0x2ff, .data = 0xc06 };
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, 1), 1);
	TEST_ASSERT_EQ(get_msr(vcpu, 0x2ff), 0xc06);
	b.e[0].data = 0xc02;		/* type 2 does not exist */
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, 1), 0);
	b.e[0] = (struct kvm_msr_entry){ .index = 0x200, .data = 0x80000006 };
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, 1), 1);
	b.e[0].data = 0x80000106;	/* reserved bit 8 of a base */
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, 1), 0);
	b.e[0] = (struct kvm_msr_entry){ .index = 0x250,
					 .data = 0x0606060606060606 };
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, 1), 1);
	ksft_print_msg("MTRRs: capability 0x508, types and reserved bits checked: ok\n");
}

/* The feature MSRs: listed on /dev/kvm, read there with KVM_GET_MSRS. */
static void test_feature_msrs(struct kvm_vm *vm)
{
	struct kvm_msr_list *list;
	struct msr_buf b;
	unsigned int i;

	if (!kvm_check_cap(KVM_CAP_GET_MSR_FEATURES))
		return;
	list = calloc(1, sizeof(*list) + 64 * sizeof(list->indices[0]));
	TEST_ASSERT(list, "calloc");
	list->nmsrs = 64;
	kvm_ioctl(vm->kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, list);
	TEST_ASSERT(list->nmsrs > 0, "KVM_CAP_GET_MSR_FEATURES, no MSRs");
	for (i = 0; i < list->nmsrs; i++) {
		b.hdr.nmsrs = 1;
		b.e[0] = (struct kvm_msr_entry){ .index = list->indices[i] };
		TEST_ASSERT(ioctl(vm->kvm_fd, KVM_GET_MSRS, &b) == 1,
			    "feature MSR %#x does not read", list->indices[i]);
	}
	ksft_print_msg("%u feature MSRs read on /dev/kvm: ok\n", list->nmsrs);
	free(list);
}

static void test_vm_addrs(struct kvm_vm *vm, bool vcpus)
{
	uint64_t ident = 0xfffbc000ULL;
	int r;

	TEST_ASSERT_EQ(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000UL), 0);
	r = __vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	if (vcpus)
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "KVM_SET_IDENTITY_MAP_ADDR after KVM_CREATE_VCPU: %d",
			    r);
	else
		TEST_ASSERT_EQ(r, 0);
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct msr_buf b;
	struct kvm_vm *vm;
	unsigned int i;
	uint64_t efer, tsc;
	int khz;

	vm = vm_create(VM_MODE_LONG_4K);
	test_index_list(vm);
	test_vm_addrs(vm, false);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	test_vm_addrs(vm, true);
	ksft_print_msg("KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR: ok\n");

	test_feature_msrs(vm);
	test_list_round_trip();
	test_mtrrs(vcpu);

	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ: %d", khz);
	ksft_print_msg("KVM_GET_TSC_KHZ: %d\n", khz);
	/* As in KVM, a new VM's TSC starts from 0: under a minute ago. */
	tsc = get_msr(vcpu, MSR_TSC);
	TEST_ASSERT(tsc < 60ULL * khz * 1000, "a new vCPU's TSC is %#lx", tsc);
	ksft_print_msg("the TSC starts at 0 with the VM: ok\n");

	/* FS_BASE is the segment base KVM_GET_SREGS shows. */
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_FS_BASE), sregs.fs.base);

	/* EFER is changed in SCE only: the guest runs in long mode. */
	efer = get_msr(vcpu, MSR_EFER);
	TEST_ASSERT_EQ(efer, sregs.efer);
	host_val[NR_MSRS - 1] = efer ^ EFER_SCE;
	guest_val[NR_MSRS - 1] = efer;
	sync_global_to_guest(vm, guest_val);

	memset(&b, 0, sizeof(b));
	for (i = 0; i < NR_MSRS; i++) {
		b.e[i].index = msr_idx[i];
		b.e[i].data = host_val[i];
	}
	b.e[i].index = MSR_TSC;
	b.e[i].data = TSC_AHEAD;
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, NR_MSRS + 1),
		       NR_MSRS + 1);
	tsc = get_msr(vcpu, MSR_TSC);
	TEST_ASSERT(tsc >= TSC_AHEAD && tsc - TSC_AHEAD < (1ULL << 44),
		    "TSC %#llx after setting %#llx", (unsigned long long)tsc,
		    TSC_AHEAD);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	sync_global_from_guest(vm, guest_read);
	sync_global_from_guest(vm, guest_tsc);
	sync_global_from_guest(vm, guest_rdtsc);
	for (i = 0; i < NR_MSRS; i++)
		TEST_ASSERT(guest_read[i] == host_val[i],
			    "guest RDMSR %#x: %#llx, set %#llx", msr_idx[i],
			    (unsigned long long)guest_read[i],
			    (unsigned long long)host_val[i]);
	TEST_ASSERT(guest_tsc >= tsc && guest_rdtsc >= guest_tsc,
		    "guest TSC %#llx, RDTSC %#llx, set %#llx",
		    (unsigned long long)guest_tsc,
		    (unsigned long long)guest_rdtsc, (unsigned long long)tsc);
	ksft_print_msg("KVM_SET_MSRS: the guest reads the values, TSC included\n");

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);
	memset(&b, 0, sizeof(b));
	for (i = 0; i < NR_MSRS; i++)
		b.e[i].index = msr_idx[i];
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_GET_MSRS, &b, NR_MSRS), NR_MSRS);
	for (i = 0; i < NR_MSRS; i++)
		TEST_ASSERT(b.e[i].data == guest_val[i],
			    "KVM_GET_MSRS %#x: %#llx, guest wrote %#llx",
			    msr_idx[i], (unsigned long long)b.e[i].data,
			    (unsigned long long)guest_val[i]);
	ksft_print_msg("KVM_GET_MSRS: the values the guest wrote\n");

	/* An unknown MSR in the middle: one entry done, LSTAR untouched. */
	memset(&b, 0, sizeof(b));
	b.e[0].index = MSR_STAR;
	b.e[0].data = host_val[1];
	b.e[1].index = MSR_NOBODY;
	b.e[1].data = 1;
	b.e[2].index = MSR_LSTAR;
	b.e[2].data = host_val[0];
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_SET_MSRS, &b, 3), 1);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_STAR), host_val[1]);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_LSTAR), guest_val[0]);
	b.e[0].index = MSR_NOBODY;
	TEST_ASSERT_EQ(msrs_io(vcpu, KVM_GET_MSRS, &b, 2), 0);
	TEST_ASSERT(msrs_io(vcpu, KVM_GET_MSRS, &b, 4096) == -1 &&
		    errno == E2BIG, "KVM_GET_MSRS of 4096: not E2BIG");
	ksft_print_msg("a batch stops at an unknown MSR; 4096 entries: E2BIG\n");

	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
