// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_log: dirty page logging of a memslot.
 *
 * The guest writes to a chosen set of pages of a KVM_MEM_LOG_DIRTY_PAGES
 * slot in rounds, and reads all of them; after each round KVM_GET_DIRTY_LOG
 * must show exactly the pages written in that round.  Next the guest
 * writes all pages without pause while the host collects the log from
 * another thread: no write may go unreported.  Then, with
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, GET no longer clears the log and
 * KVM_CLEAR_DIRTY_LOG does, for the pages it names: those pages, and only
 * those, must be reported again once rewritten.  Last, INITIALLY_SET with
 * logging switched on for an existing slot by a flags-only change.  Along
 * the way, the errnos of bad slots, ranges, flags and buffers.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "kvm_util.h"

#define SLOT		1
#define GPA		0x10000000ULL
#define NPAGES		200		/* not a multiple of 64: a tail word */
#define ROUNDS		6
#define SLOT2		2
#define GPA2		0x20000000ULL
#define NPAGES2		128
#define WORDS		((NPAGES + 63) / 64)

#define RACE_OFF	480		/* page_ptr() slot of the race phase */
#define RACE_GETS	300

#define MANUAL_CAPS	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | \
			 KVM_DIRTY_LOG_INITIALLY_SET)

/* Phases after the rounds, named by the guest's GUEST_SYNC argument. */
#define SYNC_RACE	50
#define SYNC_MANUAL_1	100
#define SYNC_MANUAL_2	101
#define SYNC_INITSET	200

/* The pages round @r writes: a different set each round, none in round 3. */
static bool written(int r, int page)
{
	if (r == 3)
		return false;
	return (page * 7 + r * 3) % (r + 1) == 0 || page == NPAGES - 1;
}

static uint64_t magic(int r, int page)
{
	return 0xd1e7000000000000ULL | ((uint64_t)r << 16) | page;
}

static volatile uint64_t *page_ptr(uint64_t gpa, int page, int r)
{
	return (volatile uint64_t *)(gpa + page * PAGE_SIZE_4K +
				     (r * 8) % PAGE_SIZE_4K);
}

static volatile uint64_t stop_race;	/* set by the host in guest memory */

static void guest_code(void)
{
	uint64_t sum = 0, iter;
	int r, p;

	for (r = 1; r <= ROUNDS; r++) {
		for (p = 0; p < NPAGES; p++) {
			sum += *page_ptr(GPA, p, r + 1);	/* reads only */
			if (written(r, p))
				*page_ptr(GPA, p, r) = magic(r, p);
		}
		GUEST_SYNC(r);
	}

	for (iter = 1; !stop_race; iter++)
		for (p = 0; p < NPAGES; p++)
			*page_ptr(GPA, p, RACE_OFF) = iter;
	GUEST_SYNC(SYNC_RACE);

	/* manual protection: the even pages, twice */
	for (p = 0; p < NPAGES; p += 2)
		*page_ptr(GPA, p, 0) = magic(SYNC_MANUAL_1, p);
	GUEST_SYNC(SYNC_MANUAL_1);
	for (p = 0; p < NPAGES; p += 2)
		*page_ptr(GPA, p, 0) = magic(SYNC_MANUAL_2, p);
	GUEST_SYNC(SYNC_MANUAL_2);

	/* slot 2, initially all dirty, then cleared: three pages */
	*page_ptr(GPA2, 1, 0) = 1;
	*page_ptr(GPA2, 5, 0) = 5;
	*page_ptr(GPA2, 70, 0) = 70;
	GUEST_SYNC(SYNC_INITSET);
	GUEST_ASSERT(sum != 1);		/* keep the reads */
	GUEST_DONE();
}

static int get_log(struct kvm_vm *vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return __vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log) ? -errno : 0;
}

static int clear_log(struct kvm_vm *vm, uint32_t slot, uint64_t first,
		     uint32_t num, void *bitmap)
{
	struct kvm_clear_dirty_log log = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bitmap,
	};

	return __vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, &log) ? -errno : 0;
}

static bool test_bit64(const uint64_t *map, int bit)
{
	return map[bit / 64] & (1ULL << (bit % 64));
}

/* GET_DIRTY_LOG of slot 1 must show exactly the pages @expect says. */
static void check_log(struct kvm_vm *vm, const char *what,
		      bool (*expect)(int arg, int page), int arg)
{
	uint64_t map[WORDS];
	int p, bad = 0;

	memset(map, 0xa5, sizeof(map));
	TEST_ASSERT_EQ(get_log(vm, SLOT, map), 0);
	for (p = 0; p < NPAGES; p++) {
		if (test_bit64(map, p) != expect(arg, p)) {
			if (bad++ < 8)
				ksft_print_msg("%s: page %d is %s, expected %s\n",
					       what, p,
					       test_bit64(map, p) ? "dirty" : "clean",
					       expect(arg, p) ? "dirty" : "clean");
		}
	}
	/* the bits past the slot's end, in the last word */
	TEST_ASSERT(!(map[WORDS - 1] >> (NPAGES % 64)),
		    "%s: bits past the end of the slot: %#lx", what,
		    (unsigned long)map[WORDS - 1]);
	TEST_ASSERT(!bad, "%s: %d pages wrongly reported", what, bad);
}

static bool none(int arg, int page)
{
	(void)arg; (void)page;
	return false;
}

static bool even(int from, int page)
{
	return !(page & 1) && page >= from;
}

static bool even_outside_cleared(int arg, int page)
{
	(void)arg;
	return !(page & 1) && page >= 64 && page < 192;
}

static void run_rounds(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t *mem)
{
	struct ucall uc;
	int r, p;

	check_log(vm, "before the guest ran", none, 0);
	for (r = 1; r <= ROUNDS; r++) {
		vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
		TEST_ASSERT_EQ(uc.args[0], r);
		check_log(vm, "round", written, r);
		/* cleared by the GET: nothing written since */
		check_log(vm, "second GET", none, 0);
		for (p = 0; p < NPAGES; p++) {
			if (written(r, p))
				TEST_ASSERT_EQ(mem[(p * PAGE_SIZE_4K +
						    (r * 8) % PAGE_SIZE_4K) / 8],
					       magic(r, p));
		}
	}
	ksft_print_msg("%d rounds: GET_DIRTY_LOG shows exactly the pages written: ok\n",
		       ROUNDS);
}

static void check_errnos(struct kvm_vm *vm)
{
	uint64_t map[WORDS] = {};
	uint64_t ones[4];

	memset(ones, 0xff, sizeof(ones));
	/* slots: absent, not logging, and no slot number at all */
	TEST_ASSERT_EQ(get_log(vm, 7, map), -ENOENT);
	TEST_ASSERT_EQ(get_log(vm, 0, map), -ENOENT);
	TEST_ASSERT_EQ(get_log(vm, 1 << 16 | SLOT, map), -ENOENT);
	TEST_ASSERT_EQ(get_log(vm, 2 << 16 | SLOT, map), -EINVAL);
	TEST_ASSERT_EQ(get_log(vm, 0x7fff, map), -EINVAL);
	TEST_ASSERT_EQ(get_log(vm, SLOT, (void *)8), -EFAULT);
	TEST_ASSERT_EQ(clear_log(vm, 7, 0, 64, ones), -ENOENT);
	TEST_ASSERT_EQ(clear_log(vm, 0, 0, 64, ones), -ENOENT);
	TEST_ASSERT_EQ(clear_log(vm, 2 << 16 | SLOT, 0, 64, ones), -EINVAL);
	/* ranges: 64-page aligned, within the slot, whole words but at its end */
	TEST_ASSERT_EQ(clear_log(vm, 7, 1, 63, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 1, 63, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 0, 65, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 128, 8, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 192, 64, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 256, 0, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 0, NPAGES + 1, ones), -EINVAL);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 0, 64, (void *)8), -EFAULT);
	ksft_print_msg("GET/CLEAR_DIRTY_LOG errnos: ok\n");
}

static void *race_vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], SYNC_RACE);
	return NULL;
}

static uint64_t race_val(const uint64_t *mem, int p)
{
	return __atomic_load_n(&mem[(p * PAGE_SIZE_4K +
				     (RACE_OFF * 8) % PAGE_SIZE_4K) / 8],
			       __ATOMIC_SEQ_CST);
}

/*
 * Collect the log while the guest writes.  A page whose content changed
 * between two reads of it made after two GETs was written before the
 * second GET (it must be in that log) or after it (in the next one).
 */
static void run_race(struct kvm_vm *vm, struct kvm_vcpu *vcpu, uint64_t *mem)
{
	static uint64_t prev[NPAGES];
	bool pending[NPAGES] = {};
	unsigned long changes = 0;
	uint64_t map[WORDS], now;
	pthread_t thread;
	int k, p;

	for (p = 0; p < NPAGES; p++)
		prev[p] = race_val(mem, p);
	TEST_ASSERT(!pthread_create(&thread, NULL, race_vcpu_thread, vcpu),
		    "pthread_create");
	for (k = 0; k <= RACE_GETS; k++) {
		if (k == RACE_GETS) {
			*(volatile uint64_t *)addr_gva2hva(vm, (uint64_t)&stop_race) = 1;
			TEST_ASSERT(!pthread_join(thread, NULL), "pthread_join");
		} else {
			usleep(500);
		}
		TEST_ASSERT_EQ(get_log(vm, SLOT, map), 0);
		for (p = 0; p < NPAGES; p++) {
			TEST_ASSERT(!pending[p] || test_bit64(map, p),
				    "GET %d: a write to page %d was never reported",
				    k, p);
			now = race_val(mem, p);
			/* the guest stopped before the last GET */
			pending[p] = now != prev[p] && !test_bit64(map, p);
			TEST_ASSERT(!(k == RACE_GETS && pending[p]),
				    "last GET: page %d written but clean", p);
			changes += now != prev[p];
			prev[p] = now;
		}
	}
	TEST_ASSERT(changes, "the guest wrote nothing while the log was read");
	ksft_print_msg("%d GETs during guest writes: no write lost (%lu page changes seen)\n",
		       RACE_GETS, changes);
}

static void enable_manual(struct kvm_vm *vm, uint64_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args[0] = flags,
	};

	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

static int enable_manual_err(struct kvm_vm *vm, uint64_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .args[0] = flags,
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

static void run_manual(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	uint64_t ones[WORDS];
	struct ucall uc;

	memset(ones, 0xff, sizeof(ones));
	TEST_ASSERT_EQ(enable_manual_err(vm, KVM_DIRTY_LOG_INITIALLY_SET), -EINVAL);
	TEST_ASSERT_EQ(enable_manual_err(vm, 4), -EINVAL);
	TEST_ASSERT_EQ(enable_manual_err(vm, MANUAL_CAPS | 4), -EINVAL);
	enable_manual(vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], SYNC_MANUAL_1);
	check_log(vm, "manual", even, 0);
	check_log(vm, "manual, GET again", even, 0);
	/* pages 0-63, and 192 to the end of the slot (a partial word) */
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 0, 64, ones), 0);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 192, NPAGES - 192, ones), 0);
	check_log(vm, "after CLEAR", even_outside_cleared, 0);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], SYNC_MANUAL_2);
	/* the cleared pages are dirty again, the others still are */
	check_log(vm, "rewritten after CLEAR", even, 0);
	TEST_ASSERT_EQ(clear_log(vm, SLOT, 0, NPAGES, ones), 0);
	check_log(vm, "after CLEAR of all", none, 0);
	ksft_print_msg("manual protect: GET keeps, CLEAR clears and re-arms: ok\n");
}

static bool initset_pages(int arg, int page)
{
	(void)arg;
	return page == 1 || page == 5 || page == 70;
}

/* Slot 2 starts logging by a flags-only change, all pages dirty. */
static void run_initially_set(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_userspace_memory_region *mr = &memslot2region(vm, SLOT2)->region;
	uint64_t map[NPAGES2 / 64], ones[NPAGES2 / 64];
	struct ucall uc;
	int p;

	enable_manual(vm, MANUAL_CAPS);
	mr->flags = KVM_MEM_LOG_DIRTY_PAGES;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, mr);
	TEST_ASSERT_EQ(get_log(vm, SLOT2, map), 0);
	for (p = 0; p < NPAGES2; p++)
		TEST_ASSERT(test_bit64(map, p), "INITIALLY_SET: page %d clean", p);
	memset(ones, 0xff, sizeof(ones));
	TEST_ASSERT_EQ(clear_log(vm, SLOT2, 0, NPAGES2, ones), 0);

	vcpu_run_ucall(vcpu, UCALL_SYNC, &uc);
	TEST_ASSERT_EQ(uc.args[0], SYNC_INITSET);
	TEST_ASSERT_EQ(get_log(vm, SLOT2, map), 0);
	for (p = 0; p < NPAGES2; p++)
		TEST_ASSERT(test_bit64(map, p) == initset_pages(0, p),
			    "slot 2: page %d is %s", p,
			    test_bit64(map, p) ? "dirty" : "clean");

	/* logging off by a flags-only change: no log any more */
	mr->flags = 0;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, mr);
	TEST_ASSERT_EQ(get_log(vm, SLOT2, map), -ENOENT);
	ksft_print_msg("INITIALLY_SET on a flags-only change: ok\n");
}

int main(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *mem;
	int r;

	r = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	if (!r)
		ksft_exit_skip("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 not offered\n");
	TEST_ASSERT_EQ(r, MANUAL_CAPS);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code, VM_MODE_LONG_4K);
	vm_userspace_mem_region_add(vm, SLOT, GPA, NPAGES, KVM_MEM_LOG_DIRTY_PAGES);
	vm_userspace_mem_region_add(vm, SLOT2, GPA2, NPAGES2, 0);
	virt_map(vm, GPA, GPA, NPAGES * PAGE_SIZE_4K);
	virt_map(vm, GPA2, GPA2, NPAGES2 * PAGE_SIZE_4K);
	mem = memslot2region(vm, SLOT)->host_mem;

	run_rounds(vm, vcpu, mem);
	check_errnos(vm);
	run_race(vm, vcpu, mem);
	run_manual(vm, vcpu);
	run_initially_set(vm, vcpu);
	vcpu_run_ucall(vcpu, UCALL_DONE, NULL);
	kvm_vm_free(vm);
	ksft_exit_pass();
}
