// SPDX-License-Identifier: GPL-2.0
/*
 * cpuid: the guest's CPUID through the ABI.
 *
 *  - KVM_GET_SUPPORTED_CPUID: the nent protocol (E2BIG when the array is
 *    too small, a nent above 256 capped rather than refused), EFAULT, and
 *    a sane table: the host's vendor, maxima that cover every entry, no
 *    MONITOR or TSC-deadline (api.rst).  On kvisor the table must also be
 *    honest: nothing kvisor does not virtualize (VMX, SVM, PCID, the
 *    paravirtual features it lacks, ...), no bit the host lacks, and
 *    the hypervisor bit and KVM's signature leaf.  RDTSCP and RDPID are
 *    offered where the host has them (tsc_aux checks what they return).
 *  - KVM_SET_CPUID2 and KVM_GET_CPUID2: E2BIG, EFAULT and EINVAL as in
 *    KVM 6.1; a table reads back as it was set; once the vCPU has run,
 *    only the same table is accepted again.
 *  - What the guest's CPUID returns: exact leaf and index matches, KVM's
 *    rules for leaves the table lacks (Intel: beyond a class's maximum
 *    means the highest basic leaf; AMD: zeros), OSXSAVE following the
 *    guest's CR4, and the supported table as the library installs it.
 */
#include <cpuid.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "kmod.h"

#define MAX_ENTRIES		256	/* KVM_MAX_CPUID_ENTRIES */
#define MAX_QUERIES		128

#define BIT(n)			(1U << (n))
#define CPUID_1_ECX_MONITOR	BIT(3)
#define CPUID_1_ECX_VMX		BIT(5)
#define CPUID_1_ECX_SMX		BIT(6)
#define CPUID_1_ECX_PCID	BIT(17)
#define CPUID_1_ECX_X2APIC	BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE BIT(24)
#define CPUID_1_ECX_XSAVE	BIT(26)
#define CPUID_1_ECX_OSXSAVE	BIT(27)
#define CPUID_1_ECX_HYPERVISOR	BIT(31)
#define CPUID_1_EDX_APIC	BIT(9)
#define CPUID_7_EBX_INVPCID	BIT(10)
#define CPUID_7_EBX_TSC_ADJUST	BIT(1)
#define CPUID_D_1_EAX_XSAVEC	BIT(1)
#define CPUID_D_1_EAX_XSAVES	BIT(3)
#define CPUID_8_1_ECX_SVM	BIT(2)

/* "GenuineIntel" and "AuthenticAMD" as EBX, EDX, ECX */
#define INTEL_EBX	0x756e6547
#define INTEL_EDX	0x49656e69
#define INTEL_ECX	0x6c65746e
#define AMD_EBX		0x68747541
#define AMD_EDX		0x69746e65
#define AMD_ECX		0x444d4163

/* One CPUID the guest executes, and what it got. */
struct query {
	uint32_t function, index;
	uint32_t regs[4];	/* EAX, EBX, ECX, EDX */
};

static struct query queries[MAX_QUERIES];
static uint64_t nr_queries;

static inline void guest_cpuid(uint32_t function, uint32_t index,
			       uint32_t regs[4])
{
	asm volatile("cpuid"
		     : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
		     : "a"(function), "c"(index));
}

static void guest_queries(void)
{
	uint64_t i;

	for (i = 0; i < nr_queries; i++)
		guest_cpuid(queries[i].function, queries[i].index,
			    queries[i].regs);
	GUEST_DONE();
}

static uint32_t guest_cpuid_1_ecx(void)
{
	uint32_t regs[4];

	guest_cpuid(1, 0, regs);
	return regs[2];
}

/* CPUID.1:ECX with CR4.OSXSAVE clear, set, and clear again. */
static void guest_osxsave(void)
{
	uint64_t cr4 = get_cr4();

	GUEST_ASSERT(!(cr4 & X86_CR4_OSXSAVE));
	GUEST_SYNC(guest_cpuid_1_ecx());
	set_cr4(cr4 | X86_CR4_OSXSAVE);
	GUEST_SYNC(guest_cpuid_1_ecx());
	set_cr4(cr4);
	GUEST_SYNC(guest_cpuid_1_ecx());
	GUEST_DONE();
}

/* Helpers --------------------------------------------------------------- */

static struct kvm_cpuid2 *cpuid_alloc(uint32_t nent)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	TEST_ASSERT(c, "out of memory");
	c->nent = nent;
	return c;
}

static struct kvm_cpuid2 *cpuid_from(const struct kvm_cpuid_entry2 *e,
				     uint32_t nent)
{
	struct kvm_cpuid2 *c = cpuid_alloc(nent);

	memcpy(c->entries, e, nent * sizeof(*e));
	return c;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c,
					   uint32_t function, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}

/* An ioctl that must fail with @err. */
#define TEST_ASSERT_ERRNO(call, err)					\
do {									\
	int __r = (call);						\
	TEST_ASSERT(__r == -1 && errno == (err),			\
		    "%s: returned %d errno %d (%s), expected %s",	\
		    #call, __r, errno, strerror(errno), #err);		\
} while (0)

/*
 * A struct kvm_cpuid2 whose header is readable but whose entries lie on a
 * page that is not: the entries' copy must fail with EFAULT.
 */
static struct kvm_cpuid2 *cpuid_bad_entries(uint32_t nent)
{
	char *p = mmap(NULL, 2 * getpagesize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_cpuid2 *c;

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	TEST_ASSERT(!mprotect(p + getpagesize(), getpagesize(), PROT_NONE),
		    "mprotect");
	c = (struct kvm_cpuid2 *)(p + getpagesize() - sizeof(*c));
	c->nent = nent;
	return c;
}

/*
 * Is the hypervisor under test kvisor?  Only then are kvisor's own
 * choices checked.  In-tree KVM runs with kvisor unloaded, or beside a
 * kvisor that was loaded under another name.
 */
static bool testing_kvisor(void)
{
	return kmod_loaded("kvisor") &&
	       (strstr(kvm_dev_path(), "kvisor") || !kmod_loaded("kvm"));
}

/* Run the guest's queries, and check each against @expect. */
static void run_queries(struct kvm_vcpu *vcpu, const struct query *expect,
			unsigned int n, const char *what)
{
	struct kvm_vm *vm = vcpu->vm;
	unsigned int i;

	TEST_ASSERT(n <= MAX_QUERIES, "too many queries");
	memset(queries, 0, sizeof(queries));
	for (i = 0; i < n; i++) {
		queries[i].function = expect[i].function;
		queries[i].index = expect[i].index;
	}
	nr_queries = n;
	sync_global_to_guest(vm, queries);
	sync_global_to_guest(vm, nr_queries);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	sync_global_from_guest(vm, queries);

	for (i = 0; i < n; i++) {
		const uint32_t *got = queries[i].regs, *want = expect[i].regs;

		TEST_ASSERT(!memcmp(got, want, sizeof(queries[i].regs)),
			    "%s: CPUID %#x.%u gave %08x %08x %08x %08x, expected %08x %08x %08x %08x",
			    what, expect[i].function, expect[i].index,
			    got[0], got[1], got[2], got[3],
			    want[0], want[1], want[2], want[3]);
	}
}

/* KVM_GET_SUPPORTED_CPUID ---------------------------------------------- */

static struct kvm_cpuid2 *get_supported(int kvm_fd)
{
	struct kvm_cpuid2 *c = cpuid_alloc(MAX_ENTRIES);

	kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	return c;
}

static void test_supported_protocol(int kvm_fd)
{
	struct kvm_cpuid2 *c;
	uint32_t nent;

	c = cpuid_alloc(300);
	kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	nent = c->nent;
	TEST_ASSERT(nent > 1 && nent <= MAX_ENTRIES,
		    "nent %u after asking with 300 (capped at 256, not refused)",
		    nent);
	free(c);

	/* Exactly the right size works; one fewer, or none, is E2BIG. */
	c = cpuid_alloc(nent);
	kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	TEST_ASSERT_EQ(c->nent, nent);
	c->nent = nent - 1;
	TEST_ASSERT_ERRNO(__kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c),
			  E2BIG);
	c->nent = 0;
	TEST_ASSERT_ERRNO(__kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c),
			  E2BIG);
	free(c);

	TEST_ASSERT_ERRNO(__kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID,
				      (struct kvm_cpuid2 *)NULL), EFAULT);
	TEST_ASSERT_ERRNO(__kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID,
				      cpuid_bad_entries(MAX_ENTRIES)), EFAULT);
	ksft_print_msg("KVM_GET_SUPPORTED_CPUID: %u entries; E2BIG, EFAULT, cap at 256\n",
		       nent);
}

/* Every feature bit in @reg of the supported table, the host has too. */
static void check_subset(struct kvm_cpuid2 *c, uint32_t function, int reg,
			 uint32_t ignore)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, function, 0);
	unsigned int host[4];
	uint32_t offered[4];

	if (!e)
		return;
	__cpuid_count(function, 0, host[0], host[1], host[2], host[3]);
	offered[0] = e->eax;
	offered[1] = e->ebx;
	offered[2] = e->ecx;
	offered[3] = e->edx;
	offered[reg] &= ~ignore;
	TEST_ASSERT(!(offered[reg] & ~host[reg]),
		    "CPUID %#x register %d offers %#x, which the host lacks",
		    function, reg, offered[reg] & ~host[reg]);
}

/* kvisor's table offers only what kvisor virtualizes. */
static void check_honest(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e1 = cpuid_find(c, 1, 0), *e;
	uint32_t i;

	TEST_ASSERT(e1->ecx & CPUID_1_ECX_HYPERVISOR, "no hypervisor bit");
	TEST_ASSERT(!(e1->ecx & (CPUID_1_ECX_VMX | CPUID_1_ECX_SMX |
				 CPUID_1_ECX_PCID)),
		    "CPUID.1:ECX %#x offers VMX, SMX or PCID", e1->ecx);
	/* The in-kernel LAPIC does x2APIC on any host, as KVM's. */
	TEST_ASSERT(e1->ecx & CPUID_1_ECX_X2APIC, "x2APIC not offered");
	e = cpuid_find(c, 7, 0);
	TEST_ASSERT(!e || !(e->ebx & CPUID_7_EBX_INVPCID), "INVPCID offered");
	/* (XSAVES may be offered where the host has it: xsaves.c) */
	e = cpuid_find(c, 0x80000001, 0);
	TEST_ASSERT(!e || !(e->ecx & CPUID_8_1_ECX_SVM), "SVM offered");
	e = cpuid_find(c, 0xa, 0);
	TEST_ASSERT(!e || !(e->eax | e->ebx | e->ecx | e->edx),
		    "a PMU in leaf 0xa");
	/* KVM's signature leaf. */
	e = cpuid_find(c, 0x40000000, 0);
	TEST_ASSERT(e && e->eax == 0x40000001 && e->ebx == 0x4b4d564b &&
		    e->ecx == 0x564b4d56 && e->edx == 0x4d,
		    "no KVMKVMKVM signature in leaf 0x40000000");
	/*
	 * Of the paravirtual features, kvmclock (both MSR sets), steal time
	 * with the PV TLB flush (steal_time), PV EOI (pv_eoi), the kick
	 * (PV_UNHALT), IPI and directed yield hypercalls (pv_hypercall,
	 * pv_ipi_kick) and poll control (halt_poll) only.
	 */
	e = cpuid_find(c, 0x40000001, 0);
	TEST_ASSERT(e && e->eax == (BIT(0) | BIT(3) | BIT(5) | BIT(6) |
				    BIT(7) | BIT(9) | BIT(11) | BIT(12) |
				    BIT(13)) &&
		    !(e->ebx | e->ecx | e->edx),
		    "PV features other than kvmclock, steal time, PV EOI, kick, PV TLB flush, send IPI, sched yield, poll control in 0x40000001: %#x",
		    e ? e->eax : 0);
	for (i = 0; i < c->nent; i++) {
		uint32_t fn = c->entries[i].function;

		TEST_ASSERT(fn < 0x40000002 || fn > 0x4fffffff,
			    "hypervisor leaf %#x offered", fn);
	}
	check_subset(c, 1, 2, CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC);
	check_subset(c, 1, 3, 0);
	/* Like x2APIC, IA32_TSC_ADJUST is the hypervisor's on any host. */
	check_subset(c, 7, 1, CPUID_7_EBX_TSC_ADJUST);
	check_subset(c, 0x80000001, 2, 0);
	check_subset(c, 0x80000001, 3, 0);
}

static void test_supported_table(int kvm_fd, bool kvisor)
{
	struct kvm_cpuid2 *c = get_supported(kvm_fd);
	struct kvm_cpuid_entry2 *e0, *e1, *e8;
	unsigned int a, b, cx, d;
	uint32_t i, max_ext = 0;

	e0 = cpuid_find(c, 0, 0);
	e1 = cpuid_find(c, 1, 0);
	e8 = cpuid_find(c, 0x80000000, 0);
	TEST_ASSERT(e0 && e1, "no leaf 0 or 1");
	__cpuid(0, a, b, cx, d);
	TEST_ASSERT(e0->ebx == b && e0->ecx == cx && e0->edx == d,
		    "vendor differs from the host's");
	TEST_ASSERT(e0->eax >= 1 && e0->eax <= a,
		    "max basic leaf %#x, host's %#x", e0->eax, a);
	if (e8)
		max_ext = e8->eax;
	for (i = 0; i < c->nent; i++) {
		uint32_t fn = c->entries[i].function;

		if (fn < 0x40000000)
			TEST_ASSERT(fn <= e0->eax, "leaf %#x above max %#x",
				    fn, e0->eax);
		else if (fn >= 0x80000000 && fn < 0xc0000000)
			TEST_ASSERT(fn <= max_ext, "leaf %#x above max %#x",
				    fn, max_ext);
	}
	/* api.rst: never offered, whatever the host has. */
	TEST_ASSERT(!(e1->ecx & (CPUID_1_ECX_MONITOR |
				 CPUID_1_ECX_TSC_DEADLINE)),
		    "CPUID.1:ECX %#x offers MONITOR or TSC-deadline", e1->ecx);

	if (kvisor)
		check_honest(c);
	ksft_print_msg("supported: max leaves %#x and %#x, 1:ECX %08x 1:EDX %08x%s\n",
		       e0->eax, max_ext, e1->ecx, e1->edx,
		       kvisor ? ", honest" : "");
	free(c);
}

/* KVM_SET_CPUID2 and KVM_GET_CPUID2 ------------------------------------- */

/* A made-up CPU, Intel or AMD by its vendor string. */
static const struct kvm_cpuid_entry2 custom_table[] = {
	{ .function = 0, .eax = 4, .ebx = INTEL_EBX, .ecx = INTEL_ECX,
	  .edx = INTEL_EDX },
	/* Index 3 is not significant: any index finds it. */
	{ .function = 1, .index = 3, .eax = 0x000306a9, .ebx = 0x00000800,
	  .ecx = 0x00000001, .edx = 0x00000001 },
	{ .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 0x11, .ebx = 0x12, .ecx = 0x13, .edx = 0x14 },
	{ .function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	  .eax = 0x21, .ebx = 0x22, .ecx = 0x23, .edx = 0x24 },
	/* A hypervisor signature leaf: "kvisortest!!" */
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x6973766b,
	  .ecx = 0x6574726f, .edx = 0x21217473 },
	{ .function = 0x40000001, .eax = 0x4001 },
};

/* What the guest sees with custom_table (leaf 1 is checked elsewhere). */
static const struct query intel_answers[] = {
	{ 0, 0, { 4, INTEL_EBX, INTEL_ECX, INTEL_EDX } },
	{ 4, 0, { 0x11, 0x12, 0x13, 0x14 } },
	{ 4, 1, { 0x21, 0x22, 0x23, 0x24 } },
	{ 4, 2, { 0 } },		/* in range, no such index */
	{ 2, 0, { 0 } },		/* in range, no such leaf */
	/* The index of a leaf without KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
	{ 0x40000000, 9, { 0x40000001, 0x6973766b, 0x6574726f, 0x21217473 } },
	{ 0x40000001, 0, { 0x4001 } },
	/* Out of range: the highest basic leaf, with the same index. */
	{ 0x20, 0, { 0x11, 0x12, 0x13, 0x14 } },
	{ 0x20, 1, { 0x21, 0x22, 0x23, 0x24 } },
	{ 0x20, 7, { 0 } },
	/* Above its class's maximum */
	{ 0x40000002, 0, { 0x11, 0x12, 0x13, 0x14 } },
	/* A hypervisor class, an extended and a Centaur one not there */
	{ 0x40000100, 1, { 0x21, 0x22, 0x23, 0x24 } },
	{ 0x80000000, 1, { 0x21, 0x22, 0x23, 0x24 } },
	{ 0xc0000000, 0, { 0x11, 0x12, 0x13, 0x14 } },
};

/* The same table with AMD's vendor: what is missing reads as zeros. */
static const struct query amd_answers[] = {
	{ 0, 0, { 4, AMD_EBX, AMD_ECX, AMD_EDX } },
	{ 4, 1, { 0x21, 0x22, 0x23, 0x24 } },
	{ 0x40000000, 9, { 0x40000001, 0x6973766b, 0x6574726f, 0x21217473 } },
	{ 0x20, 0, { 0 } },
	{ 0x40000002, 0, { 0 } },
	{ 0x80000000, 1, { 0 } },
};

static void set_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *c)
{
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
}

/* The errors of KVM_SET_CPUID2 and KVM_GET_CPUID2, on a vCPU not yet run. */
static void test_set_get_errors(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *c;

	c = cpuid_alloc(0);
	c->nent = MAX_ENTRIES + 1;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_CPUID2, c), E2BIG);
	free(c);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_CPUID2,
				       (struct kvm_cpuid2 *)NULL), EFAULT);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_CPUID2,
				       cpuid_bad_entries(1)), EFAULT);
	/* KVM assumes 48- or 57-bit linear addresses. */
	c = cpuid_alloc(1);
	c->entries[0].function = 0x80000008;
	c->entries[0].eax = 40 << 8 | 40;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_CPUID2, c), EINVAL);
	c->entries[0].eax = 48 << 8 | 40;
	set_cpuid(vcpu, c);
	free(c);

	/* GET: E2BIG below the table's size, EFAULT without a header. */
	c = cpuid_alloc(0);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_CPUID2, c), E2BIG);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_CPUID2,
				       (struct kvm_cpuid2 *)NULL), EFAULT);
	free(c);

	/* An empty table is a table too. */
	c = cpuid_alloc(0);
	set_cpuid(vcpu, c);
	c->nent = 5;
	vcpu_ioctl(vcpu, KVM_GET_CPUID2, c);
	TEST_ASSERT(c->nent == 0 || c->nent == 5, "nent %u", c->nent);
	free(c);
	ksft_print_msg("KVM_SET_CPUID2, KVM_GET_CPUID2: E2BIG, EFAULT, EINVAL as KVM\n");
}

/*
 * KVM_GET_CPUID2 returns what KVM_SET_CPUID2 got (leaf 1 aside).  Asked
 * with room to spare, KVM 6.1 leaves nent as it was; from 6.4 on, and in
 * kvisor, it becomes the table's size.
 */
static void check_get_cpuid2(struct kvm_vcpu *vcpu, struct kvm_cpuid2 *set)
{
	struct kvm_cpuid2 *got = cpuid_alloc(set->nent + 3);
	uint32_t i;

	vcpu_ioctl(vcpu, KVM_GET_CPUID2, got);
	TEST_ASSERT(got->nent == set->nent || got->nent == set->nent + 3,
		    "KVM_GET_CPUID2: nent %u, the table has %u", got->nent,
		    set->nent);
	for (i = 0; i < set->nent; i++) {
		struct kvm_cpuid_entry2 a = set->entries[i];
		struct kvm_cpuid_entry2 b = got->entries[i];

		/* KVM keeps OSXSAVE and APIC in step with the vCPU there. */
		if (a.function == 1) {
			a.ecx &= ~CPUID_1_ECX_OSXSAVE;
			b.ecx &= ~CPUID_1_ECX_OSXSAVE;
			a.edx &= ~CPUID_1_EDX_APIC;
			b.edx &= ~CPUID_1_EDX_APIC;
		}
		TEST_ASSERT(!memcmp(&a, &b, sizeof(a)),
			    "KVM_GET_CPUID2 entry %u (%#x.%u) differs", i,
			    a.function, a.index);
	}
	/* One entry short: E2BIG. */
	got->nent = set->nent - 1;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_CPUID2, got), E2BIG);
	free(got);
}

static void test_custom_table(bool amd)
{
	struct kvm_cpuid2 *c = cpuid_from(custom_table, ARRAY_SIZE(custom_table));
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (amd) {
		c->entries[0].ebx = AMD_EBX;
		c->entries[0].ecx = AMD_ECX;
		c->entries[0].edx = AMD_EDX;
	}
	vm = vm_create_with_one_vcpu(&vcpu, guest_queries, VM_MODE_LONG_4K);
	if (!amd)
		test_set_get_errors(vcpu);
	set_cpuid(vcpu, c);
	check_get_cpuid2(vcpu, c);
	if (amd)
		run_queries(vcpu, amd_answers, ARRAY_SIZE(amd_answers),
			    "AMD vendor");
	else
		run_queries(vcpu, intel_answers, ARRAY_SIZE(intel_answers),
			    "Intel vendor");

	/* It ran: the same table again is fine, another one is not. */
	set_cpuid(vcpu, c);
	c->entries[2].eax++;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_CPUID2, c), EINVAL);
	c->entries[2].eax--;
	check_get_cpuid2(vcpu, c);
	kvm_vm_free(vm);
	free(c);
	ksft_print_msg("%s vendor: %zu leaves as KVM answers; then only the same table\n",
		       amd ? "AMD" : "Intel",
		       amd ? ARRAY_SIZE(amd_answers) : ARRAY_SIZE(intel_answers));
}

/* CPUID.1:ECX.OSXSAVE is CR4.OSXSAVE, whatever the table says. */
static void test_osxsave(void)
{
	struct kvm_cpuid2 *c = cpuid_from(custom_table, ARRAY_SIZE(custom_table));
	uint32_t ecx = c->entries[1].ecx | CPUID_1_ECX_XSAVE;
	unsigned int a, b, cx, d;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	__cpuid(1, a, b, cx, d);
	if (!(cx & CPUID_1_ECX_XSAVE)) {
		ksft_print_msg("OSXSAVE: not tested, the host has no XSAVE\n");
		free(c);
		return;
	}
	/* XSAVE lets the guest set CR4.OSXSAVE; OSXSAVE set on purpose. */
	c->entries[1].ecx = ecx | CPUID_1_ECX_OSXSAVE;
	vm = vm_create_with_one_vcpu(&vcpu, guest_osxsave, VM_MODE_LONG_4K);
	set_cpuid(vcpu, c);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), ecx);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL),
		       ecx | CPUID_1_ECX_OSXSAVE);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), ecx);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	free(c);
	ksft_print_msg("OSXSAVE follows the guest's CR4.OSXSAVE\n");
}

/*
 * The library gives every vCPU the supported table: the guest sees each
 * entry as KVM_GET_CPUID2 has it, but for the XSAVE area sizes, which are
 * those of the guest's XCR0 (x87 only after reset: 576 bytes).
 */
static void test_supported_in_guest(void)
{
	static struct query expect[MAX_QUERIES];
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i, n;

	/* What the library set, as KVM holds it now: of the same size. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_queries, VM_MODE_LONG_4K);
	vcpu_ioctl(vcpu, KVM_GET_CPUID2, c);
	n = c->nent < MAX_QUERIES ? c->nent : MAX_QUERIES;
	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		expect[i] = (struct query){ e->function, e->index,
					    { e->eax, e->ebx, e->ecx, e->edx } };
		if (e->function == 0xd && e->index == 0)
			expect[i].regs[1] = 576;
		if (e->function == 0xd && e->index == 1 &&
		    (e->eax & (CPUID_D_1_EAX_XSAVEC | CPUID_D_1_EAX_XSAVES)))
			expect[i].regs[1] = 576;
	}
	run_queries(vcpu, expect, n, "supported table");
	kvm_vm_free(vm);
	free(c);
	ksft_print_msg("the guest sees the %u leaves of the supported table\n",
		       n);
}

int main(void)
{
	bool kvisor = testing_kvisor();
	int kvm_fd;

	if (!kvm_check_cap(KVM_CAP_EXT_CPUID))
		ksft_exit_skip("no KVM_CAP_EXT_CPUID\n");
	kvm_fd = open_kvm_dev_path_or_exit();
	test_supported_protocol(kvm_fd);
	test_supported_table(kvm_fd, kvisor);
	close(kvm_fd);

	test_custom_table(false);
	test_custom_table(true);
	test_osxsave();
	test_supported_in_guest();
	ksft_exit_pass();
}
