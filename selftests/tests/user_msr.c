// SPDX-License-Identifier: GPL-2.0
/*
 * user_msr: the guest's failed RDMSR and WRMSR go to userspace
 * (KVM_CAP_X86_USER_SPACE_MSR), and userspace filters MSRs
 * (KVM_X86_SET_MSR_FILTER), as in KVM 6.1.
 *
 *  - The ioctls: both capabilities answer 1; KVM_ENABLE_CAP refuses
 *    unknown reasons; KVM_X86_SET_MSR_FILTER refuses bad flags, a
 *    default-deny filter without ranges, a range without flags or with
 *    unknown ones, a bitmap over 0x600 bytes, and one it cannot read
 *    (whole longs are read, as KVM does), with KVM's errnos; a range
 *    without MSRs is skipped whatever its flags.
 *  - The guest reads and writes an MSR nobody models (exit reason
 *    UNKNOWN), writes a reserved EFER bit and reads an x2APIC MSR
 *    without an in-kernel LAPIC (INVAL; the x2APIC MSRs are never
 *    filtered).  Userspace answers with data, which the guest reads in
 *    EDX:EAX, or with an error, which the guest takes as #GP.
 *  - With a filter, FS_BASE and KERNEL_GS_BASE, which the guest
 *    normally reaches without exits, exit for the accesses the filter
 *    denies (reason FILTER) and not for the others: a write to
 *    KERNEL_GS_BASE goes on to the MSR while its read is filtered.
 *    KVM_GET_MSRS is not filtered.  Without FILTER among the reasons, a
 *    denied access is #GP; an empty filter lets everything through
 *    again; a default-deny filter denies what no range allows.  A vCPU
 *    created after the filter obeys it too.
 */
#include <string.h>
#include <sys/mman.h>
#include <errno.h>

#include "kvm_util.h"

#define MSR_EFER		0xc0000080
#define MSR_TSC			0x10
#define MSR_X2APIC_ID		0x802
#define MSR_NOBODY		0x2ff0	/* not an architectural MSR */

#define ALL_REASONS	(KVM_MSR_EXIT_REASON_INVAL | \
			 KVM_MSR_EXIT_REASON_UNKNOWN | \
			 KVM_MSR_EXIT_REASON_FILTER)

#define RDATA		0x1122334455667788ULL
#define WDATA		0xaabbccdd00112233ULL
#define KGS_VALUE	0xffff888012345000ULL

/* Phase 1: no filter; every failure goes to userspace. */
static void guest_no_filter(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	GUEST_ASSERT_EQ(rdmsr(MSR_NOBODY), RDATA);	/* answered */
	wrmsr(MSR_NOBODY, WDATA);			/* accepted */
	GUEST_ASSERT_EQ(guest_gp_count, 0);
	rdmsr(MSR_NOBODY);				/* error */
	GUEST_ASSERT_EQ(guest_gp_count, 1);
	wrmsr(MSR_NOBODY, WDATA);			/* error */
	GUEST_ASSERT_EQ(guest_gp_count, 2);
	wrmsr(MSR_EFER, efer | (1ULL << 20));		/* accepted, ignored */
	GUEST_ASSERT_EQ(guest_gp_count, 2);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), efer);
	GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_ID), RDATA);
	GUEST_ASSERT_EQ(guest_gp_count, 2);
}

/* Phase 2 on: FS_BASE denied, KERNEL_GS_BASE's reads denied. */
static void guest_filtered(void)
{
	wrmsr(MSR_FS_BASE, 0x5000);			/* accepted, ignored */
	GUEST_ASSERT_EQ(rdmsr(MSR_FS_BASE), RDATA);
	wrmsr(MSR_KERNEL_GS_BASE, KGS_VALUE);		/* no exit */
	GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), RDATA);
	GUEST_ASSERT_EQ(rdmsr(MSR_NOBODY), RDATA);	/* allowed: UNKNOWN */
	GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_ID), RDATA);	/* denied: INVAL */
	GUEST_ASSERT_EQ(guest_gp_count, 2);
	GUEST_SYNC(2);
	/* FILTER no longer among the reasons: #GP. */
	rdmsr(MSR_FS_BASE);
	GUEST_ASSERT_EQ(guest_gp_count, 3);
	GUEST_SYNC(3);
	/* An empty filter: FS_BASE is the guest's own again. */
	wrmsr(MSR_FS_BASE, 0x6000);
	GUEST_ASSERT_EQ(rdmsr(MSR_FS_BASE), 0x6000);
	GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), KGS_VALUE);
	GUEST_SYNC(4);
	/* Default deny, only 0-0x1fff allowed. */
	GUEST_ASSERT(rdmsr(MSR_TSC) != 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_FS_BASE), RDATA);
	GUEST_ASSERT_EQ(guest_gp_count, 3);
}

static void guest_code(void)
{
	guest_no_filter();
	GUEST_SYNC(1);
	guest_filtered();
	GUEST_DONE();
}

/* A vCPU created under a filter that denies FS_BASE's reads. */
static void guest_late_vcpu(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_FS_BASE), RDATA);
	GUEST_DONE();
}

static uint8_t deny_bits[8];
static uint8_t allow_low[0x400];

static struct kvm_msr_filter one_range(uint32_t flags, uint32_t base,
				       uint32_t nmsrs, void *bitmap)
{
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = flags, .base = base, .nmsrs = nmsrs,
			       .bitmap = bitmap },
	};

	return f;
}

static void expect_errno(struct kvm_vm *vm, struct kvm_msr_filter *f,
			 int err, const char *what)
{
	int r = __vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, f);

	TEST_ASSERT(err ? r == -1 && errno == err : r == 0,
		    "KVM_X86_SET_MSR_FILTER, %s: %d (errno %d), expected %d",
		    what, r, r ? errno : 0, err);
}

static void test_ioctls(void)
{
	static uint8_t big[KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR };
	struct kvm_vm *vm = vm_create(VM_MODE_LONG_4K);
	struct kvm_msr_filter f;
	uint8_t *page;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR), 1);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_X86_MSR_FILTER), 1);
	cap.args[0] = 1 << 3;
	TEST_ASSERT(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == -1 &&
		    errno == EINVAL, "an unknown reason is not EINVAL");
	cap.args[0] = ALL_REASONS;
	cap.flags = 1;
	TEST_ASSERT(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == -1 &&
		    errno == EINVAL, "flags are not EINVAL");
	cap.flags = 0;
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);

	f = one_range(KVM_MSR_FILTER_READ, 0, 1, deny_bits);
	f.flags = 2;
	expect_errno(vm, &f, EINVAL, "unknown filter flags");
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	expect_errno(vm, &f, EINVAL, "default deny without ranges");
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	expect_errno(vm, &f, 0, "no ranges");
	f = one_range(0xff, 0, 0, NULL);
	expect_errno(vm, &f, 0, "a range without MSRs, with bad flags");
	f = one_range(0, 0, 1, deny_bits);
	expect_errno(vm, &f, EINVAL, "a range without flags");
	f = one_range(KVM_MSR_FILTER_READ | 4, 0, 1, deny_bits);
	expect_errno(vm, &f, EINVAL, "a range with unknown flags");
	f = one_range(KVM_MSR_FILTER_READ, 0, sizeof(big) * 8, big);
	expect_errno(vm, &f, 0, "a bitmap of 0x600 bytes");
	f = one_range(KVM_MSR_FILTER_READ, 0, sizeof(big) * 8 + 1, big);
	expect_errno(vm, &f, EINVAL, "a bitmap over 0x600 bytes");
	f = one_range(KVM_MSR_FILTER_READ, 0, 0xffffffff, big);
	expect_errno(vm, &f, EINVAL, "4G MSRs");
	f = one_range(KVM_MSR_FILTER_READ, 0, 1, NULL);
	expect_errno(vm, &f, EFAULT, "a NULL bitmap");
	f.ranges[1] = f.ranges[0];
	f.ranges[0].bitmap = deny_bits;
	expect_errno(vm, &f, EFAULT, "a NULL bitmap in the second range");

	/* One byte before an unmapped page: KVM reads a whole long. */
	page = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(page != MAP_FAILED, "mmap");
	munmap(page + 4096, 4096);
	f = one_range(KVM_MSR_FILTER_READ, 0, 8, page + 4095);
	expect_errno(vm, &f, EFAULT, "1 byte bitmap, 7 bytes readable");
	f = one_range(KVM_MSR_FILTER_READ, 0, 8, page + 4088);
	expect_errno(vm, &f, 0, "1 byte bitmap, 8 bytes readable");
	munmap(page, 4096);
	TEST_ASSERT(ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, NULL) == -1 &&
		    errno == EFAULT, "a NULL filter is not EFAULT");
	kvm_vm_free(vm);
	ksft_print_msg("capabilities, KVM_ENABLE_CAP and KVM_X86_SET_MSR_FILTER errnos: ok\n");
}

/* Run to the next exit: an MSR exit as expected; answer it. */
static void msr_exit(struct kvm_vcpu *vcpu, bool write, uint32_t index,
		     uint32_t reason, uint64_t wdata, uint8_t error)
{
	struct kvm_run *run = vcpu->run;
	int i;

	vcpu_run(vcpu);
	ucall_check_fatal(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, write ? KVM_EXIT_X86_WRMSR :
						  KVM_EXIT_X86_RDMSR);
	TEST_ASSERT(run->msr.index == index && run->msr.reason == reason,
		    "%s exit for MSR %#x reason %u, expected %#x reason %u",
		    write ? "WRMSR" : "RDMSR", run->msr.index,
		    run->msr.reason, index, reason);
	TEST_ASSERT_EQ(run->msr.error, 0);
	for (i = 0; i < 7; i++)
		TEST_ASSERT_EQ(run->msr.pad[i], 0);
	TEST_ASSERT_EQ(run->msr.data, write ? wdata : 0);
	run->msr.error = error;
	if (!write)
		run->msr.data = RDATA;
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = index };

	TEST_ASSERT_EQ(vcpu_ioctl(vcpu, KVM_GET_MSRS, &b.hdr), 1);
	return b.e.data;
}

static void enable_reasons(struct kvm_vm *vm, uint64_t reasons)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR, .args[0] = reasons,
	};

	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

static void run_filtered(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = {
			{ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 1,
			  MSR_FS_BASE, deny_bits },
			{ KVM_MSR_FILTER_READ, 1, MSR_KERNEL_GS_BASE,
			  deny_bits },
			{ KVM_MSR_FILTER_READ, 1, MSR_NOBODY, allow_low },
			{ KVM_MSR_FILTER_READ, 1, MSR_X2APIC_ID, deny_bits },
		},
	};
	struct kvm_sregs sregs;

	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
	msr_exit(vcpu, true, MSR_FS_BASE, KVM_MSR_EXIT_REASON_FILTER,
		 0x5000, 0);
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(sregs.fs.base, 0);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_FS_BASE), 0);	/* not filtered */
	msr_exit(vcpu, false, MSR_FS_BASE, KVM_MSR_EXIT_REASON_FILTER, 0, 0);
	msr_exit(vcpu, false, MSR_KERNEL_GS_BASE, KVM_MSR_EXIT_REASON_FILTER,
		 0, 0);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_KERNEL_GS_BASE), KGS_VALUE);
	msr_exit(vcpu, false, MSR_NOBODY, KVM_MSR_EXIT_REASON_UNKNOWN, 0, 0);
	msr_exit(vcpu, false, MSR_X2APIC_ID, KVM_MSR_EXIT_REASON_INVAL, 0, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 2);

	enable_reasons(vm, KVM_MSR_EXIT_REASON_INVAL |
			   KVM_MSR_EXIT_REASON_UNKNOWN);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 3);

	enable_reasons(vm, ALL_REASONS);
	memset(&f, 0, sizeof(f));
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 4);
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(sregs.fs.base, 0x6000);

	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	f.ranges[0] = (struct kvm_msr_filter_range){
		KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 0x2000, 0,
		allow_low };
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
	msr_exit(vcpu, false, MSR_FS_BASE, KVM_MSR_EXIT_REASON_FILTER, 0, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
}

static void test_guest(void)
{
	struct kvm_msr_filter f;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, 13, guest_skip_gp);
	enable_reasons(vm, ALL_REASONS);
	msr_exit(vcpu, false, MSR_NOBODY, KVM_MSR_EXIT_REASON_UNKNOWN, 0, 0);
	msr_exit(vcpu, true, MSR_NOBODY, KVM_MSR_EXIT_REASON_UNKNOWN,
		 WDATA, 0);
	msr_exit(vcpu, false, MSR_NOBODY, KVM_MSR_EXIT_REASON_UNKNOWN, 0, 1);
	msr_exit(vcpu, true, MSR_NOBODY, KVM_MSR_EXIT_REASON_UNKNOWN,
		 WDATA, 1);
	msr_exit(vcpu, true, MSR_EFER, KVM_MSR_EXIT_REASON_INVAL,
		 get_msr(vcpu, MSR_EFER) | (1ULL << 20), 0);
	msr_exit(vcpu, false, MSR_X2APIC_ID, KVM_MSR_EXIT_REASON_INVAL, 0, 0);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	ksft_print_msg("UNKNOWN and INVAL exits, data and #GP from userspace: ok\n");
	run_filtered(vcpu);
	kvm_vm_free(vm);
	ksft_print_msg("FILTER exits, pass-through MSRs re-intercepted, default deny: ok\n");

	vm = vm_create(VM_MODE_LONG_4K);
	enable_reasons(vm, KVM_MSR_EXIT_REASON_FILTER);
	f = one_range(KVM_MSR_FILTER_READ, MSR_FS_BASE, 1, deny_bits);
	vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &f);
	vcpu = vm_vcpu_add(vm, 0, guest_late_vcpu);
	msr_exit(vcpu, false, MSR_FS_BASE, KVM_MSR_EXIT_REASON_FILTER, 0, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_print_msg("a vCPU created after the filter obeys it: ok\n");
}

int main(void)
{
	if (!kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR) ||
	    !kvm_check_cap(KVM_CAP_X86_MSR_FILTER))
		ksft_exit_skip("no KVM_CAP_X86_USER_SPACE_MSR or _MSR_FILTER\n");
	memset(allow_low, 0xff, sizeof(allow_low));
	test_ioctls();
	test_guest();
	ksft_exit_pass();
}
