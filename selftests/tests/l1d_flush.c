// SPDX-License-Identifier: GPL-2.0
/*
 * l1d_flush: the L1D flush before VM entry (L1TF) and its module
 * parameter, vmentry_l1d_flush, as KVM 6.1's kvm_intel has them.
 *
 *  - The parameter reads "not required" where the host kernel found the
 *    CPU unaffected (vulnerabilities/l1tf "Not affected"), else one of
 *    never, cond, always, and then the l1tf line names the same mode
 *    ("VMX: conditional cache flushes", "VMX: cache flushes", "VMX:
 *    vulnerable").  Writing a name it does not know is EINVAL; a known
 *    one is taken (and changes nothing where unaffected).
 *  - Where affected (kvisor): a guest exits ROUNDS times by CPUID in one
 *    KVM_RUN; "always" flushes before every entry (debugfs "spec":
 *    l1d_flush equals the entries), "cond" at least before the first
 *    and at most before each, "never" not at all.  The mode found is
 *    put back.
 *  - Under in-tree KVM the same checks read kvm_intel's parameter; the
 *    counts are kvisor's only.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"

#define KVISOR_PARAM	"/sys/module/kvisor/parameters/vmentry_l1d_flush"
#define KVM_PARAM	"/sys/module/kvm_intel/parameters/vmentry_l1d_flush"
#define ROUNDS		200

static void guest_code(void)
{
	uint32_t a, b, c, d;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		a = 0;
		c = 0;
		asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	}
	GUEST_DONE();
}

static void read_param(const char *path, char *buf, size_t len)
{
	char *nl;

	read_text_file(path, buf, len);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
}

/* 0, or the errno of the write */
static int write_param(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), r = 0;

	TEST_ASSERT(fd >= 0, "open %s", path);
	if (write(fd, val, strlen(val)) < 0)
		r = errno;
	close(fd);
	return r;
}

/* The VMX part of vulnerabilities/l1tf for a mode (bugs.c's names). */
static const char *l1tf_vmx_text(const char *mode)
{
	if (!strcmp(mode, "cond"))
		return "VMX: conditional cache flushes";
	if (!strcmp(mode, "always"))
		return "VMX: cache flushes";
	return "VMX: vulnerable";
}

/* The L1D flushes of one KVM_RUN of ROUNDS exits, and the entries. */
static void run_once(const char *mode, unsigned long long *flushes,
		     unsigned long long *entries)
{
	char dir[300], path[320], text[1024];
	unsigned long long f0, e0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	kvisor_vm_debugfs_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/vcpu0/spec", dir);
	read_text_file(path, text, sizeof(text));
	f0 = text_counter(text, "l1d_flush");
	snprintf(path, sizeof(path), "%s/vcpu0/exits", dir);
	read_text_file(path, text, sizeof(text));
	e0 = text_counter(text, "total");

	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);

	snprintf(path, sizeof(path), "%s/vcpu0/spec", dir);
	read_text_file(path, text, sizeof(text));
	*flushes = text_counter(text, "l1d_flush") - f0;
	snprintf(path, sizeof(path), "%s/vcpu0/exits", dir);
	read_text_file(path, text, sizeof(text));
	*entries = text_counter(text, "total") - e0;
	ksft_print_msg("%s: %llu L1D flushes for %llu entries\n", mode,
		       *flushes, *entries);
	kvm_vm_free(vm);
}

static void check_counts(const char *param)
{
	unsigned long long f, e;

	TEST_ASSERT(!write_param(param, "always"), "writing always");
	run_once("always", &f, &e);
	TEST_ASSERT(e >= ROUNDS, "only %llu entries", e);
	TEST_ASSERT(f == e, "always: %llu flushes, %llu entries", f, e);

	TEST_ASSERT(!write_param(param, "cond"), "writing cond");
	run_once("cond", &f, &e);
	TEST_ASSERT(f >= 1 && f <= e, "cond: %llu flushes, %llu entries",
		    f, e);

	TEST_ASSERT(!write_param(param, "never"), "writing never");
	run_once("never", &f, &e);
	TEST_ASSERT(!f, "never: %llu flushes", f);
}

int main(void)
{
	char mode[64], now[64], l1tf[256] = "";
	const char *param = KVISOR_PARAM;
	bool kvisor = true, affected;

	if (access(param, F_OK)) {
		param = KVM_PARAM;
		kvisor = false;
		/* in-tree KVM on AMD has no such parameter */
		if (access(param, F_OK))
			ksft_exit_skip("no vmentry_l1d_flush (not kvisor or kvm_intel)\n");
	}
	if (!access("/sys/devices/system/cpu/vulnerabilities/l1tf", F_OK))
		read_text_file("/sys/devices/system/cpu/vulnerabilities/l1tf",
			       l1tf, sizeof(l1tf));
	affected = l1tf[0] && !strstr(l1tf, "Not affected");
	read_param(param, mode, sizeof(mode));
	ksft_print_msg("%s: %s; l1tf: %s", param, mode,
		       l1tf[0] ? l1tf : "(no file)\n");

	if (!affected) {
		TEST_ASSERT(!strcmp(mode, "not required"),
			    "an unaffected CPU reads \"%s\", not \"not required\"",
			    mode);
	} else {
		TEST_ASSERT(!strcmp(mode, "never") || !strcmp(mode, "cond") ||
			    !strcmp(mode, "always"),
			    "an affected CPU reads \"%s\"", mode);
		TEST_ASSERT(strstr(l1tf, l1tf_vmx_text(mode)),
			    "l1tf says \"%s\", mode %s", l1tf, mode);
	}

	TEST_ASSERT_EQ(write_param(param, "sometimes"), EINVAL);
	TEST_ASSERT_EQ(write_param(param, "\n"), EINVAL);
	read_param(param, now, sizeof(now));
	TEST_ASSERT(!strcmp(now, mode), "a refused write changed %s to %s",
		    mode, now);

	if (!affected) {
		TEST_ASSERT_EQ(write_param(param, "always"), 0);
		read_param(param, now, sizeof(now));
		TEST_ASSERT(!strcmp(now, "not required"),
			    "unaffected, \"always\" made it %s", now);
		ksft_print_msg("not tested here: the flush (the CPU has no L1TF)\n");
		ksft_exit_pass();
	}

	if (kvisor)
		check_counts(param);
	else
		ksft_print_msg("counts: not kvisor, not checked\n");
	TEST_ASSERT(!write_param(param, mode), "putting %s back", mode);
	read_param(param, now, sizeof(now));
	TEST_ASSERT(!strcmp(now, mode), "%s put back reads %s", mode, now);
	ksft_exit_pass();
}
