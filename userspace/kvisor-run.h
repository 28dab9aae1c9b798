/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvisor-run: what the runner's parts share.
 *
 *   kvisor-run.c  command line, --info, main()
 *   load.c        the guest image: flat binary or ELF, copied into RAM
 *   cpu.c         the VM, its memory, and the vCPU's starting mode
 *   run.c         the KVM_RUN loop, the emulated devices, the summary
 */
#ifndef KVISOR_RUN_H
#define KVISOR_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define PROG	"kvisor-run"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT_ULL(n)	(1ULL << (n))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))

/*
 * Guest physical memory: RAM from 0 up to the size asked for.  Everything
 * else is MMIO.  RAM stays below 3 GiB so that the top of the first 4 GiB,
 * where PCs keep their devices, is always MMIO.
 */
#define MAX_MEM_MB	3072ULL
#define MMIO_LIMIT	0x100000000ULL	/* long mode maps 0 .. 4 GiB */

/*
 * The tables that protected and long mode need (GDT, page tables) live in
 * low guest RAM, where neither the default flat load address (1 MiB) nor a
 * usual ELF link address puts anything.
 */
#define BOOT_GDT	0x1000ULL
#define BOOT_PML4	0x2000ULL
#define BOOT_PDPT	0x3000ULL
#define BOOT_PD		0x4000ULL	/* 4 PDs: 0x4000 .. 0x7fff */
#define BOOT_END	0x8000ULL

/* Exit statuses of the runner itself (a guest picks its own via port 0xf4). */
#define STATUS_HALT		0
#define STATUS_SHUTDOWN		1
#define STATUS_FAILED		2	/* also: bad command line */
#define STATUS_STOPPED		3	/* --max-exits, --timeout, a signal */
#define STATUS_SETUP		125	/* the runner could not set up the VM */

enum cpu_mode { MODE_AUTO, MODE_REAL, MODE_PROT32, MODE_LONG };

struct options {
	const char *dev;
	const char *guest;
	enum cpu_mode mode;
	uint64_t mem_mb;
	uint64_t load;
	bool load_set;
	uint64_t entry;
	bool entry_set;
	uint64_t max_exits;		/* 0: no limit */
	unsigned int timeout;		/* seconds, 0: none */
	bool quiet;
};

/* What load.c found in the guest file and put in guest RAM. */
struct image {
	int elf_class;			/* 0 (flat), ELFCLASS32 or ELFCLASS64 */
	uint64_t entry;
	uint64_t lo, hi;		/* guest physical range written */
	uint64_t real_base;		/* real mode: segment base (CS*16) */
};

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	uint8_t *ram;
	uint64_t ram_size;
	enum cpu_mode mode;
};

/* load.c */
int load_guest(struct vm *vm, const struct options *o, struct image *img);

/* cpu.c */
int vm_create(struct vm *vm, const struct options *o);
int vcpu_setup(struct vm *vm, const struct image *img);
const char *mode_name(enum cpu_mode mode);

/* run.c */
int run_guest(struct vm *vm, const struct options *o);

/* kvisor-run.c */
__printf(1, 2) int fail(const char *fmt, ...);
void explain_missing_dev(const char *dev);

#endif
