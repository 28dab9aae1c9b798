// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_util.c - VMs, vCPUs, guest memory and running, for kvisor selftests.
 * See include/kvm_util.h for the big picture and the guest memory layout;
 * the x86 specific parts (page tables, descriptor tables, registers at
 * start) are in processor.c.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

const struct vm_mode_params vm_modes[NUM_VM_MODES] = {
	[VM_MODE_REAL] = {
		.name = "real mode",
		.addr_mask = 0xffff,
	},
	[VM_MODE_PROT32] = {
		.name = "32-bit protected mode",
		.addr_mask = 0xffffffff,
	},
	[VM_MODE_LONG_4K] = {
		.name = "long mode, 4K pages",
		.paging = true, .page_size = PAGE_SIZE_4K, .addr_mask = ~0ULL,
	},
	[VM_MODE_LONG_2M] = {
		.name = "long mode, 2M pages",
		.paging = true, .page_size = PAGE_SIZE_2M, .addr_mask = ~0ULL,
	},
	[VM_MODE_LONG_1G] = {
		.name = "long mode, 1G pages",
		.paging = true, .page_size = PAGE_SIZE_1G, .addr_mask = ~0ULL,
	},
};

/* Open the KVM device; skip the test if there is none. */
int open_kvm_dev_path_or_exit(void)
{
	const char *path = kvm_dev_path();
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENXIO || errno == ENODEV ||
		       errno == EACCES))
		ksft_exit_skip("cannot open %s: %s\n", path, strerror(errno));
	TEST_ASSERT(fd >= 0, "open(%s) failed", path);
	return fd;
}

/* KVM_CHECK_EXTENSION on the device: 0 if absent, else usually 1 */
int kvm_check_cap(long cap)
{
	int fd = open_kvm_dev_path_or_exit();
	int ret;

	ret = kvm_ioctl(fd, KVM_CHECK_EXTENSION, (void *)cap);
	close(fd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Loading the test binary into the guest                               */

/* Open our own executable: /proc/self/exe, or argv[0] without /proc. */
static int open_self_exe(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fd = open(program_invocation_name, O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "cannot open /proc/self/exe nor %s",
		    program_invocation_name);
	return fd;
}

static void read_exactly(int fd, void *buf, size_t size, off_t offset)
{
	ssize_t n = pread(fd, buf, size, offset);

	TEST_ASSERT(n == (ssize_t)size,
		    "reading %zu bytes at %#lx of the test binary: got %zd",
		    size, (unsigned long)offset, n);
}

/*
 * Read the program headers of the test binary; return how many loadable
 * segments there are and the end of the highest one.
 */
static int elf_read_phdrs(int fd, Elf64_Phdr *phdrs, int max, uint64_t *end)
{
	Elf64_Ehdr ehdr;
	int i, n = 0;

	read_exactly(fd, &ehdr, sizeof(ehdr), 0);
	TEST_ASSERT(!memcmp(ehdr.e_ident, ELFMAG, SELFMAG) &&
		    ehdr.e_ident[EI_CLASS] == ELFCLASS64 &&
		    ehdr.e_type == ET_EXEC,
		    "the test binary must be a static, non-PIE x86-64 ELF");
	TEST_ASSERT(ehdr.e_phentsize == sizeof(Elf64_Phdr) &&
		    ehdr.e_phnum <= max, "unexpected ELF program headers");

	*end = 0;
	for (i = 0; i < ehdr.e_phnum; i++) {
		Elf64_Phdr ph;

		read_exactly(fd, &ph, sizeof(ph),
			     ehdr.e_phoff + i * sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph.p_vaddr >= ELF_LOAD_MIN,
			    "ELF segment at %#lx overlaps the page allocator",
			    (unsigned long)ph.p_vaddr);
		phdrs[n++] = ph;
		if (ph.p_vaddr + ph.p_memsz > *end)
			*end = ph.p_vaddr + ph.p_memsz;
	}
	return n;
}

/* Copy the loadable segments to the same addresses in guest memory. */
static void elf_load(struct kvm_vm *vm, int fd, Elf64_Phdr *phdrs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		/* .bss (p_memsz beyond p_filesz) is already zero */
		read_exactly(fd, addr_gpa2hva(vm, phdrs[i].p_vaddr),
			     phdrs[i].p_filesz, phdrs[i].p_offset);
	}
}

/* ------------------------------------------------------------------ */
/* VMs and vCPUs                                                        */

/*
 * Create a VM whose vCPUs will start in @mode, with slot 0 holding the
 * test binary and, for the protected modes, the page and descriptor tables.
 */
struct kvm_vm *vm_create(enum vm_guest_mode mode)
{
	Elf64_Phdr phdrs[16];
	struct kvm_vm *vm;
	uint64_t elf_end;
	int ret, fd, n;

	TEST_ASSERT(mode < NUM_VM_MODES, "bad guest mode %d", mode);
	vm = calloc(1, sizeof(*vm));
	TEST_ASSERT(vm, "out of memory");
	vm->mode = mode;

	vm->kvm_fd = open_kvm_dev_path_or_exit();
	ret = kvm_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, NULL);
	TEST_ASSERT(ret == KVM_API_VERSION, "KVM_GET_API_VERSION is %d, not %d",
		    ret, KVM_API_VERSION);
	vm->fd = kvm_ioctl(vm->kvm_fd, KVM_CREATE_VM, (void *)0);

	/*
	 * Intel CPUs without "unrestricted guest" run real mode as vm86 and
	 * KVM then needs three pages of guest physical space for a TSS.
	 * QEMU puts it just below the BIOS; so do we.
	 */
	if (mode == VM_MODE_REAL && kvm_check_cap(KVM_CAP_SET_TSS_ADDR))
		vm_ioctl(vm, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL);

	fd = open_self_exe();
	n = elf_read_phdrs(fd, phdrs, ARRAY_SIZE(phdrs), &elf_end);
	vm->slot0_size = ALIGN_UP(elf_end, PAGE_SIZE_2M) + SLOT0_SPARE;
	vm_userspace_mem_region_add(vm, 0, 0, vm->slot0_size / PAGE_SIZE_4K, 0);
	elf_load(vm, fd, phdrs, n);
	close(fd);

	vm->next_page = PAGE_ALLOC_START;
	vm->alloc_end = PAGE_ALLOC_END;
	vm_arch_setup(vm);
	return vm;
}

/*
 * Add vCPU @vcpu_id, ready to run @guest_code in the VM's mode (see
 * vcpu_arch_setup(): a C function in long mode, code in the test's
 * "guest16" section in real mode, a .code32 label in protected mode).
 */
struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm, uint32_t vcpu_id,
			     void *guest_code)
{
	struct kvm_vcpu *vcpu;
	int size;

	TEST_ASSERT(vm->nr_vcpus < MAX_TEST_VCPUS, "too many vCPUs");
	vcpu = calloc(1, sizeof(*vcpu));
	TEST_ASSERT(vcpu, "out of memory");
	vcpu->vm = vm;
	vcpu->id = vcpu_id;
	vcpu->fd = vm_ioctl(vm, KVM_CREATE_VCPU, (void *)(unsigned long)vcpu_id);

	/* struct kvm_run, followed by whatever else KVM shares with us */
	size = kvm_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	TEST_ASSERT(size >= (int)sizeof(struct kvm_run),
		    "KVM_GET_VCPU_MMAP_SIZE %d is smaller than struct kvm_run",
		    size);
	vcpu->run_size = size;
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of the vCPU fd failed");

	vcpu_arch_setup(vcpu, guest_code);
	/*
	 * As the upstream selftests do: with an in-kernel irqchip an AP
	 * starts waiting for INIT/SIPI; these tests start every vCPU at its
	 * guest code instead.
	 */
	vcpu_ioctl(vcpu, KVM_SET_MP_STATE,
		   &(struct kvm_mp_state){ .mp_state = KVM_MP_STATE_RUNNABLE });
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
}

void vm_create_irqchip(struct kvm_vm *vm)
{
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0),
		    "KVM_CREATE_IRQCHIP: %s", strerror(errno));
}

int vcpu_msr_io(struct kvm_vcpu *vcpu, unsigned long nr, uint32_t index,
		uint64_t *val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} b = { .hdr.nmsrs = 1, .e.index = index };
	int r;

	if (nr == KVM_SET_MSRS)
		b.e.data = *val;
	r = ioctl(vcpu->fd, nr, &b);
	TEST_ASSERT(r == 0 || r == 1, "%s of MSR %#x: %d (%s)",
		    nr == KVM_SET_MSRS ? "KVM_SET_MSRS" : "KVM_GET_MSRS",
		    index, r, strerror(errno));
	if (nr == KVM_GET_MSRS && r == 1)
		*val = b.e.data;
	return r;
}

uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	uint64_t v = 0;

	TEST_ASSERT(vcpu_msr_io(vcpu, KVM_GET_MSRS, index, &v) == 1,
		    "KVM_GET_MSRS refused MSR %#x", index);
	return v;
}

int vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t val)
{
	return vcpu_msr_io(vcpu, KVM_SET_MSRS, index, &val);
}

struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu,
				       void *guest_code,
				       enum vm_guest_mode mode)
{
	struct kvm_vm *vm = vm_create(mode);

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	return vm;
}

void kvm_vm_free(struct kvm_vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_vcpu *vcpu = vm->vcpus[i];

		TEST_ASSERT(!munmap(vcpu->run, vcpu->run_size), "munmap");
		TEST_ASSERT(!close(vcpu->fd), "close of vCPU fd");
		free(vcpu);
	}
	TEST_ASSERT(!close(vm->fd), "close of VM fd");
	for (i = 0; i < MAX_TEST_SLOTS; i++) {
		struct userspace_mem_region *r = &vm->regions[i];

		if (r->used)
			TEST_ASSERT(!munmap(r->host_mem, r->mmap_size), "munmap");
	}
	TEST_ASSERT(!close(vm->kvm_fd), "close of KVM fd");
	free(vm);
}

/* ------------------------------------------------------------------ */
/* Guest memory                                                         */

struct userspace_mem_region *memslot2region(struct kvm_vm *vm, uint32_t slot)
{
	TEST_ASSERT(slot < MAX_TEST_SLOTS && vm->regions[slot].used,
		    "no memslot %u in this VM", slot);
	return &vm->regions[slot];
}

/*
 * Make @size bytes of the test's own memory at @mem a memslot at @gpa
 * (the caller maps it, e.g. huge or shared; kvm_vm_free() unmaps it).
 */
void vm_userspace_mem_region_add_mem(struct kvm_vm *vm, uint32_t slot,
				     uint64_t gpa, void *mem, size_t size,
				     uint32_t flags)
{
	struct userspace_mem_region *r;

	TEST_ASSERT(slot < MAX_TEST_SLOTS && !vm->regions[slot].used,
		    "memslot %u is in use or too high", slot);
	TEST_ASSERT(size && !(gpa & (PAGE_SIZE_4K - 1)),
		    "memslot %u: bad GPA %#lx or size", slot,
		    (unsigned long)gpa);
	r = &vm->regions[slot];
	r->region.slot = slot;
	r->region.flags = flags;
	r->region.guest_phys_addr = gpa;
	r->region.memory_size = size;
	r->region.userspace_addr = (uint64_t)mem;
	r->host_mem = mem;
	r->mmap_size = size;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r->region);
	__atomic_store_n(&r->used, true, __ATOMIC_RELEASE);
}

/*
 * Back @npages 4K pages at @gpa with fresh anonymous memory, of 4K pages
 * only: with THP "always" (Debian's setting) the host would otherwise give
 * slot 0 huge pages whenever mmap() happened to return a 2M-aligned
 * address, and the VM-wide counts of huge nested mappings that mem_split
 * and mem_huge read would change from run to run.  Tests that want huge
 * pages map their own memory and ask for them, as upstream's selftests do
 * (VM_MEM_SRC_ANONYMOUS against VM_MEM_SRC_ANONYMOUS_THP).
 */
void vm_userspace_mem_region_add(struct kvm_vm *vm, uint32_t slot,
				 uint64_t gpa, uint64_t npages, uint32_t flags)
{
	size_t size = npages * PAGE_SIZE_4K;
	void *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap of %zu bytes failed", size);
	TEST_ASSERT(!madvise(mem, size, MADV_NOHUGEPAGE), "madvise");
	vm_userspace_mem_region_add_mem(vm, slot, gpa, mem, size, flags);
}

int vm_set_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)hva,
	};

	return __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* Move a memslot to @new_gpa: same size, flags and host memory. */
void vm_mem_region_move(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa)
{
	struct userspace_mem_region *r = memslot2region(vm, slot);

	r->region.guest_phys_addr = new_gpa;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r->region);
}

/* Delete a memslot: KVM does it when memory_size is 0. */
void vm_mem_region_delete(struct kvm_vm *vm, uint32_t slot)
{
	struct userspace_mem_region *r = memslot2region(vm, slot);

	r->region.memory_size = 0;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r->region);
	/* A vCPU thread may be looking up another slot in vm->regions. */
	__atomic_store_n(&r->used, false, __ATOMIC_RELEASE);
	TEST_ASSERT(!munmap(r->host_mem, r->mmap_size), "munmap");
	memset(r, 0, sizeof(*r));
}

/* Allocate zeroed guest pages for the library and tests; returns a GPA. */
uint64_t vm_alloc_pages(struct kvm_vm *vm, unsigned int npages)
{
	uint64_t gpa = vm->next_page;

	TEST_ASSERT(gpa + npages * PAGE_SIZE_4K <= vm->alloc_end,
		    "guest page allocator exhausted (%u pages wanted)", npages);
	vm->next_page += npages * PAGE_SIZE_4K;
	memset(addr_gpa2hva(vm, gpa), 0, npages * PAGE_SIZE_4K);
	return gpa;
}

void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < MAX_TEST_SLOTS; i++) {
		struct kvm_userspace_memory_region *m = &vm->regions[i].region;

		if (__atomic_load_n(&vm->regions[i].used, __ATOMIC_ACQUIRE) &&
		    gpa >= m->guest_phys_addr &&
		    gpa - m->guest_phys_addr < m->memory_size)
			return (char *)vm->regions[i].host_mem +
			       (gpa - m->guest_phys_addr);
	}
	TEST_FAIL("no memslot contains GPA %#lx", (unsigned long)gpa);
	return NULL;
}

/* Without paging a linear address is a physical one (segment bases are 0) */
uint64_t addr_gva2gpa(struct kvm_vm *vm, uint64_t gva)
{
	if (!vm_modes[vm->mode].paging)
		return gva;
	return addr_arch_gva2gpa(vm, gva);
}

void *addr_gva2hva(struct kvm_vm *vm, uint64_t gva)
{
	return addr_gpa2hva(vm, addr_gva2gpa(vm, gva));
}

/* ------------------------------------------------------------------ */
/* Running and registers                                                */

/* One KVM_RUN: returns what the ioctl does, nothing checked */
int __vcpu_run(struct kvm_vcpu *vcpu)
{
	return __vcpu_ioctl(vcpu, KVM_RUN, NULL);
}

/*
 * Run the vCPU until its next exit to userspace.  A signal for the host
 * thread makes KVM_RUN fail with EINTR before or after running the guest:
 * just enter again.  Guest assertion failures and unhandled exceptions
 * end the test here.
 */
void vcpu_run(struct kvm_vcpu *vcpu)
{
	int ret;

	do {
		ret = __vcpu_run(vcpu);
	} while (ret == -1 && errno == EINTR);
	TEST_ASSERT(ret == 0, "KVM_RUN failed, rc: %d errno: %d (%s)",
		    ret, errno, strerror(errno));
	ucall_check_fatal(vcpu);
}

/*
 * Let KVM finish the instruction that exited (e.g. put the data of an IN
 * into RAX, or step over an OUT) without entering the guest again, so that
 * KVM_GET/SET_REGS see and change the state after it.
 */
void vcpu_run_complete_io(struct kvm_vcpu *vcpu)
{
	int ret;

	vcpu->run->immediate_exit = 1;
	ret = __vcpu_run(vcpu);
	vcpu->run->immediate_exit = 0;
	TEST_ASSERT(ret == -1 && errno == EINTR,
		    "KVM_RUN with immediate_exit returned %d errno %d, expected EINTR",
		    ret, errno);
}

const char *exit_reason_str(unsigned int exit_reason)
{
	static const char * const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	if (exit_reason < ARRAY_SIZE(names) && names[exit_reason])
		return names[exit_reason];
	return "other";
}

/*
 * More about the last exit, for failure messages: the guest RIP, and the
 * data of KVM_EXIT_INTERNAL_ERROR (for emulation failures: flags, length
 * and bytes of the instruction).  The string is per thread.
 */
const char *vcpu_exit_details(struct kvm_vcpu *vcpu)
{
	static __thread char buf[256];
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	unsigned int i;
	int n;

	if (__vcpu_ioctl(vcpu, KVM_GET_REGS, &regs))
		return "";
	n = snprintf(buf, sizeof(buf), " at rip %#llx", regs.rip);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		n += snprintf(buf + n, sizeof(buf) - n, ", suberror %u, data",
			      run->internal.suberror);
		for (i = 0; i < run->internal.ndata && i < 4; i++)
			n += snprintf(buf + n, sizeof(buf) - n, " %#llx",
				      run->internal.data[i]);
	}
	return buf;
}

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_GET_REGS, regs);
}

void vcpu_regs_set(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_SET_REGS, regs);
}

void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

void vcpu_sregs_set(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

void vcpu_fpu_get(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	vcpu_ioctl(vcpu, KVM_GET_FPU, fpu);
}

void vcpu_fpu_set(struct kvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	vcpu_ioctl(vcpu, KVM_SET_FPU, fpu);
}

/* Pass up to six integer arguments to a long mode guest_code() */
void vcpu_args_set(struct kvm_vcpu *vcpu, unsigned int num, ...)
{
	struct kvm_regs regs;
	__u64 *argregs[] = {
		&regs.rdi, &regs.rsi, &regs.rdx, &regs.rcx, &regs.r8, &regs.r9,
	};
	unsigned int i;
	va_list ap;

	TEST_ASSERT(num <= ARRAY_SIZE(argregs), "too many guest arguments");
	vcpu_regs_get(vcpu, &regs);
	va_start(ap, num);
	for (i = 0; i < num; i++)
		*argregs[i] = va_arg(ap, uint64_t);
	va_end(ap);
	vcpu_regs_set(vcpu, &regs);
}

/*
 * A statistic of a binary stats fd (KVM_GET_STATS_FD) by name: a
 * counter's value, or the sum of a histogram's buckets, in *@sum; false
 * when there is no such name.
 */
static bool stats_fd_find(int fd, const char *name, uint64_t *sum)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	uint64_t v[64];
	size_t dsz, len;
	uint8_t *descs;
	unsigned int i, j;

	TEST_ASSERT(pread(fd, &h, sizeof(h), 0) == sizeof(h),
		    "stats header: %s", strerror(errno));
	dsz = sizeof(*d) + h.name_size;
	len = dsz * h.num_desc;
	descs = malloc(len);
	TEST_ASSERT(descs, "malloc");
	TEST_ASSERT(pread(fd, descs, len, h.desc_offset) == (ssize_t)len,
		    "stats descriptors: %s", strerror(errno));
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsz);
		if (strcmp(d->name, name))
			continue;
		TEST_ASSERT(d->size <= 64, "%s: %u values", name, d->size);
		TEST_ASSERT(pread(fd, v, d->size * 8, h.data_offset + d->offset) ==
			    d->size * 8, "%s: read: %s", name, strerror(errno));
		for (*sum = 0, j = 0; j < d->size; j++)
			*sum += v[j];
		free(descs);
		return true;
	}
	free(descs);
	return false;
}

/* Fails the test when there is no such name. */
uint64_t stats_fd_value(int fd, const char *name)
{
	uint64_t v;

	TEST_ASSERT(stats_fd_find(fd, name, &v), "no statistic %s", name);
	return v;
}

/* kvm_util.h: a vCPU statistic by name, ~0 when there is none */
uint64_t vcpu_get_stat(struct kvm_vcpu *vcpu, const char *name)
{
	int fd = vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	uint64_t v;

	if (!stats_fd_find(fd, name, &v))
		v = ~0ULL;
	close(fd);
	return v;
}
