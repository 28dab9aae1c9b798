// SPDX-License-Identifier: GPL-2.0
/*
 * spec_ctrl: the speculation controls a guest sees, and the work the
 * world switch does for them, as KVM 6.1 on the same host.
 *
 *  - The supported CPUID offers ARCH_CAPABILITIES always (it is
 *    emulated) and SPEC_CTRL, STIBP, SSBD, MD_CLEAR, AMD's IBPB/IBRS/
 *    STIBP/SSBD/VIRT_SSBD only as the host has them; the lines printed
 *    ("cpuid", "msr list", "arch_capabilities") are compared with the
 *    same test under in-tree KVM (Documentation/security.rst).
 *  - IA32_ARCH_CAPABILITIES is in KVM_GET_MSR_INDEX_LIST and the feature
 *    MSR list; the guest reads the feature value, and its writes #GP.
 *  - IA32_SPEC_CTRL, where offered: the guest writes a bit the host has
 *    and reads it back across exits, and across host CPUs where the host
 *    has two (the thread moves between them between exits); KVM_GET_MSRS
 *    sees it; a reserved bit #GPs.  Not offered: #GP.
 *  - IA32_PRED_CMD: where offered, IBPB works and a reserved bit #GPs;
 *    otherwise #GP.  A read always #GPs.  FLUSH_CMD #GPs (KVM 6.1 does
 *    not virtualize it).  AMD's VIRT_SPEC_CTRL: SSBD where offered.
 *  - kvisor's per-vCPU counters (debugfs "spec") show the RSB filled and
 *    VERW executed at every entry exactly where the host kernel's
 *    vulnerabilities files say it does that for VMs, never otherwise, and
 *    IBPBs at VMCS/VMCB switches (two VMs on one CPU) where it uses IBPB.
 *    Under in-tree KVM there are none: said, not checked.
 */
#include <cpuid.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"

#define MSR_IA32_SPEC_CTRL		0x48
#define MSR_IA32_PRED_CMD		0x49
#define MSR_IA32_ARCH_CAPABILITIES	0x10a
#define MSR_IA32_FLUSH_CMD		0x10b
#define MSR_AMD64_VIRT_SPEC_CTRL	0xc001011f

/* CPUID.7.0:EDX */
#define C7_MD_CLEAR	10
#define C7_SPEC_CTRL	26
#define C7_STIBP	27
#define C7_FLUSH_L1D	28
#define C7_ARCH_CAPS	29
#define C7_SSBD		31
/* CPUID.0x80000008:EBX */
#define C8_IBPB		12
#define C8_IBRS		14
#define C8_STIBP	15
#define C8_SSBD		24
#define C8_VIRT_SSBD	25
#define C8_SSB_NO	26

#define ROUNDS		8

/* true when the access raised #GP */
static bool g_wrmsr(uint32_t msr, uint64_t val)
{
	int gp = guest_gp_count;

	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)) : "memory");
	return guest_gp_count != gp;
}

static bool g_rdmsr(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	int gp = guest_gp_count;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	*val = (uint64_t)hi << 32 | lo;
	return guest_gp_count != gp;
}

/*
 * @spec: a SPEC_CTRL value to write, 0 if not offered; @pred: PRED_CMD
 * offered; @virt: VIRT_SPEC_CTRL offered; @caps: ARCH_CAPABILITIES.
 */
static void guest_code(uint64_t spec, uint64_t pred, uint64_t virt,
		       uint64_t caps)
{
	uint64_t v;
	int i;

	GUEST_ASSERT(!g_rdmsr(MSR_IA32_ARCH_CAPABILITIES, &v));
	GUEST_ASSERT_EQ(v, caps);
	GUEST_ASSERT(g_wrmsr(MSR_IA32_ARCH_CAPABILITIES, caps));
	GUEST_ASSERT(g_wrmsr(MSR_IA32_FLUSH_CMD, 1));

	GUEST_ASSERT(g_rdmsr(MSR_IA32_PRED_CMD, &v));
	if (pred) {
		for (i = 0; i < 3; i++)
			GUEST_ASSERT(!g_wrmsr(MSR_IA32_PRED_CMD, 1));
		GUEST_ASSERT(g_wrmsr(MSR_IA32_PRED_CMD, 2));
	} else {
		GUEST_ASSERT(g_wrmsr(MSR_IA32_PRED_CMD, 1));
	}

	if (spec) {
		GUEST_ASSERT(!g_rdmsr(MSR_IA32_SPEC_CTRL, &v));
		GUEST_ASSERT_EQ(v, 0);
		GUEST_ASSERT(!g_wrmsr(MSR_IA32_SPEC_CTRL, spec));
		for (i = 0; i < ROUNDS; i++) {
			GUEST_ASSERT(!g_rdmsr(MSR_IA32_SPEC_CTRL, &v));
			GUEST_SYNC2(i, v);
		}
		GUEST_ASSERT(g_wrmsr(MSR_IA32_SPEC_CTRL, 1ULL << 63));
		GUEST_ASSERT(!g_wrmsr(MSR_IA32_SPEC_CTRL, 0));
		GUEST_ASSERT(!g_rdmsr(MSR_IA32_SPEC_CTRL, &v));
		GUEST_ASSERT_EQ(v, 0);
	} else {
		GUEST_ASSERT(g_rdmsr(MSR_IA32_SPEC_CTRL, &v));
		GUEST_ASSERT(g_wrmsr(MSR_IA32_SPEC_CTRL, 1));
		for (i = 0; i < ROUNDS; i++)
			GUEST_SYNC2(i, 0);
	}

	if (virt) {
		GUEST_ASSERT(!g_wrmsr(MSR_AMD64_VIRT_SPEC_CTRL, 4));
		GUEST_ASSERT(!g_rdmsr(MSR_AMD64_VIRT_SPEC_CTRL, &v));
		GUEST_ASSERT_EQ(v, 4);
		GUEST_ASSERT(g_wrmsr(MSR_AMD64_VIRT_SPEC_CTRL, 1));
		GUEST_ASSERT(!g_wrmsr(MSR_AMD64_VIRT_SPEC_CTRL, 0));
	} else {
		GUEST_ASSERT(g_rdmsr(MSR_AMD64_VIRT_SPEC_CTRL, &v));
	}
	GUEST_DONE();
}

/* A second VM's guest: exits, so that two VMCSs/VMCBs take turns. */
static void other_guest(void)
{
	for (;;)
		GUEST_SYNC(0);
}

static bool bit(uint32_t reg, int n)
{
	return reg & (1U << n);
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t msr, bool *ok)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = msr };

	*ok = ioctl(vcpu->fd, KVM_GET_MSRS, &b) == 1;
	return b.e.data;
}

static bool in_list(int kvm_fd, unsigned long nr, uint32_t msr)
{
	struct kvm_msr_list *list;
	bool found = false;
	uint32_t i;

	list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	TEST_ASSERT(list, "calloc");
	list->nmsrs = 1024;
	TEST_ASSERT(!ioctl(kvm_fd, nr, list), "MSR list ioctl %#lx", nr);
	for (i = 0; i < list->nmsrs; i++)
		found |= list->indices[i] == msr;
	free(list);
	return found;
}

static uint64_t feature_msr(int kvm_fd, uint32_t msr)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = msr };

	TEST_ASSERT_EQ(ioctl(kvm_fd, KVM_GET_MSRS, &b), 1);
	return b.e.data;
}

/* The host kernel's report for one vulnerability, "" if none. */
static void vuln(const char *name, char *buf, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/vulnerabilities/%s",
		 name);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

static bool vuln_has(const char *name, const char *what)
{
	char buf[512];

	vuln(name, buf, sizeof(buf));
	return strstr(buf, what);
}

static bool vuln_unaffected(const char *name)
{
	char buf[512];

	vuln(name, buf, sizeof(buf));
	return !buf[0] || !strcmp(buf, "Not affected");
}

static bool cpuinfo_flag(const char *flag)
{
	char line[4096], word[64];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	TEST_ASSERT(f, "/proc/cpuinfo");
	snprintf(word, sizeof(word), " %s ", flag);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		line[strcspn(line, "\n")] = ' ';
		found = strstr(line, word);
		break;
	}
	fclose(f);
	return found;
}

/*
 * Checks one counter against what the host kernel says it does: @expect
 * 1 means at every entry (@entries), 0 never, -1 unknown (printed only).
 */
static void check_counter(const char *text, const char *name, int expect,
			  unsigned long long entries, const char *why)
{
	unsigned long long n = text_counter(text, name);

	ksft_print_msg("counter %s %llu of %llu entries (%s)\n", name, n,
		       entries, why);
	if (expect == 1)
		TEST_ASSERT(n == entries, "%s: %llu, not one per entry (%llu)",
			    name, n, entries);
	else if (!expect)
		TEST_ASSERT(!n, "%s: %llu, though the host does not ask for it",
			    name, n);
}

/* @dir: the VM's debugfs directory, "" when not kvisor */
static void check_counters(const char *dir, bool spec_offered,
			   bool pred_offered, unsigned long long switches)
{
	char path[320], text[1024], exits[2048];
	unsigned long long entries, ibpb;
	bool amd = host_cpu_is_amd(), retp, verw, no_verw;
	int rsb;

	if (!dir[0]) {
		ksft_print_msg("counters: not kvisor (no %s), not checked\n",
			       KVISOR_DEBUGFS);
		return;
	}
	snprintf(path, sizeof(path), "%s/vcpu0/spec", dir);
	read_text_file(path, text, sizeof(text));
	snprintf(path, sizeof(path), "%s/vcpu0/exits", dir);
	read_text_file(path, exits, sizeof(exits));
	entries = text_counter(exits, "total");

	/*
	 * RSB: KVM 6.1 fills it after an SVM exit where the host runs
	 * retpolines, after a VMX exit where X86_FEATURE_RSB_VMEXIT is set
	 * (retpolines, LFENCE or legacy IBRS: spectre_v2 then says
	 * "Retpolines", "LFENCE" or "IBRS" but not "Enhanced").
	 */
	retp = vuln_has("spectre_v2", "Retpolines") ||
	       vuln_has("spectre_v2", "LFENCE");
	if (retp)
		rsb = 1;
	else if (!vuln_has("spectre_v2", "Mitigation"))
		rsb = 0;
	else
		rsb = -1;
	check_counter(text, "rsb_fill", rsb, entries, "spectre_v2");

	/*
	 * VERW: where the host clears CPU buffers (MDS, TAA, MMIO stale
	 * data, RFDS on Intel; TSA on AMD); never where none of them
	 * affects the CPU.
	 */
	if (amd) {
		verw = vuln_has("tsa", "Clear CPU buffers") &&
		       !vuln_has("tsa", "user/kernel");
		no_verw = vuln_unaffected("tsa");
	} else {
		verw = vuln_has("mds", "Clear CPU buffers") ||
		       vuln_has("tsx_async_abort", "Clear CPU buffers") ||
		       vuln_has("mmio_stale_data", "Clear CPU buffers") ||
		       vuln_has("reg_file_data_sampling", "Clear CPU buffers");
		no_verw = vuln_unaffected("mds") &&
			  vuln_unaffected("tsx_async_abort") &&
			  vuln_unaffected("mmio_stale_data") &&
			  vuln_unaffected("reg_file_data_sampling");
	}
	check_counter(text, "verw", verw ? 1 : no_verw ? 0 : -1, entries,
		      amd ? "tsa" : "mds, taa, mmio_stale_data, rfds");

	/*
	 * IBPB at a VMCS/VMCB switch: @switches times this vCPU's VMCS or
	 * VMCB came back to CPU 0 after the other VM's ran there.
	 */
	ibpb = text_counter(text, "ibpb");
	ksft_print_msg("counter ibpb %llu after %llu switches back\n", ibpb,
		       switches);
	if (!cpuinfo_flag("ibpb"))
		TEST_ASSERT(!ibpb, "ibpb: %llu, the host has no IBPB", ibpb);
	else if (vuln_has("spectre_v2", "IBPB: conditional") ||
		 vuln_has("spectre_v2", "IBPB: always-on"))
		TEST_ASSERT(ibpb >= switches, "ibpb: %llu after %llu switches",
			    ibpb, switches);

	TEST_ASSERT_EQ(text_counter(text, "spec_ctrl_passthrough"),
		       spec_offered);
	TEST_ASSERT_EQ(text_counter(text, "pred_cmd_passthrough"),
		       pred_offered);
	TEST_ASSERT_EQ(!!text_counter(text, "guest_ibpb"), pred_offered);
	for (char *c = text; *c; c++)
		if (*c == '\n')
			*c = ';';
	ksft_print_msg("counters: %s\n", text);
}

int main(void)
{
	struct kvm_cpuid2 *cpuid = kvm_get_supported_cpuid();
	struct kvm_cpuid_entry2 *e7, *e8;
	uint32_t edx7 = 0, ebx8 = 0;
	struct kvm_vcpu *vcpu, *other;
	struct kvm_vm *vm, *vm2;
	bool spec_offered, pred_offered, virt_offered, ok;
	unsigned long long switches = 0;
	uint64_t spec = 0, caps;
	int nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char dir[256] = "";
	struct ucall uc;
	int i;

	TEST_ASSERT(cpuid, "KVM_GET_SUPPORTED_CPUID failed");
	e7 = cpuid_find_leaf(cpuid, 7);
	e8 = cpuid_find_leaf(cpuid, 0x80000008);
	if (e7)
		edx7 = e7->edx;
	if (e8)
		ebx8 = e8->ebx;
	ksft_print_msg("cpuid 7.edx: spec_ctrl %d stibp %d ssbd %d md_clear %d flush_l1d %d arch_capabilities %d\n",
		       bit(edx7, C7_SPEC_CTRL), bit(edx7, C7_STIBP),
		       bit(edx7, C7_SSBD), bit(edx7, C7_MD_CLEAR),
		       bit(edx7, C7_FLUSH_L1D), bit(edx7, C7_ARCH_CAPS));
	ksft_print_msg("cpuid 0x80000008.ebx: ibpb %d ibrs %d stibp %d ssbd %d virt_ssbd %d ssb_no %d\n",
		       bit(ebx8, C8_IBPB), bit(ebx8, C8_IBRS),
		       bit(ebx8, C8_STIBP), bit(ebx8, C8_SSBD),
		       bit(ebx8, C8_VIRT_SSBD), bit(ebx8, C8_SSB_NO));
	/* KVM emulates IA32_ARCH_CAPABILITIES: offered on every host. */
	TEST_ASSERT(e7 && bit(edx7, C7_ARCH_CAPS),
		    "CPUID.7:EDX lacks ARCH_CAPABILITIES");

	spec_offered = bit(edx7, C7_SPEC_CTRL) || bit(ebx8, C8_IBRS) ||
		       bit(ebx8, C8_STIBP) || bit(ebx8, C8_SSBD);
	pred_offered = bit(edx7, C7_SPEC_CTRL) || bit(ebx8, C8_IBPB);
	virt_offered = bit(ebx8, C8_VIRT_SSBD);
	if (bit(edx7, C7_SPEC_CTRL) || bit(ebx8, C8_IBRS))
		spec = 1;		/* IBRS */
	else if (bit(edx7, C7_STIBP) || bit(ebx8, C8_STIBP))
		spec = 2;		/* STIBP */
	else if (spec_offered)
		spec = 4;		/* SSBD */

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_install_exception_handler(vm, GP_VECTOR, guest_skip_gp);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	/* found now, while it is this process's only VM */
	if (!access(KVISOR_DEBUGFS, F_OK))
		kvisor_vm_debugfs_dir(dir, sizeof(dir));

	TEST_ASSERT(in_list(vm->kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST,
			    MSR_IA32_ARCH_CAPABILITIES),
		    "ARCH_CAPABILITIES not a feature MSR");
	TEST_ASSERT(in_list(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST,
			    MSR_IA32_ARCH_CAPABILITIES),
		    "ARCH_CAPABILITIES not in KVM_GET_MSR_INDEX_LIST");
	ksft_print_msg("msr list: spec_ctrl %d arch_capabilities 1 virt_spec_ctrl %d\n",
		       in_list(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST,
			       MSR_IA32_SPEC_CTRL),
		       in_list(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST,
			       MSR_AMD64_VIRT_SPEC_CTRL));
	caps = feature_msr(vm->kvm_fd, MSR_IA32_ARCH_CAPABILITIES);
	ksft_print_msg("arch_capabilities %#llx\n", (unsigned long long)caps);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_IA32_ARCH_CAPABILITIES, &ok), caps);
	TEST_ASSERT(ok, "KVM_GET_MSRS of ARCH_CAPABILITIES failed");

	if (!spec_offered)
		ksft_print_msg("not tested here: SPEC_CTRL switching (the host offers no SPEC_CTRL)\n");
	if (!pred_offered)
		ksft_print_msg("not tested here: guest IBPB (the host offers no IBPB)\n");
	if (nr_cpus < 2)
		ksft_print_msg("not tested here: SPEC_CTRL across host CPUs (one CPU)\n");

	/* The other VM takes turns with this one on CPU 0. */
	vm2 = vm_create_with_one_vcpu(&other, other_guest, VM_MODE_LONG_4K);

	vcpu_args_set(vcpu, 4, spec, (uint64_t)pred_offered,
		      (uint64_t)virt_offered, caps);
	for (i = 0; i < ROUNDS; i++) {
		/* even rounds on CPU 0 after the other VM ran there */
		if (i % 2 == 0) {
			pin_thread(0, 0);
			vcpu_run_ucall(other, UCALL_SYNC, NULL);
			switches++;
		} else if (nr_cpus > 1) {
			pin_thread(0, 1);
		}
		vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
		TEST_ASSERT_EQ(uc.args[0], i);
		TEST_ASSERT(uc.args[1] == spec,
			    "round %d: the guest read SPEC_CTRL %#lx, not %#lx",
			    i, (unsigned long)uc.args[1], (unsigned long)spec);
		if (spec_offered)
			TEST_ASSERT_EQ(get_msr(vcpu, MSR_IA32_SPEC_CTRL, &ok),
				       spec);
	}
	pin_thread(0, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	if (spec_offered)
		ksft_print_msg("SPEC_CTRL %#lx kept over %d rounds on %d CPUs\n",
			       (unsigned long)spec, ROUNDS, nr_cpus);

	check_counters(dir, spec_offered, pred_offered, switches);
	kvm_vm_free(vm2);
	kvm_vm_free(vm);
	free(cpuid);
	ksft_exit_pass();
}
