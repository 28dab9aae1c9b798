// SPDX-License-Identifier: GPL-2.0
/*
 * mem_pfnmap: guest memory from a VM_IO | VM_PFNMAP mapping, which has no
 * struct page behind it (how a VMM hands a device's BAR to a guest through
 * VFIO, or memory from /dev/mem): the nested fault takes the pfn from the
 * VMM's page table instead of get_user_pages.
 *
 * The test maps the host's BIOS ROM (64 KiB at 0xf0000: reserved, not
 * RAM, and one of the ranges STRICT_DEVMEM lets root map) from /dev/mem,
 * read-only, and gives it to the guest as a memslot:
 *  1. the guest reads it all: the same bytes the VMM reads;
 *  2. the guest writes it: the VMM's mapping is read-only, so the write
 *     is MMIO, as KVM emulates it (KVM_PFN_ERR_RO_FAULT), though the slot
 *     is not KVM_MEM_READONLY;
 *  3. the VMM unmaps it: the nested mapping must have gone with it (the
 *     MMU notifier), so the guest's next read is EFAULT too, not the ROM.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define ROM_PA		0xf0000UL
#define ROM_SIZE	0x10000UL
#define SLOT		1
#define GPA		0x30000000ULL

/* FNV-1a over 8-byte words: one number the guest and the VMM compare */
static uint64_t checksum(const volatile uint64_t *p, size_t bytes)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* vCPU 0: steps 1 and 3 */
static void guest_read(void)
{
	volatile uint64_t *rom = (volatile uint64_t *)GPA;

	GUEST_SYNC(checksum(rom, ROM_SIZE));
	GUEST_SYNC(rom[0]);		/* unmapped meanwhile */
	GUEST_DONE();
}

/* vCPU 1: step 2 */
static void guest_write(void)
{
	((volatile uint64_t *)GPA)[1] = 0x1234;
	GUEST_DONE();
}

int main(void)
{
	struct kvm_vcpu *vcpu, *writer;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t want;
	void *rom;
	int fd, r;

	fd = open("/dev/mem", O_RDONLY | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		ksft_exit_skip("cannot open /dev/mem: %s\n", strerror(errno));
	rom = mmap(NULL, ROM_SIZE, PROT_READ, MAP_SHARED, fd, ROM_PA);
	if (rom == MAP_FAILED)
		ksft_exit_skip("cannot map the BIOS ROM from /dev/mem: %s\n",
			       strerror(errno));
	close(fd);
	want = checksum(rom, ROM_SIZE);
	ksft_print_msg("BIOS ROM at %#lx, checksum %#llx as the VMM reads it\n",
		       ROM_PA, (unsigned long long)want);

	vm = vm_create_with_one_vcpu(&vcpu, guest_read, VM_MODE_LONG_4K);
	writer = vm_vcpu_add(vm, 1, guest_write);
	TEST_ASSERT_EQ(vm_set_slot(vm, SLOT, GPA, ROM_SIZE, rom), 0);
	virt_map(vm, GPA, GPA, ROM_SIZE);

	/* 1: the guest reads what the VMM reads */
	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT(uc.args[0] == want,
		    "the guest read checksum %#llx from the ROM, the VMM %#llx",
		    (unsigned long long)uc.args[0], (unsigned long long)want);

	/* 2: a write through a read-only VM_PFNMAP mapping is MMIO */
	vcpu_run(writer);
	TEST_ASSERT_KVM_EXIT_REASON(writer, KVM_EXIT_MMIO);
	TEST_ASSERT(writer->run->mmio.is_write && writer->run->mmio.len == 8 &&
		    writer->run->mmio.phys_addr == GPA + 8 &&
		    *(uint64_t *)writer->run->mmio.data == 0x1234,
		    "the guest's write to the ROM: MMIO %s of %u at %#llx",
		    writer->run->mmio.is_write ? "write" : "read",
		    writer->run->mmio.len,
		    (unsigned long long)writer->run->mmio.phys_addr);
	vcpu_run_ucall(writer, UCALL_DONE, NULL);

	/* 3: the nested mapping step 1 made goes with the VMM's mapping */
	TEST_ASSERT(!munmap(rom, ROM_SIZE), "munmap");
	r = __vcpu_run(vcpu);
	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "KVM_RUN after the VMM unmapped the slot's memory: %d (%s); the guest still saw it",
		    r, r ? strerror(errno) : "ran");
	ksft_print_msg("read %lu KiB of device memory; a write to it is MMIO, a read after munmap EFAULT\n",
		       ROM_SIZE / 1024);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
