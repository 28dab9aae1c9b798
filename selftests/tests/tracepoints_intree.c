// SPDX-License-Identifier: GPL-2.0
/*
 * tracepoints_intree: kvisor's kvm:* events beside in-tree kvm.ko's,
 * which carry the same system and event names (Documentation/design.rst,
 * "Tracepoints").  tracefs gives each name one directory, to the module
 * that registered it first; the other module's events exist without one.
 * Check, in both load orders, that nothing WARNs, who owns
 * events/kvm/kvm_exit/id (the id perf opens), that perf counting that
 * id sees kvisor's exits exactly when kvisor owns it, and that kvisor's
 * events reach the trace buffer through events/kvm/enable either way.
 * Leaves kvisor loaded as /dev/kvm, as it found it.
 */
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "kmod.h"
#include "kvm_util.h"
#include "tracefs.h"

#define MAX_MODS	8
#define PORT		0x77
#define NR_OUT		5
#define SYSLOG_ACTION_READ_ALL	3	/* klogctl(2) */

static char mods[MAX_MODS][256];
static int nr_mods;
static char tracing[64];

static void guest_code(void)
{
	int i;

	for (i = 0; i < NR_OUT; i++)
		asm volatile("outb %%al, %%dx" : : "a"(i), "d"(PORT));
	GUEST_DONE();
}

static void find_tracefs(void)
{
	snprintf(tracing, sizeof(tracing), "%s", tracefs_dir());
}

/* events/kvm/kvm_exit/id: the event perf and trace-cmd find by name */
static long kvm_exit_id(void)
{
	char path[256], text[32];

	snprintf(path, sizeof(path), "%s/events/kvm/kvm_exit/id", tracing);
	read_text_file(path, text, sizeof(text));
	return strtol(text, NULL, 10);
}

/* In-tree KVM: the first @n modules of $KVISOR_INTREE, kvm.ko first. */
static void load_intree(int n)
{
	int i, r;

	for (i = 0; i < n; i++) {
		r = kmod_load(mods[i], "");
		TEST_ASSERT(!r, "load %s: %s", mods[i], strerror(-r));
	}
}

static void unload_intree(int n)
{
	char name[64];
	int i, r;

	for (i = n - 1; i >= 0; i--) {
		kmod_name(mods[i], name);
		r = kmod_unload(name);
		TEST_ASSERT(!r, "unload %s: %s", name, strerror(-r));
	}
}

/* Print what the kernel logged since @mark, and fail on a WARN. */
static void klog_check(size_t mark, const char *when)
{
	static char buf[1 << 20];
	int len = klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof(buf) - 1);
	char *line, *save;

	TEST_ASSERT(len >= 0, "klogctl");
	buf[len] = 0;
	if ((size_t)len <= mark)
		return;
	for (line = strtok_r(buf + mark, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		ksft_print_msg("%s: kernel: %s\n", when, line);
	TEST_ASSERT(!strstr(buf + mark, "WARNING") &&
		    !strstr(buf + mark, "BUG") &&
		    !strstr(buf + mark, "Call Trace"),
		    "%s: the kernel warned (above)", when);
}

static int perf_open(long id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = id,
	};
	int fd = syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0);

	TEST_ASSERT(fd >= 0, "perf_event_open(tracepoint %ld)", id);
	return fd;
}

/*
 * Run the guest on @dev with every kvm:* event enabled through
 * events/kvm/enable and a perf counter on the kvm_exit that owns the
 * name: the OUTs to PORT the trace shows, and the kvm_exits perf saw.
 */
static void run_traced(const char *dev, unsigned int *pio, uint64_t *perf)
{
	char path[256], line[1024];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int port;
	int fd;
	FILE *f;

	setenv("KVM_DEV", dev, 1);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	fd = perf_open(kvm_exit_id());
	tracefs_write("tracing_on", "0");
	tracefs_write("trace", "");
	tracefs_write("events/kvm/enable", "1");
	tracefs_write("tracing_on", "1");
	for (;;) {
		struct ucall uc;

		vcpu_run(vcpu);
		if (get_ucall(vcpu, &uc) == UCALL_DONE)
			break;
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	}
	tracefs_write("tracing_on", "0");
	tracefs_write("events/kvm/enable", "0");
	TEST_ASSERT(read(fd, perf, 8) == 8, "read the perf counter");
	close(fd);
	kvm_vm_free(vm);

	*pio = 0;
	snprintf(path, sizeof(path), "%s/trace", tracing);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ": kvm_pio: pio_write at 0x");

		if (p && sscanf(p, ": kvm_pio: pio_write at 0x%x", &port) == 1 &&
		    port == PORT)
			(*pio)++;
	}
	fclose(f);
	ksft_print_msg("guest on %s: %u OUTs to %#x traced, perf counted %llu kvm_exit\n",
		       dev, *pio, PORT, (unsigned long long)*perf);
}

int main(void)
{
	long id_kvisor, id_kvm, id;
	unsigned int pio;
	uint64_t perf;
	size_t mark;
	int r;

	nr_mods = intree_modules(mods, MAX_MODS);
	if (nr_mods < 2)
		ksft_exit_skip("no in-tree KVM modules given in $KVISOR_INTREE\n");
	if (!kmod_loaded("kvisor"))
		ksft_exit_skip("kvisor is not loaded (is this a test host?)\n");
	find_tracefs();

	/*
	 * kvisor first, then kvm.ko (without its vendor module, which
	 * cannot register /dev/kvm beside kvisor): kvisor keeps the names.
	 */
	id_kvisor = kvm_exit_id();
	mark = klog_mark();
	load_intree(nr_mods - 1);
	klog_check(mark, "kvm.ko after kvisor");
	TEST_ASSERT_EQ(kvm_exit_id(), id_kvisor);
	run_traced("/dev/kvm", &pio, &perf);
	TEST_ASSERT_EQ(pio, NR_OUT);
	TEST_ASSERT(perf >= NR_OUT + 1, "perf saw %llu kvm_exit of kvisor",
		    (unsigned long long)perf);
	mark = klog_mark();
	unload_intree(nr_mods - 1);
	klog_check(mark, "kvm.ko unloaded");
	TEST_ASSERT_EQ(kvm_exit_id(), id_kvisor);

	/* In-tree KVM first, kvisor beside it as /dev/kvisor. */
	r = kmod_unload("kvisor");
	TEST_ASSERT(!r, "unload kvisor: %s", strerror(-r));
	load_intree(nr_mods);
	id_kvm = kvm_exit_id();
	mark = klog_mark();
	r = kmod_load(kvisor_ko_path(), "devname=kvisor");
	TEST_ASSERT(!r, "kvisor beside in-tree KVM: %s", strerror(-r));
	klog_check(mark, "kvisor after kvm.ko");
	id = kvm_exit_id();
	ksft_print_msg("kvm_exit id: kvisor's %ld, in-tree's %ld, now %ld\n",
		       id_kvisor, id_kvm, id);
	TEST_ASSERT_EQ(id, id_kvm);
	run_traced("/dev/kvisor", &pio, &perf);
	TEST_ASSERT_EQ(pio, NR_OUT);
	TEST_ASSERT_EQ(perf, 0);

	mark = klog_mark();
	TEST_ASSERT(!kmod_unload("kvisor"), "unload /dev/kvisor");
	unload_intree(nr_mods);
	klog_check(mark, "both unloaded");
	r = kmod_load(kvisor_ko_path(), "");
	TEST_ASSERT(!r, "reload kvisor: %s", strerror(-r));
	chmod("/dev/kvm", 0666);
	TEST_ASSERT(kvm_exit_id() > 0, "no events/kvm/kvm_exit after reload");
	ksft_exit_pass();
}
