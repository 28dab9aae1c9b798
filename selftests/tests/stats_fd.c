// SPDX-License-Identifier: GPL-2.0
/*
 * stats_fd: KVM_GET_STATS_FD on the VM and on a vCPU.  Check the layout
 * (header, id string, descriptors, data), that the file reads the same
 * in pieces as whole, that the vCPU's io_exits grows by at least the
 * number of OUTs a guest makes, that KVM's names are there with KVM's
 * types and units, that insn_emulation and mmio_exits count the guest's
 * MMIO writes and hypercalls its KVM_HC_VAPIC_POLL_IRQ calls, that the
 * fd is read-only and close-on-exec,
 * that many fds open and close, and that a stats fd keeps working after
 * the VM's own fds are closed (it holds the VM).
 */
#include <fcntl.h>
#include <unistd.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"

#define NR_OUTS		50
#define NR_MMIO		20
#define NR_HCALLS	10
#define MMIO_GPA	0xc0000000ULL	/* mapped by the guest, no memslot */
#define NAME_SIZE	48	/* KVM's KVM_STATS_NAME_SIZE */
#define MAX_FILE	65536

static void guest_code(void)
{
	int i;

	uint32_t a, b, c, d;
	uint64_t ret;

	for (i = 0; i < NR_OUTS; i++)
		asm volatile("outb %%al, $0x99" : : "a"(i));
	for (i = 0; i < NR_MMIO; i++)
		*(volatile uint32_t *)MMIO_GPA = i;
	/* this vendor's hypercall instruction: "AuthenticAMD" or not */
	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
		     : "a"(0), "c"(0));
	for (i = 0; i < NR_HCALLS; i++) {
		if (b == 0x68747541)
			asm volatile("vmmcall" : "=a"(ret)
				     : "a"(KVM_HC_VAPIC_POLL_IRQ) : "memory");
		else
			asm volatile("vmcall" : "=a"(ret)
				     : "a"(KVM_HC_VAPIC_POLL_IRQ) : "memory");
		GUEST_ASSERT_EQ(ret, 0);
	}
	GUEST_DONE();
}

/* KVM's names (6.1), with KVM's type, unit, exponent and size. */
static const struct {
	const char *name;
	uint32_t flags;
	int16_t exponent;
	uint16_t size;
} kvm_names[] = {
#define C(n) { #n, KVM_STATS_TYPE_CUMULATIVE, 0, 1 }
#define NS(n) { #n, KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS, -9, 1 }
#define HIST(n) { #n, KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS, -9, 32 }
	C(halt_successful_poll), C(halt_attempted_poll), C(halt_poll_invalid),
	C(halt_wakeup), NS(halt_poll_success_ns), NS(halt_poll_fail_ns),
	NS(halt_wait_ns), HIST(halt_poll_success_hist),
	HIST(halt_poll_fail_hist), HIST(halt_wait_hist),
	{ "blocking", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1 },
	C(pf_taken), C(pf_fixed), C(pf_emulate),
	C(exits), C(io_exits), C(mmio_exits), C(signal_exits),
	C(irq_window_exits), C(nmi_window_exits), C(l1d_flush), C(halt_exits),
	C(request_irq_exits), C(irq_exits), C(insn_emulation),
	C(insn_emulation_fail), C(hypercalls), C(irq_injections),
	C(nmi_injections), C(directed_yield_attempted),
	C(directed_yield_successful), C(preemption_reported),
	C(preemption_other), C(host_state_reload), C(tlb_flush),
	C(req_event), C(fpu_reload),
#undef C
#undef NS
#undef HIST
};

struct stats {
	int fd;
	struct kvm_stats_header hdr;
	size_t desc_size;	/* one descriptor with its name */
	size_t data_size;
	uint8_t *desc;
};

static struct kvm_stats_desc *desc_at(struct stats *s, unsigned int i)
{
	return (struct kvm_stats_desc *)(s->desc + i * s->desc_size);
}

static void check_id(struct stats *s, const char *want)
{
	char id[NAME_SIZE + 1] = { 0 };
	ssize_t n = pread(s->fd, id, s->hdr.name_size, s->hdr.id_offset);

	TEST_ASSERT(n == s->hdr.name_size, "id read: %zd", n);
	TEST_ASSERT(memchr(id, 0, s->hdr.name_size), "id not NUL-terminated");
	TEST_ASSERT(!strcmp(id, want), "id \"%s\", expected \"%s\"", id, want);
}

/* Read and validate header and descriptors. */
static void stats_open(struct stats *s, int fd, const char *id)
{
	unsigned int i, j, type, nr_desc;
	struct kvm_stats_desc *d;
	size_t desc_end;
	int fl;

	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD: %s", strerror(errno));
	s->fd = fd;
	fl = fcntl(fd, F_GETFL);
	TEST_ASSERT((fl & O_ACCMODE) == O_RDONLY, "stats fd flags %#x", fl);
	TEST_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC, "stats fd not CLOEXEC");

	TEST_ASSERT(pread(fd, &s->hdr, sizeof(s->hdr), 0) == sizeof(s->hdr),
		    "header read: %s", strerror(errno));
	TEST_ASSERT(s->hdr.flags == 0 && s->hdr.name_size == NAME_SIZE,
		    "header flags %#x name_size %u", s->hdr.flags,
		    s->hdr.name_size);
	nr_desc = s->hdr.num_desc;
	TEST_ASSERT(nr_desc > 0 && nr_desc < 1000, "num_desc %u", nr_desc);
	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;
	desc_end = s->hdr.desc_offset + nr_desc * s->desc_size;
	TEST_ASSERT(s->hdr.id_offset >= sizeof(s->hdr) &&
		    s->hdr.id_offset + s->hdr.name_size <= s->hdr.desc_offset &&
		    desc_end <= s->hdr.data_offset,
		    "offsets: id %u desc %u data %u, %u descriptors",
		    s->hdr.id_offset, s->hdr.desc_offset, s->hdr.data_offset,
		    nr_desc);
	check_id(s, id);

	s->desc = calloc(nr_desc, s->desc_size);
	TEST_ASSERT(s->desc, "calloc");
	TEST_ASSERT(pread(fd, s->desc, nr_desc * s->desc_size,
			  s->hdr.desc_offset) == (ssize_t)(nr_desc * s->desc_size),
		    "descriptor read");

	s->data_size = 0;
	for (i = 0; i < nr_desc; i++) {
		d = desc_at(s, i);
		TEST_ASSERT(d->name[0] &&
			    memchr(d->name, 0, s->hdr.name_size),
			    "descriptor %u: name empty or not NUL-terminated", i);
		for (j = 0; j < i; j++)
			TEST_ASSERT(strcmp(d->name, desc_at(s, j)->name),
				    "name %s twice", d->name);
		type = d->flags & KVM_STATS_TYPE_MASK;
		TEST_ASSERT(type <= KVM_STATS_TYPE_MAX &&
			    (d->flags & KVM_STATS_UNIT_MASK) <= KVM_STATS_UNIT_MAX &&
			    (d->flags & KVM_STATS_BASE_MASK) <= KVM_STATS_BASE_MAX,
			    "%s: flags %#x", d->name, d->flags);
		if (type == KVM_STATS_TYPE_CUMULATIVE ||
		    type == KVM_STATS_TYPE_INSTANT || type == KVM_STATS_TYPE_PEAK)
			TEST_ASSERT(d->size == 1 && d->bucket_size == 0,
				    "%s: size %u bucket_size %u", d->name,
				    d->size, d->bucket_size);
		TEST_ASSERT(d->size >= 1 && d->offset % 8 == 0,
			    "%s: size %u offset %u", d->name, d->size, d->offset);
		s->data_size += d->size * sizeof(uint64_t);
	}
	for (i = 0; i < nr_desc; i++) {
		d = desc_at(s, i);
		TEST_ASSERT(d->offset + d->size * sizeof(uint64_t) <= s->data_size,
			    "%s: offset %u beyond the data (%zu bytes)", d->name,
			    d->offset, s->data_size);
	}
}

static struct kvm_stats_desc *find_stat(struct stats *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->hdr.num_desc; i++)
		if (!strcmp(desc_at(s, i)->name, name))
			return desc_at(s, i);
	return NULL;
}

static uint64_t stat_value(struct stats *s, const char *name)
{
	struct kvm_stats_desc *d = find_stat(s, name);
	uint64_t v;

	TEST_ASSERT(d, "no statistic %s", name);
	TEST_ASSERT(pread(s->fd, &v, 8, s->hdr.data_offset + d->offset) == 8,
		    "%s: read: %s", name, strerror(errno));
	return v;
}

/*
 * The whole file in one read, ending at EOF past the last statistic, and
 * again in 7-byte pieces at increasing offsets: the same bytes (nothing
 * runs meanwhile).  Returns the file's size.
 */
static size_t check_reads(struct stats *s)
{
	static uint8_t whole[MAX_FILE], pieces[MAX_FILE];
	size_t total, got = 0;
	ssize_t n;
	char c;

	n = pread(s->fd, whole, MAX_FILE, 0);
	TEST_ASSERT(n >= (ssize_t)(s->hdr.data_offset + s->data_size) &&
		    n < MAX_FILE, "whole read %zd, data ends at %zu", n,
		    s->hdr.data_offset + s->data_size);
	total = n;
	TEST_ASSERT(pread(s->fd, &c, 1, total) == 0, "no EOF after the data");
	while ((n = pread(s->fd, pieces + got, 7, got)) > 0)
		got += n;
	TEST_ASSERT(n == 0 && got == total, "piecewise read: %zu of %zu", got,
		    total);
	TEST_ASSERT(!memcmp(whole, pieces, total), "piecewise read differs");

	/* Read-only: writing fails. */
	TEST_ASSERT(write(s->fd, &c, 1) < 0 && pwrite(s->fd, &c, 1, 0) < 0,
		    "write to a stats fd succeeded");
	return total;
}

/* read() goes on from the file offset, which starts at 0. */
static void check_sequential(struct stats *s, size_t total)
{
	struct kvm_stats_header hdr;
	static uint8_t rest[MAX_FILE];
	size_t got = 0;
	ssize_t n;

	TEST_ASSERT(read(s->fd, &hdr, sizeof(hdr)) == sizeof(hdr) &&
		    !memcmp(&hdr, &s->hdr, sizeof(hdr)), "read() of the header");
	while ((n = read(s->fd, rest + got, 100)) > 0)
		got += n;
	TEST_ASSERT(n == 0 && got == total - sizeof(hdr),
		    "read() after the header: %zu of %zu bytes", got,
		    total - sizeof(hdr));
}

static void check_kvm_names(struct stats *s)
{
	struct kvm_stats_desc *d;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kvm_names); i++) {
		d = find_stat(s, kvm_names[i].name);
		TEST_ASSERT(d, "no statistic %s", kvm_names[i].name);
		TEST_ASSERT((d->flags & (KVM_STATS_TYPE_MASK | KVM_STATS_UNIT_MASK |
					 KVM_STATS_BASE_MASK)) == kvm_names[i].flags &&
			    d->exponent == kvm_names[i].exponent &&
			    d->size == kvm_names[i].size,
			    "%s: flags %#x exponent %d size %u, KVM has %#x %d %u",
			    d->name, d->flags, d->exponent, d->size,
			    kvm_names[i].flags, kvm_names[i].exponent,
			    kvm_names[i].size);
	}
	ksft_print_msg("%zu of KVM's vCPU statistics, with KVM's types and units\n",
		       ARRAY_SIZE(kvm_names));
}

int main(void)
{
	struct stats vm_stats, vcpu_stats;
	uint64_t io0, io1, exits1, flush, emul0, mmio0, hc0;
	uint64_t fixed0, pfemu0, pfemu, fpu0, req0, tlb0, rflush0;
	struct kvm_vcpu_events events;
	char id[64];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int i, fd, fd2;

	if (!kvm_check_cap(KVM_CAP_BINARY_STATS_FD))
		ksft_exit_skip("no KVM_CAP_BINARY_STATS_FD\n");
	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	virt_map(vm, MMIO_GPA, MMIO_GPA, PAGE_SIZE_4K);

	snprintf(id, sizeof(id), "kvm-%d", getpid());
	stats_open(&vm_stats, __vm_ioctl(vm, KVM_GET_STATS_FD, NULL), id);
	snprintf(id, sizeof(id), "kvm-%d/vcpu-0", getpid());
	stats_open(&vcpu_stats, __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL), id);
	ksft_print_msg("VM: %u statistics, vCPU: %u statistics\n",
		       vm_stats.hdr.num_desc, vcpu_stats.hdr.num_desc);
	check_sequential(&vm_stats, check_reads(&vm_stats));
	check_sequential(&vcpu_stats, check_reads(&vcpu_stats));

	check_kvm_names(&vcpu_stats);
	fixed0 = stat_value(&vcpu_stats, "pf_fixed");
	io0 = stat_value(&vcpu_stats, "io_exits");
	fpu0 = stat_value(&vcpu_stats, "fpu_reload");
	for (i = 0; i < NR_OUTS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		TEST_ASSERT_EQ(vcpu->run->io.port, 0x99);
	}
	/* KVM puts the guest's FPU state back once per KVM_RUN. */
	TEST_ASSERT(stat_value(&vcpu_stats, "fpu_reload") - fpu0 == NR_OUTS,
		    "fpu_reload +%lu after %d KVM_RUNs",
		    stat_value(&vcpu_stats, "fpu_reload") - fpu0, NR_OUTS);
	ksft_print_msg("fpu_reload +%d for %d KVM_RUNs: ok\n", NR_OUTS,
		       NR_OUTS);
	/* The guest's first run faulted its code, data and stack pages in. */
	TEST_ASSERT(stat_value(&vcpu_stats, "pf_fixed") > fixed0,
		    "pf_fixed %lu after the guest's first run",
		    stat_value(&vcpu_stats, "pf_fixed"));
	/*
	 * KVM_SET_VCPU_EVENTS asks for a look at the events before the next
	 * entry (KVM_REQ_EVENT); turning dirty logging on write-protects
	 * the slot's mappings and flushes every vCPU's translations.
	 */
	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &events);
	vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &events);
	req0 = stat_value(&vcpu_stats, "req_event");
	tlb0 = stat_value(&vcpu_stats, "tlb_flush");
	rflush0 = stat_value(&vm_stats, "remote_tlb_flush_requests");
	memslot2region(vm, 0)->region.flags = KVM_MEM_LOG_DIRTY_PAGES;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &memslot2region(vm, 0)->region);
	emul0 = stat_value(&vcpu_stats, "insn_emulation");
	mmio0 = stat_value(&vcpu_stats, "mmio_exits");
	pfemu0 = stat_value(&vcpu_stats, "pf_emulate");
	hc0 = stat_value(&vcpu_stats, "hypercalls");
	for (i = 0; i < NR_MMIO; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_MMIO);
		TEST_ASSERT(vcpu->run->mmio.phys_addr == MMIO_GPA &&
			    vcpu->run->mmio.is_write, "MMIO exit %d", i);
	}
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	TEST_ASSERT(stat_value(&vcpu_stats, "req_event") > req0 &&
		    stat_value(&vm_stats, "remote_tlb_flush_requests") > rflush0 &&
		    stat_value(&vcpu_stats, "tlb_flush") > tlb0,
		    "after KVM_SET_VCPU_EVENTS and dirty logging on: req_event +%lu, remote_tlb_flush_requests +%lu, tlb_flush +%lu",
		    stat_value(&vcpu_stats, "req_event") - req0,
		    stat_value(&vm_stats, "remote_tlb_flush_requests") - rflush0,
		    stat_value(&vcpu_stats, "tlb_flush") - tlb0);
	ksft_print_msg("req_event +%lu after KVM_SET_VCPU_EVENTS, tlb_flush +%lu after dirty logging on: ok\n",
		       stat_value(&vcpu_stats, "req_event") - req0,
		       stat_value(&vcpu_stats, "tlb_flush") - tlb0);
	/*
	 * In-tree KVM (KVHOST_HYPERVISOR=intree) also counts the instructions
	 * it skips through its emulator where the CPU has no next-RIP (the
	 * SVM host): 31 there.  kvisor emulates only the MMIO writes.
	 */
	TEST_ASSERT((access("/sys/module/kvisor", F_OK) ?
		     stat_value(&vcpu_stats, "insn_emulation") - emul0 >= NR_MMIO :
		     stat_value(&vcpu_stats, "insn_emulation") - emul0 == NR_MMIO) &&
		    stat_value(&vcpu_stats, "mmio_exits") - mmio0 >= NR_MMIO &&
		    stat_value(&vcpu_stats, "hypercalls") - hc0 == NR_HCALLS,
		    "%d MMIO writes, %d hypercalls: insn_emulation +%lu, mmio_exits +%lu, hypercalls +%lu",
		    NR_MMIO, NR_HCALLS,
		    stat_value(&vcpu_stats, "insn_emulation") - emul0,
		    stat_value(&vcpu_stats, "mmio_exits") - mmio0,
		    stat_value(&vcpu_stats, "hypercalls") - hc0);
	ksft_print_msg("insn_emulation and mmio_exits +%d for %d MMIO writes, hypercalls +%d: ok\n",
		       NR_MMIO, NR_MMIO, NR_HCALLS);
	/*
	 * Every MMIO access is a nested page fault that goes to the emulator
	 * under kvisor; KVM's first one leaves an MMIO entry behind, and the
	 * later ones take another path that pf_emulate does not count.
	 */
	pfemu = stat_value(&vcpu_stats, "pf_emulate") - pfemu0;
	TEST_ASSERT(access("/sys/module/kvisor", F_OK) ? pfemu >= 1 :
		    pfemu == NR_MMIO,
		    "pf_emulate +%lu for %d MMIO writes", pfemu, NR_MMIO);
	TEST_ASSERT(stat_value(&vcpu_stats, "pf_taken") >=
		    stat_value(&vcpu_stats, "pf_fixed") +
		    stat_value(&vcpu_stats, "pf_emulate"),
		    "pf_taken %lu < pf_fixed %lu + pf_emulate %lu",
		    stat_value(&vcpu_stats, "pf_taken"),
		    stat_value(&vcpu_stats, "pf_fixed"),
		    stat_value(&vcpu_stats, "pf_emulate"));
	ksft_print_msg("pf_taken %lu, pf_fixed %lu, pf_emulate %lu (+%lu for %d MMIO writes): ok\n",
		       stat_value(&vcpu_stats, "pf_taken"),
		       stat_value(&vcpu_stats, "pf_fixed"),
		       stat_value(&vcpu_stats, "pf_emulate"), pfemu, NR_MMIO);
	io1 = stat_value(&vcpu_stats, "io_exits");
	exits1 = stat_value(&vcpu_stats, "exits");
	TEST_ASSERT(io1 - io0 >= NR_OUTS && exits1 >= io1,
		    "io_exits %llu -> %llu, exits %llu after %d OUTs",
		    (unsigned long long)io0, (unsigned long long)io1,
		    (unsigned long long)exits1, NR_OUTS);
	ksft_print_msg("io_exits %llu -> %llu, exits %llu\n",
		       (unsigned long long)io0, (unsigned long long)io1,
		       (unsigned long long)exits1);
	flush = stat_value(&vm_stats, "remote_tlb_flush");
	check_reads(&vcpu_stats);

	/* Many fds: each close gives its fd number back. */
	for (i = 0; i < 2000; i++) {
		fd = __vm_ioctl(vm, KVM_GET_STATS_FD, NULL);
		fd2 = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);
		TEST_ASSERT(fd >= 0 && fd2 >= 0, "round %d: %s", i,
			    strerror(errno));
		TEST_ASSERT(fd < vcpu_stats.fd + 10 && fd2 < vcpu_stats.fd + 10,
			    "round %d: fds %d %d: leaked", i, fd, fd2);
		close(fd);
		close(fd2);
	}

	/* The stats fds keep the VM, and its vCPUs, alive. */
	kvm_vm_free(vm);
	TEST_ASSERT(stat_value(&vcpu_stats, "io_exits") == io1 &&
		    stat_value(&vm_stats, "remote_tlb_flush") == flush,
		    "values changed after the VM was closed");
	check_reads(&vm_stats);
	check_reads(&vcpu_stats);
	close(vm_stats.fd);
	close(vcpu_stats.fd);
	free(vm_stats.desc);
	free(vcpu_stats.desc);
	ksft_print_msg("stats fds work after the VM fd is closed\n");
	ksft_exit_pass();
}
