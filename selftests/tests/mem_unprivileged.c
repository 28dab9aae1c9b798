// SPDX-License-Identifier: GPL-2.0
/*
 * mem_unprivileged: guest memory is ordinary process memory, as with KVM.
 * A VMM that is not root (uid and gid 65534, no capabilities, reaching
 * the KVM device through its group as a member of the kvm group does)
 * and runs with Debian's default RLIMIT_MEMLOCK of 8 MiB gives its guest
 * 1 GiB.  The guest writes every 4K page of it, then reads every page
 * back; the VMM checks the same values through its own mapping.  Nothing
 * may count as locked memory (VmLck), since nothing is pinned.
 *
 * With pinned guest memory, KVM_RUN fails with ENOMEM after 8 MiB.
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x100000000ULL		/* 4 GiB */
#define MEM_SIZE	0x40000000ULL		/* 1 GiB */
#define NOBODY		65534
#define PATTERN		0x6b7669736f72ULL

/* Where in page @gpa the guest writes: a different place in each page. */
static uint64_t slot_of(uint64_t gpa)
{
	return gpa + ((gpa >> 12) * 8 & 0xff8);
}

static void guest_code(uint64_t base, uint64_t size)
{
	uint64_t gpa;

	for (gpa = base; gpa < base + size; gpa += 4096)
		*(volatile uint64_t *)slot_of(gpa) = gpa ^ PATTERN;
	GUEST_SYNC(1);
	for (gpa = base; gpa < base + size; gpa += 4096)
		GUEST_ASSERT_EQ(*(volatile uint64_t *)slot_of(gpa),
				gpa ^ PATTERN);
	GUEST_DONE();
}

/* 1 GiB of anonymous memory, 2M-aligned so the host may use THPs. */
static void *alloc_guest_memory(void)
{
	uint8_t *p = mmap(NULL, MEM_SIZE + 0x200000, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap of 1 GiB");
	p = (uint8_t *)(((uintptr_t)p + 0x1fffff) & ~0x1fffffULL);
	madvise(p, MEM_SIZE, MADV_HUGEPAGE);
	return p;
}

static unsigned long vm_locked_kb(void)
{
	char text[4096];

	read_text_file("/proc/self/status", text, sizeof(text));
	return text_counter(text, "VmLck:");
}

/* The VMM proper, after it gave up root. */
static void run_vmm(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint8_t *mem;
	uint64_t gpa;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_2M);
	mem = alloc_guest_memory();
	vm_userspace_mem_region_add_mem(vm, SLOT, GPA, mem, MEM_SIZE, 0);
	virt_map(vm, GPA, GPA, MEM_SIZE);
	vcpu_args_set(vcpu, 2, GPA, MEM_SIZE);

	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, UCALL_SYNC, NULL), 1);
	for (gpa = GPA; gpa < GPA + MEM_SIZE; gpa += 4096)
		TEST_ASSERT_EQ(*(uint64_t *)(mem + slot_of(gpa) - GPA),
			       gpa ^ PATTERN);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	TEST_ASSERT_EQ(vm_locked_kb(), 0);
	ksft_print_msg("uid %d wrote and read back 1 GiB, VmLck 0 kB\n",
		       getuid());
	kvm_vm_free(vm);
}

int main(void)
{
	struct rlimit memlock = { 8 << 20, 8 << 20 };
	const char *dev = kvm_dev_path();
	struct stat st;
	int status;
	pid_t pid;

	if (getuid() != 0)
		ksft_exit_skip("must start as root to become someone else\n");
	TEST_ASSERT(!stat(dev, &st), "stat %s", dev);
	/* The device as a distribution sets it up: root:kvm, 0660. */
	TEST_ASSERT(!chown(dev, 0, NOBODY) && !chmod(dev, 0660),
		    "chown/chmod %s", dev);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		TEST_ASSERT(!setrlimit(RLIMIT_MEMLOCK, &memlock),
			    "setrlimit");
		TEST_ASSERT(!setgroups(0, NULL) && !setgid(NOBODY) &&
			    !setuid(NOBODY), "drop root");
		run_vmm();
		exit(KSFT_PASS);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(!chown(dev, st.st_uid, st.st_gid) &&
		    !chmod(dev, st.st_mode & 07777), "restore %s", dev);
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS,
		    "the unprivileged VMM failed (status %#x)", status);
	ksft_exit_pass();
}
