// SPDX-License-Identifier: GPL-2.0
/*
 * kexec_vms: the test host kexecs into a new kernel while vCPUs run in
 * their guests, then crashes into a crash kernel while they run again,
 * and each new kernel must come up whole and run VMs under kvisor.
 *
 * VMX blocks INIT and a CPU left in VMX operation faults when the new
 * kernel clears CR4.VMXE, so a kernel that follows must find the
 * extension off in every CPU; VMX and SVM instructions that run after it
 * was switched off under a vCPU must not fault the host (KVM's
 * kvm_rebooting, kvisor_rebooting here).  Two ways there, as on a real
 * machine (security.rst, "Reboot, kexec"):
 *
 *  1. kexec_vms (run-tests.sh's last test): one vCPU per host CPU, each
 *     thread pinned to its CPU, spins in its guest; with all of them
 *     seen counting, kexec_file_load() and reboot(LINUX_REBOOT_CMD_KEXEC)
 *     go through the reboot notifiers, where kvisor switches VMX/SVM off
 *     on every CPU under the running vCPUs.
 *  2. kexec_vms crash (the second kernel, guest/kexec.sh): the same
 *     vCPUs, a crash kernel loaded (KEXEC_FILE_ON_CRASH, into the
 *     crashkernel= area the first kexec asked for) and a crash through
 *     /proc/sysrq-trigger: the emergency path, where the other CPUs get
 *     an NMI and kvisor's emergency callback switches the extension off
 *     there, in NMI context.
 *  3. kexec_vms after (each new kernel, guest/kexec.sh, after it counted
 *     its CPUs and loaded kvisor): a VM with one vCPU per CPU computes
 *     and ends, each vCPU with the right result.
 *
 * KEXEC_STAGES picks the ways: "kexec crash" (the default: 1, then 2),
 * "kexec" (1 only: the 1-CPU VMX host) or "crash" (2 only, the first
 * kernel crashing into the area its own command line reserves: the
 * 2-CPU VMX host, where each kernel boot takes two minutes).
 *
 * What the kernel being replaced logs from the moment it starts to go
 * (the notifier, the NMIs, the faulting VMX/SVM instructions kvisor
 * fixes up) reaches only its console: the test raises the console's log
 * level and writes a line "kexec_vms: leaving kernel N" there first, and
 * check.sh reads the console from it to the crash or the next kernel.
 *
 * The new kernels are the test host's own bzImage (/kvisor/kexec/vmlinuz)
 * with a small initramfs of /init, kvisor.ko and this test
 * (/kvisor/kexec/initrd.cpio; build-initramfs.sh), on the first
 * kernel's command line with KVHOST_MODE=kexec and KVHOST_KEXEC=STAGE
 * (2, then 3), KVHOST_KEXEC_LAST (the stage that reports), KVHOST_KEXEC_CPUS
 * (the CPUs to come up) and KVHOST_KEXEC_T (the seconds the test took
 * so far).  SKIP where the host has no kernel image to kexec.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>
#include <linux/kexec.h>
#include <linux/reboot.h>

#include "kvm_util.h"

#define KEXEC_DIR	"/kvisor/kexec"
#define MAX_VCPUS	8
#define CRASH_MEM	"crashkernel=192M"
#define ROUNDS		1000

static volatile uint64_t spins[MAX_VCPUS];
static double t0;		/* when this kernel's part of the test began */
static int last_stage;		/* 2 or 3: the kernel that reports */

/* Spin until the host is gone: only interrupts take it out of the guest. */
static void guest_spin(uint64_t id)
{
	for (;;)
		spins[id]++;
}

/* A little work, and its result for the host to check. */
static void guest_compute(uint64_t id)
{
	uint64_t x = id, i;

	for (i = 0; i < ROUNDS; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	GUEST_SYNC2(id, x);
	GUEST_DONE();
}

static uint64_t expected(uint64_t id)
{
	uint64_t x = id, i;

	for (i = 0; i < ROUNDS; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

/* A spinning vCPU's thread: KVM_RUN until the kernel under it goes. */
static void *spin_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	pin_thread(0, vcpu->id);
	for (;;)
		if (__vcpu_run(vcpu))
			return NULL;	/* the hypervisor stopped: rebooting */
}

static int nr_vcpus(void)
{
	int n = get_nprocs();

	return n > MAX_VCPUS ? MAX_VCPUS : n;
}

/* One spinning vCPU per host CPU, each seen counting in its guest. */
static void start_spinning(void)
{
	struct kvm_vcpu *vcpu[MAX_VCPUS];
	pthread_t thread;
	struct kvm_vm *vm;
	volatile uint64_t *counts;
	int i, n = nr_vcpus(), tries;

	vm = vm_create(VM_MODE_DEFAULT);
	for (i = 0; i < n; i++) {
		vcpu[i] = vm_vcpu_add(vm, i, guest_spin);
		vcpu_args_set(vcpu[i], 1, (uint64_t)i);
		TEST_ASSERT(!pthread_create(&thread, NULL, spin_thread, vcpu[i]),
			    "pthread_create");
	}
	counts = addr_gva2hva(vm, (uint64_t)spins);
	for (i = 0; i < n; i++) {
		for (tries = 0; tries < 1000 && !counts[i]; tries++)
			usleep(10000);
		TEST_ASSERT(counts[i],
			    "vCPU %d never ran its guest in 10 s", i);
	}
	ksft_print_msg("%d vCPUs spinning in their guests, one per host CPU\n",
		       n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Append to @buf, failing the test rather than cutting anything off. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	TEST_ASSERT(n >= 0 && (size_t)n < size - *len,
		    "the next kernel's command line is too long");
	*len += n;
}

/* Tokens of this kernel's command line the next kernels do without. */
static bool dropped(const char *tok)
{
	static const char * const prefixes[] = {
		"KVHOST_MODE=", "KVHOST_KEXEC", "crashkernel=",
		/* the boot loader's: kexec_file_load() gives the initramfs */
		"BOOT_IMAGE=", "initrd=",
		/* no 1 GiB page in a crash kernel's 192 MiB, nor needed */
		"hugepagesz=", "hugepages=",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(tok, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/*
 * The next kernel's command line: this one's without the tokens this
 * test sets, with them for @stage, and with @extra.
 */
static void next_cmdline(char *buf, size_t size, int stage, const char *extra)
{
	char line[4096], *tok, *save;
	const char *t = getenv("KVHOST_KEXEC_T");
	FILE *f = fopen("/proc/cmdline", "r");
	size_t len = 0;
	/* a kexecd kernel's boot is the test's too; the first's is not */
	double part = getenv("KVHOST_KEXEC") ? now() : now() - t0;

	TEST_ASSERT(f && fgets(line, sizeof(line), f) &&
		    strchr(line, '\n'), "/proc/cmdline");
	fclose(f);
	buf[0] = 0;
	for (tok = strtok_r(line, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (!dropped(tok))
			append(buf, size, &len, "%s ", tok);
	/* the seconds so far: earlier kernels', and this one's part */
	append(buf, size, &len,
	       "KVHOST_MODE=kexec KVHOST_KEXEC=%d KVHOST_KEXEC_LAST=%d KVHOST_KEXEC_CPUS=%d KVHOST_KEXEC_T=%.1f %s",
	       stage, last_stage, get_nprocs(), (t ? atof(t) : 0) + part,
	       extra);
}

/*
 * What this kernel logs from here on goes to its console too (level 8:
 * everything), after a line that says where the test left it.
 */
static void console_from_here(int stage, const char *cmdline)
{
	FILE *f = fopen("/dev/kmsg", "w");

	TEST_ASSERT(klogctl(8, NULL, 8) == 0, "console log level: %s",
		    strerror(errno));	/* SYSLOG_ACTION_CONSOLE_LEVEL */
	TEST_ASSERT(f, "/dev/kmsg: %s", strerror(errno));
	fprintf(f, "<4>kexec_vms: leaving kernel %d for: %s\n",
		stage == 3 && !getenv("KVHOST_KEXEC") ? 1 : stage - 1,
		cmdline);
	fclose(f);
}

static void load(int stage, unsigned long flags, const char *extra)
{
	char cmdline[4096];
	int kfd, ifd;

	kfd = open(KEXEC_DIR "/vmlinuz", O_RDONLY);
	ifd = open(KEXEC_DIR "/initrd.cpio", O_RDONLY);
	TEST_ASSERT(kfd >= 0 && ifd >= 0, "%s: %s", KEXEC_DIR, strerror(errno));
	next_cmdline(cmdline, sizeof(cmdline), stage, extra);
	console_from_here(stage, cmdline);
	TEST_ASSERT(!syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1,
			     cmdline, flags),
		    "kexec_file_load(%s): %s",
		    flags & KEXEC_FILE_ON_CRASH ? "crash kernel" : "kernel",
		    strerror(errno));
	ksft_print_msg("kernel for stage %d loaded: %s\n", stage, cmdline);
}

static void test_crash(void);

/* Stage 1: kexec, through the reboot notifiers. */
static void test_kexec(void)
{
	const char *stages = getenv("KEXEC_STAGES") ?: "kexec crash";

	if (access(KEXEC_DIR "/vmlinuz", R_OK))
		ksft_exit_skip("no kernel image to kexec in %s\n", KEXEC_DIR);
	/* after the tests that swap hypervisors: kvisor must be the one */
	TEST_ASSERT(!access("/sys/module/kvisor", F_OK) &&
		    access("/sys/module/kvm", F_OK),
		    "kvisor is not the hypervisor loaded");
	last_stage = strstr(stages, "crash") ? 3 : 2;
	TEST_ASSERT(!strcmp(stages, "kexec crash") || !strcmp(stages, "kexec") ||
		    !strcmp(stages, "crash"), "KEXEC_STAGES=%s", stages);
	if (!strcmp(stages, "crash"))
		test_crash();
	start_spinning();
	load(2, 0, CRASH_MEM);
	fflush(NULL);
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	TEST_FAIL("reboot(LINUX_REBOOT_CMD_KEXEC): %s", strerror(errno));
}

/* Stage 2: a crash into the crash kernel, through the emergency path. */
static void test_crash(void)
{
	unsigned long size = 0;
	FILE *f;
	int fd;

	f = fopen("/sys/kernel/kexec_crash_size", "r");
	TEST_ASSERT(f && fscanf(f, "%lu", &size) == 1 && size,
		    "no memory reserved for a crash kernel (crashkernel=)");
	fclose(f);
	start_spinning();
	load(3, KEXEC_FILE_ON_CRASH, "");
	fflush(NULL);
	sync();
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	TEST_ASSERT(fd >= 0, "/proc/sysrq-trigger: %s", strerror(errno));
	TEST_ASSERT(write(fd, "c", 1) == 1, "sysrq c: %s", strerror(errno));
	TEST_FAIL("still running after the crash");
}

static void *compute_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	pin_thread(0, vcpu->id);
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, &uc), vcpu->id);
	TEST_ASSERT_EQ(uc.args[1], expected(vcpu->id));
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	return NULL;
}

/* In a new kernel: VMs run again, one vCPU on each CPU. */
static void test_after(void)
{
	struct kvm_vcpu *vcpu[MAX_VCPUS];
	pthread_t thread[MAX_VCPUS];
	struct kvm_vm *vm;
	int i, n = nr_vcpus();

	vm = vm_create(VM_MODE_DEFAULT);
	for (i = 0; i < n; i++) {
		vcpu[i] = vm_vcpu_add(vm, i, guest_compute);
		vcpu_args_set(vcpu[i], 1, (uint64_t)i);
	}
	for (i = 0; i < n; i++)
		TEST_ASSERT(!pthread_create(&thread[i], NULL, compute_thread,
					    vcpu[i]), "pthread_create");
	for (i = 0; i < n; i++)
		TEST_ASSERT(!pthread_join(thread[i], NULL), "pthread_join");
	kvm_vm_free(vm);
	ksft_print_msg("after the kexec: a VM with %d vCPUs, one per CPU, computed and ended: ok\n",
		       n);
}

int main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "kexec";
	const char *last = getenv("KVHOST_KEXEC_LAST");

	t0 = now();
	last_stage = last ? atoi(last) : 3;

	if (!strcmp(mode, "kexec"))
		test_kexec();
	else if (!strcmp(mode, "crash"))
		test_crash();
	else if (!strcmp(mode, "after"))
		test_after();
	else
		TEST_FAIL("usage: %s [kexec|crash|after]", argv[0]);
	ksft_exit_pass();
}
