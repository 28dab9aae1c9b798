// SPDX-License-Identifier: GPL-2.0
/*
 * pause_spin: a vCPU that spins on PAUSE, with interrupts off, waiting for
 * a flag that another vCPU of the same VM sets after some work, while
 * both vCPU threads share one host CPU (pinned to it, whatever the host
 * has).  The worker can only finish when the spinner's thread lets go of
 * the CPU: the test checks that both finish, with the worker's result.
 *
 * Where the CPU offers PAUSE-loop exiting (VMX) or PAUSE filtering with
 * its threshold (SVM), the spinner's loop must exit to the hypervisor,
 * which yields (KVM's kvm_vcpu_on_spin()): its pause_exits statistic
 * counts at least one exit.  Where it does not (QEMU's emulated SVM), no
 * PAUSE may exit at all (pause_exits 0: an intercept without the filter
 * would exit on every PAUSE), and the test reports SKIP for the part it
 * could not check.  Which one applies is the module's parameter, as KVM
 * sets it after looking at the CPU: ple_gap (kvisor or kvm_intel) or
 * pause_filter_count (kvisor or kvm_amd), 0 when off.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define WORK_ROUNDS	200000
#define NAME_SIZE	48	/* KVM's KVM_STATS_NAME_SIZE */

volatile uint64_t spinning;	/* the spinner is in its loop */
volatile uint64_t flag;		/* the worker's result, 0 until then */

static uint64_t work(void)
{
	uint64_t acc = 1, i;

	for (i = 0; i < WORK_ROUNDS; i++)
		acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
	return acc | 1;		/* never 0: 0 means "not yet" */
}

static void guest_spinner(void)
{
	uint64_t spins = 0;

	spinning = 1;
	while (!flag) {
		asm volatile("pause" ::: "memory");
		spins++;
	}
	GUEST_SYNC2(flag, spins);
	GUEST_DONE();
}

static void guest_worker(void)
{
	flag = work();
	GUEST_DONE();
}

static uint64_t spinner_result[2];

static void *spinner_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	pin_thread(0, 0);
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	spinner_result[0] = uc.args[0];
	spinner_result[1] = uc.args[1];
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	return NULL;
}

static void *worker_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	pin_thread(0, 0);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	return NULL;
}

/* A vCPU statistic by name, which the hypervisor must keep. */
static uint64_t vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	uint64_t v = vcpu_get_stat(vcpu, name);

	TEST_ASSERT(v != ~0ULL, "no statistic %s", name);
	return v;
}

/* The first of the modules' parameter files that exists, or -1. */
static long module_param(const char *param)
{
	static const char *const mods[] = { "kvisor", "kvm_intel", "kvm_amd" };
	char path[128];
	unsigned int i;
	long v = -1;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(mods); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s",
			 mods[i], param);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
		break;
	}
	return v;
}

int main(void)
{
	const char *param = !host_cpu_is_amd() ? "ple_gap" : "pause_filter_count";
	long filter = module_param(param);
	struct kvm_vcpu *spinner, *worker;
	pthread_t threads[2];
	struct timespec t0, t1;
	uint64_t pauses, expect;
	struct kvm_vm *vm;
	double secs;

	TEST_ASSERT(filter >= 0, "no module parameter %s", param);
	vm = vm_create(VM_MODE_DEFAULT);
	spinner = vm_vcpu_add(vm, 0, guest_spinner);
	worker = vm_vcpu_add(vm, 1, guest_worker);

	/* The spinner first, and only once it spins does the worker start. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	TEST_ASSERT(!pthread_create(&threads[0], NULL, spinner_thread,
				    spinner), "pthread_create");
	while (!*(volatile uint64_t *)addr_gva2hva(vm, (uint64_t)&spinning))
		usleep(1000);
	TEST_ASSERT(!pthread_create(&threads[1], NULL, worker_thread, worker),
		    "pthread_create");
	TEST_ASSERT(!pthread_join(threads[1], NULL), "pthread_join");
	TEST_ASSERT(!pthread_join(threads[0], NULL), "pthread_join");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	expect = work();
	TEST_ASSERT(spinner_result[0] == expect,
		    "the spinner saw the flag %#lx, the work gives %#lx",
		    (unsigned long)spinner_result[0], (unsigned long)expect);
	pauses = vcpu_stat(spinner, "pause_exits");
	ksft_print_msg("spinner: %lu PAUSEs in the guest, %lu pause exits; worker: %lu; %.3f s; %s %ld\n",
		       (unsigned long)spinner_result[1], (unsigned long)pauses,
		       (unsigned long)vcpu_stat(worker, "pause_exits"), secs,
		       param, filter);
	kvm_vm_free(vm);
	if (!filter) {
		TEST_ASSERT(pauses == 0,
			    "%lu pause exits with %s 0: PAUSE is intercepted without the filter",
			    (unsigned long)pauses, param);
		ksft_exit_skip("%s is 0 (the CPU offers no %s): the spin ended, PAUSE exits not checked\n",
			       param, !host_cpu_is_amd() ? "PAUSE-loop exiting" :
			       "PAUSE filter with threshold");
	}
	TEST_ASSERT(pauses > 0, "the spinner never exited on PAUSE (%s %ld)",
		    param, filter);
	ksft_exit_pass();
}
