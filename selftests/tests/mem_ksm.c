// SPDX-License-Identifier: GPL-2.0
/*
 * mem_ksm: the host may merge guest pages (KSM), as under KVM.  Two VMs
 * fill their memory (MADV_MERGEABLE) with the same contents, page by
 * page different; ksmd must then merge them (pages_sharing rises by at
 * least half of them).  Both guests read everything back through the
 * merged pages; then one guest writes, which must unmerge its page only:
 * each guest verifies its own data, and the VMM sees each VM's pages as
 * its guest left them.
 *
 * Pinned guest pages cannot be merged, so this fails where kvisor pins.
 */
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x40000000ULL
#define NPAGES		64
#define SIZE		(NPAGES * 4096ULL)
#define KSM		"/sys/kernel/mm/ksm/"

static void guest_code(uint64_t base, uint64_t who)
{
	uint64_t i, j;

	for (i = 0; i < NPAGES; i++)
		for (j = 0; j < 512; j++)
			((volatile uint64_t *)(base + i * 4096))[j] = i * 1000 + j;
	GUEST_SYNC(1);		/* the host lets ksmd merge */
	for (i = 0; i < NPAGES; i++)
		for (j = 0; j < 512; j += 64)
			GUEST_ASSERT_EQ(((volatile uint64_t *)(base + i * 4096))[j],
					i * 1000 + j);
	GUEST_SYNC(2);
	/* Only the first VM writes, to its page 7. */
	if (who == 0)
		*(volatile uint64_t *)(base + 7 * 4096) = 0xdead;
	GUEST_SYNC(3);
	for (i = 0; i < NPAGES; i++)
		GUEST_ASSERT_EQ(*(volatile uint64_t *)(base + i * 4096),
				who == 0 && i == 7 ? 0xdead : i * 1000);
	GUEST_DONE();
}

static void ksm_write(const char *file, const char *val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), KSM "%s", file);
	f = fopen(path, "w");
	TEST_ASSERT(f, "open %s", path);
	fputs(val, f);
	fclose(f);
}

static long ksm_read(const char *file)
{
	char path[128], text[64];

	snprintf(path, sizeof(path), KSM "%s", file);
	read_text_file(path, text, sizeof(text));
	return strtol(text, NULL, 10);
}

static struct kvm_vm *make_vm(struct kvm_vcpu **vcpu, uint64_t who,
			      uint8_t **mem)
{
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(vcpu, guest_code, VM_MODE_LONG_4K);
	*mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(*mem != MAP_FAILED, "mmap");
	TEST_ASSERT(!madvise(*mem, SIZE, MADV_MERGEABLE), "MADV_MERGEABLE");
	vm_userspace_mem_region_add_mem(vm, SLOT, GPA, *mem, SIZE, 0);
	virt_map(vm, GPA, GPA, SIZE);
	vcpu_args_set(*vcpu, 2, GPA, who);
	return vm;
}

int main(void)
{
	struct kvm_vcpu *vcpu[2];
	struct kvm_vm *vm[2];
	long base, sharing;
	uint8_t *mem[2];
	time_t t0;
	int i;

	if (access(KSM "run", W_OK))
		ksft_exit_skip("no KSM in this host\n");
	for (i = 0; i < 2; i++) {
		vm[i] = make_vm(&vcpu[i], i, &mem[i]);
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu[i], UCALL_SYNC, NULL), 1);
	}

	base = ksm_read("pages_sharing");
	ksm_write("pages_to_scan", "10000");
	ksm_write("sleep_millisecs", "10");
	ksm_write("run", "1");
	t0 = time(NULL);
	do {
		usleep(100000);
		sharing = ksm_read("pages_sharing") - base;
	} while (sharing < NPAGES / 2 && time(NULL) - t0 < 60);
	ksft_print_msg("ksmd merged: pages_sharing +%ld after %ld s\n",
		       sharing, (long)(time(NULL) - t0));
	TEST_ASSERT(sharing >= NPAGES / 2,
		    "pages_sharing rose by %ld, expected at least %d", sharing,
		    NPAGES / 2);
	ksm_write("run", "0");

	for (i = 0; i < 2; i++)
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu[i], UCALL_SYNC, NULL), 2);
	for (i = 0; i < 2; i++)
		TEST_ASSERT_EQ(vcpu_run_ucall(vcpu[i], UCALL_SYNC, NULL), 3);
	TEST_ASSERT_EQ(*(uint64_t *)(mem[0] + 7 * 4096), 0xdead);
	TEST_ASSERT_EQ(*(uint64_t *)(mem[1] + 7 * 4096), 7000);
	for (i = 0; i < 2; i++) {
		vcpu_run_ucall(vcpu[i], UCALL_DONE, NULL);
		kvm_vm_free(vm[i]);
	}
	ksft_print_msg("both guests read their data through the merged pages; "
		       "a write unmerged only its page\n");
	ksft_exit_pass();
}
