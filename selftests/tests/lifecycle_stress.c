// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle_stress: VMs born and torn down in every way a VMM can do it,
 * many times over, and nothing may leak.
 *
 *  vms     create a VM with an in-kernel irqchip and PIT, two vCPUs, a
 *          second memslot, an irqfd and an ioeventfd; let the guest arm the
 *          LAPIC timer (periodic) and the PIT; raise the irqfd; destroy it
 *          all with the timers still armed.
 *  kills   a child process in KVM_RUN (the guest spinning), or in a loop of
 *          memslot ioctls, is SIGKILLed at a random moment.
 *  slots   a memslot is deleted, moved and created again while a vCPU
 *          thread keeps its guest reading and writing it.
 *  passes  a child creates a VM and a vCPU, sends their fds to this
 *          process over a unix socket and exits; here, in another mm, their
 *          ioctls must answer EIO (as KVM's do), and closing them must free
 *          the VM.
 *
 * The counts come from the environment (STRESS_VMS, STRESS_KILLS,
 * STRESS_SLOTS, STRESS_PASSES), small by default for make check and large
 * in make check-debug.  Leaks: the kernel's memory in use (MemTotal less
 * MemFree, Cached and Buffers) may not grow with the count over the second
 * half of the vms cycles (the first half fills slab caches), and every
 * page pinned meanwhile must have been unpinned (nr_foll_pin_acquired ==
 * nr_foll_pin_released).  Under KASAN (make check-debug) freed slab
 * objects wait in a quarantine of up to 1/32 of memory, and freed vmalloc
 * space keeps its shadow until the lazy purge (up to 32 MiB of it), so
 * there only memory outside the slab counts, with 32 MiB of slack: a
 * coarse check, next to kmemleak, which finds the slab leaks there.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apic.h"
#include "fuzz.h"
#include "kmod.h"
#include "kvm_util.h"

#define TIMER_VEC		0x40

#define SLOT1			1
#define SLOT1_PAGES		16
#define GPA_A			0x10000000ULL
#define GPA_B			0x20000000ULL
#define IOEVENT_PORT		0x2000

/* Allowed growth of kernel memory over the second half of the vms cycles */
#define LEAK_SLACK		(4ULL << 20)
#define LEAK_SLACK_KASAN	(32ULL << 20)
#define LEAK_PER_CYCLE		256

static struct fuzz_rng rng;

static void guest_arm_timers(void)
{
	xapic_enable();
	xapic_write(APIC_TDCR, 0xb);	/* divide by 1 */
	xapic_write(APIC_LVTT, APIC_LVT_PERIODIC | TIMER_VEC);
	xapic_write(APIC_TMICT, 100000);
	/* PIT channel 0, rate generator, the longest period */
	outb(0x43, 0x34);
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	outb(IOEVENT_PORT, 1);		/* the ioeventfd swallows it */
	GUEST_SYNC(1);
	for (;;)
		cpu_relax();
}

/* Both places slot 1 can be, in the guest's page tables */
static void map_slot1(struct kvm_vm *vm)
{
	virt_map(vm, GPA_A, GPA_A, SLOT1_PAGES * PAGE_SIZE_4K);
	virt_map(vm, GPA_B, GPA_B, SLOT1_PAGES * PAGE_SIZE_4K);
}

/* What the kills and slots guests do: spin on slot 1's memory. */
static void guest_spin(void)
{
	volatile uint64_t *a = (volatile uint64_t *)GPA_A;
	volatile uint64_t *b = (volatile uint64_t *)GPA_B;
	uint64_t i;

	for (i = 0;; i++) {
		a[i % (SLOT1_PAGES * 512)] += 1;
		b[(i * 7) % (SLOT1_PAGES * 512)] += 1;
	}
}

static uint64_t env_count(const char *name, uint64_t def)
{
	uint64_t n = fuzz_env(name, def);

	ksft_print_msg("%s=%llu\n", name, (unsigned long long)n);
	return n;
}

/* The number after @key (e.g. "MemFree:") in the procfs file @path */
static unsigned long long proc_value(const char *path, const char *key)
{
	char line[128];
	unsigned long long v = 0;
	size_t len = strlen(key);
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f, "open %s", path);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ') {
			v = strtoull(line + len, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static bool kasan;

/*
 * Kernel memory in use, in bytes: MemTotal - MemFree - Cached - Buffers,
 * less the slab under KASAN (its quarantine keeps freed objects)
 */
static uint64_t kernel_used(void)
{
	const char *m = "/proc/meminfo";

	return (proc_value(m, "MemTotal:") - proc_value(m, "MemFree:") -
		proc_value(m, "Cached:") - proc_value(m, "Buffers:") -
		(kasan ? proc_value(m, "Slab:") : 0)) * 1024;
}

/* Pages pinned and not yet unpinned (FOLL_PIN), from /proc/vmstat */
static long long pins_held(void)
{
	return (long long)(proc_value("/proc/vmstat", "nr_foll_pin_acquired") -
			   proc_value("/proc/vmstat", "nr_foll_pin_released"));
}

static void one_vm_cycle(void)
{
	struct kvm_vcpu *vcpu[2];
	struct kvm_pit_config pit = { .flags = 0 };
	struct kvm_irqfd irqfd = { .gsi = 5 };
	struct kvm_ioeventfd ioev = { .addr = IOEVENT_PORT, .len = 1,
				      .flags = KVM_IOEVENTFD_FLAG_PIO };
	struct kvm_vm *vm;
	uint64_t one = 1;
	int i, efd[2];

	vm = vm_create(VM_MODE_LONG_4K);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	for (i = 0; i < 2; i++)
		vcpu[i] = vm_vcpu_add(vm, i, guest_arm_timers);
	apic_map(vm);
	vm_userspace_mem_region_add(vm, SLOT1, GPA_A, SLOT1_PAGES, 0);
	efd[0] = eventfd(0, EFD_CLOEXEC);
	efd[1] = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(efd[0] >= 0 && efd[1] >= 0, "eventfd");
	irqfd.fd = efd[0];
	ioev.fd = efd[1];
	vm_ioctl(vm, KVM_IRQFD, &irqfd);
	vm_ioctl(vm, KVM_IOEVENTFD, &ioev);

	/* one vCPU or both arm their timers; the other may never run */
	for (i = 0; i <= (int)fuzz_below(&rng, 2); i++)
		vcpu_run_ucall(vcpu[i], UCALL_SYNC, NULL);
	TEST_ASSERT_EQ(write(efd[0], &one, sizeof(one)), sizeof(one));
	/* sometimes the irqfd goes first, sometimes with the VM */
	if (fuzz_one_in(&rng, 2)) {
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
		vm_ioctl(vm, KVM_IRQFD, &irqfd);
	}
	kvm_vm_free(vm);
	close(efd[0]);
	close(efd[1]);
}

static void vms(uint64_t n)
{
	uint64_t i, half = 0, used;
	long long growth;

	for (i = 0; i < n; i++) {
		if (i == n / 2)
			half = kernel_used();
		one_vm_cycle();
	}
	used = kernel_used();
	growth = (long long)(used - half);
	ksft_print_msg("vms: %llu cycles; kernel memory in use %llu KiB, grew %lld KiB over the second half\n",
		       (unsigned long long)n, (unsigned long long)used / 1024,
		       growth / 1024);
	TEST_ASSERT(growth < (long long)((kasan ? LEAK_SLACK_KASAN : LEAK_SLACK) +
					 LEAK_PER_CYCLE * (n - n / 2)),
		    "kernel memory grew by %lld KiB over %llu VM cycles: a leak",
		    growth / 1024, (unsigned long long)(n - n / 2));
}

/* The child of kills(): run @how until killed. */
static void __attribute__((noreturn)) kill_child(int how)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_spin, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT1, GPA_A, SLOT1_PAGES, 0);
	vm_userspace_mem_region_add(vm, SLOT1 + 1, GPA_B, SLOT1_PAGES, 0);
	map_slot1(vm);
	if (how == 0) {
		for (;;)
			__vcpu_run(vcpu);
	}
	for (i = 0;; i++) {
		vm_mem_region_move(vm, SLOT1, i & 1 ? GPA_A : GPA_A + 0x1000000);
		vm_mem_region_delete(vm, SLOT1 + 1);
		vm_userspace_mem_region_add(vm, SLOT1 + 1, GPA_B, SLOT1_PAGES, 0);
	}
}

static void kills(uint64_t n)
{
	uint64_t i;
	int status;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		TEST_ASSERT(pid >= 0, "fork");
		if (!pid)
			kill_child(i & 1);
		usleep(1000 + fuzz_below(&rng, 50000));
		kill(pid, SIGKILL);
		TEST_ASSERT_EQ(waitpid(pid, &status, 0), pid);
		TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			    "child %llu (%s) ended with status %#x before it was killed",
			    (unsigned long long)i, i & 1 ? "ioctls" : "KVM_RUN",
			    status);
	}
	ksft_print_msg("kills: %llu VMMs killed mid-KVM_RUN or mid-ioctl\n",
		       (unsigned long long)n);
}

static atomic_bool slots_done;

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void *slots_vcpu(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_run *run = vcpu->run;

	while (!atomic_load(&slots_done)) {
		if (__vcpu_run(vcpu) < 0) {
			TEST_ASSERT(errno == EINTR, "KVM_RUN: %s",
				    strerror(errno));
			continue;
		}
		ucall_check_fatal(vcpu);
		/* the slot is away: reads give 0, writes go nowhere */
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
	return NULL;
}

static void slots(uint64_t n)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	pthread_t thr;
	uint64_t i;

	/* no SA_RESTART: the signal ends KVM_RUN with EINTR */
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	vm = vm_create_with_one_vcpu(&vcpu, guest_spin, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT1, GPA_A, SLOT1_PAGES, 0);
	map_slot1(vm);
	atomic_store(&slots_done, false);
	TEST_ASSERT(!pthread_create(&thr, NULL, slots_vcpu, vcpu), "thread");
	for (i = 0; i < n; i++) {
		switch (fuzz_below(&rng, 3)) {
		case 0:
			vm_mem_region_move(vm, SLOT1, fuzz_one_in(&rng, 2) ?
					   GPA_A : GPA_B);
			break;
		case 1:
			vm_mem_region_delete(vm, SLOT1);
			usleep(fuzz_below(&rng, 2000));
			vm_userspace_mem_region_add(vm, SLOT1, fuzz_one_in(&rng, 2) ?
						    GPA_A : GPA_B, SLOT1_PAGES, 0);
			break;
		default:
			usleep(fuzz_below(&rng, 2000));
			break;
		}
	}
	atomic_store(&slots_done, true);
	/* until the thread sees the flag: it may be in KVM_RUN, or about to be */
	while (pthread_tryjoin_np(thr, NULL)) {
		pthread_kill(thr, SIGUSR1);
		usleep(1000);
	}
	kvm_vm_free(vm);
	ksft_print_msg("slots: %llu memslot changes under a running vCPU\n",
		       (unsigned long long)n);
}

static void send_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	char byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	TEST_ASSERT(sendmsg(sock, &msg, 0) == 1, "sendmsg");
}

static void recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c;

	TEST_ASSERT(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) == 1, "recvmsg");
	c = CMSG_FIRSTHDR(&msg);
	TEST_ASSERT(c && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(n * sizeof(int)), "no fds received");
	memcpy(fds, CMSG_DATA(c), n * sizeof(int));
}

static void passes(uint64_t n)
{
	uint64_t i;
	int sv[2], fds[2], status;

	for (i = 0; i < n; i++) {
		pid_t pid;

		TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork");
		if (!pid) {
			struct kvm_vcpu *vcpu;
			struct kvm_vm *vm;

			vm = vm_create_with_one_vcpu(&vcpu, guest_spin,
						     VM_MODE_LONG_4K);
			fds[0] = vm->fd;
			fds[1] = vcpu->fd;
			send_fds(sv[1], fds, 2);
			_exit(0);	/* the VM lives on in the parent's fds */
		}
		recv_fds(sv[0], fds, 2);
		TEST_ASSERT_EQ(waitpid(pid, &status, 0), pid);
		TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
			    "the creator failed: status %#x", status);
		close(sv[0]);
		close(sv[1]);

		/* every VM and vCPU ioctl from another mm is EIO in KVM */
		TEST_ASSERT(ioctl(fds[0], KVM_CHECK_EXTENSION,
				  KVM_CAP_CHECK_EXTENSION_VM) == -1 && errno == EIO,
			    "KVM_CHECK_EXTENSION from another mm: %s, KVM says EIO",
			    strerror(errno));
		TEST_ASSERT(ioctl(fds[1], KVM_RUN, 0) == -1 && errno == EIO,
			    "KVM_RUN from another mm: %s, KVM says EIO",
			    strerror(errno));
		TEST_ASSERT(ioctl(fds[0], KVM_CREATE_VCPU, 1) == -1 && errno == EIO,
			    "KVM_CREATE_VCPU from another mm: %s, KVM says EIO",
			    strerror(errno));
		/* the vCPU's fd goes first or last */
		if (i & 1) {
			close(fds[0]);
			close(fds[1]);
		} else {
			close(fds[1]);
			close(fds[0]);
		}
	}
	ksft_print_msg("passes: %llu VMs outlived their creator in another process\n",
		       (unsigned long long)n);
}

int main(void)
{
	uint64_t seed, n_vms, n_kills, n_slots, n_passes;
	long long pins;

	seed = fuzz_env("FUZZ_SEED", 1);
	ksft_print_msg("FUZZ_SEED=%#llx\n", (unsigned long long)seed);
	fuzz_rng_init(&rng, seed, 0);
	n_vms = env_count("STRESS_VMS", 60);
	n_kills = env_count("STRESS_KILLS", 10);
	n_slots = env_count("STRESS_SLOTS", 100);
	n_passes = env_count("STRESS_PASSES", 10);

	kasan = klog_since_contains(0, "KernelAddressSanitizer initialized");
	if (kasan)
		ksft_print_msg("KASAN: the slab is left out of the leak check\n");
	pins = pins_held();
	vms(n_vms);
	kills(n_kills);
	slots(n_slots);
	passes(n_passes);
	/* a VM's teardown can finish after its last close returned (RCU) */
	usleep(100000);
	TEST_ASSERT(pins_held() == pins,
		    "%lld pages were pinned before and %lld after", pins,
		    pins_held());
	ksft_exit_pass();
}
