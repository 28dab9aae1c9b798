// SPDX-License-Identifier: GPL-2.0
/*
 * The guest image, and how it gets into guest RAM.
 *
 * The guest file is either a flat binary, copied as it is to one address,
 * or an ELF executable, whose PT_LOAD program headers say which bytes of
 * the file go where.  The runner's page tables map virtual addresses 1:1
 * onto physical ones, so a segment goes to its physical address (p_paddr)
 * and the entry point (e_entry) can be used as it is.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvisor-run.h"

#define FLAT_LOAD_REAL	0x7c00ULL	/* where a PC BIOS puts a boot sector */
#define FLAT_LOAD	0x100000ULL	/* 1 MiB, above the real-mode area */

/* One PT_LOAD segment, whichever the ELF class. */
struct segment {
	uint64_t paddr, offset, filesz, memsz;
};

static int read_file(const char *path, uint8_t **buf, size_t *len,
		     uint64_t max)
{
	struct stat st;
	ssize_t n;
	size_t done = 0;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || (uint64_t)st.st_size > max) {
		close(fd);
		return fail("%s: not a regular file that fits in guest RAM",
			    path);
	}
	*len = st.st_size;
	*buf = malloc(*len + 1);
	while (*buf && done < *len) {
		n = read(fd, *buf + done, *len - done);
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	if (!*buf || done != *len) {
		free(*buf);
		return fail("%s: cannot read it", path);
	}
	return 0;
}

/* Copy @filesz bytes to guest address @addr and zero the rest of @memsz. */
static int place(struct vm *vm, struct image *img, uint64_t addr,
		 const uint8_t *src, uint64_t filesz, uint64_t memsz)
{
	if (addr >= vm->ram_size || memsz > vm->ram_size - addr)
		return fail("%#llx-%#llx is outside guest RAM (0-%#llx)",
			    (unsigned long long)addr,
			    (unsigned long long)(addr + memsz),
			    (unsigned long long)vm->ram_size);
	memcpy(vm->ram + addr, src, filesz);
	/* What the file does not hold (.bss) starts out as zeroes. */
	memset(vm->ram + addr + filesz, 0, memsz - filesz);
	if (img->lo > addr)
		img->lo = addr;
	if (img->hi < addr + memsz)
		img->hi = addr + memsz;
	return 0;
}

/* Program header @i, or -1 if the file is too short to hold it. */
static int elf_segment(const uint8_t *buf, size_t len, int class,
		       uint64_t phoff, unsigned int i, uint32_t *type,
		       struct segment *s)
{
	Elf64_Phdr p64;
	Elf32_Phdr p32;
	size_t size = class == ELFCLASS64 ? sizeof(p64) : sizeof(p32);

	if (phoff > len || (len - phoff) / size <= i)
		return -1;
	/* memcpy: nothing promises that the headers are aligned. */
	if (class == ELFCLASS64) {
		memcpy(&p64, buf + phoff + i * size, size);
		*type = p64.p_type;
		*s = (struct segment){ p64.p_paddr, p64.p_offset,
				       p64.p_filesz, p64.p_memsz };
	} else {
		memcpy(&p32, buf + phoff + i * size, size);
		*type = p32.p_type;
		*s = (struct segment){ p32.p_paddr, p32.p_offset,
				       p32.p_filesz, p32.p_memsz };
	}
	return 0;
}

static int load_elf(struct vm *vm, const char *path, const uint8_t *buf,
		    size_t len, struct image *img)
{
	int class = buf[EI_CLASS];
	unsigned int i, phnum, machine, type;
	uint64_t phoff;
	struct segment s;
	uint32_t ptype;

	if (class == ELFCLASS64 && len >= sizeof(Elf64_Ehdr)) {
		const Elf64_Ehdr *e = (const Elf64_Ehdr *)buf;

		type = e->e_type;
		machine = e->e_machine;
		img->entry = e->e_entry;
		phoff = e->e_phoff;
		phnum = e->e_phnum;
		if (machine != EM_X86_64)
			return fail("%s: ELF64 but not x86-64", path);
	} else if (class == ELFCLASS32 && len >= sizeof(Elf32_Ehdr)) {
		const Elf32_Ehdr *e = (const Elf32_Ehdr *)buf;

		type = e->e_type;
		machine = e->e_machine;
		img->entry = e->e_entry;
		phoff = e->e_phoff;
		phnum = e->e_phnum;
		if (machine != EM_386)
			return fail("%s: ELF32 but not i386", path);
	} else {
		return fail("%s: not an ELF32 or ELF64 file", path);
	}
	if (buf[EI_DATA] != ELFDATA2LSB)
		return fail("%s: not little-endian", path);
	/* Nothing here relocates: a position-independent file has no place. */
	if (type != ET_EXEC)
		return fail("%s: not an ELF executable (link with -no-pie)",
			    path);

	img->elf_class = class;
	for (i = 0; i < phnum; i++) {
		if (elf_segment(buf, len, class, phoff, i, &ptype, &s))
			return fail("%s: truncated program headers", path);
		if (ptype != PT_LOAD || !s.memsz)
			continue;
		if (s.filesz > s.memsz || s.offset > len ||
		    s.filesz > len - s.offset)
			return fail("%s: segment %u lies outside the file",
				    path, i);
		if (place(vm, img, s.paddr, buf + s.offset, s.filesz, s.memsz))
			return fail("%s: segment %u does not fit", path, i);
	}
	if (img->lo >= img->hi)
		return fail("%s: no PT_LOAD segment", path);
	return 0;
}

/* The runner's own tables must survive, and the CPU must find the code. */
static int check_layout(const struct vm *vm, const char *path,
			const struct image *img)
{
	uint64_t ip = img->entry - img->real_base;

	if (img->entry >= vm->ram_size)
		return fail("%s: entry %#llx is not in guest RAM", path,
			    (unsigned long long)img->entry);
	if (vm->mode == MODE_REAL) {
		/* CS is 16 bits, IP is 16 bits, SS:SP at the segment's top. */
		if (img->real_base > 0xffff0 || img->entry < img->real_base ||
		    ip > 0xffff || img->real_base + 0x10000 > vm->ram_size)
			return fail("%s: real mode cannot reach entry %#llx from CS %#llx",
				    path, (unsigned long long)img->entry,
				    (unsigned long long)img->real_base >> 4);
		return 0;
	}
	if (img->lo < BOOT_END && img->hi > BOOT_GDT)
		return fail("%s: %#llx-%#llx overlaps the runner's tables at %#llx-%#llx",
			    path, (unsigned long long)img->lo,
			    (unsigned long long)img->hi,
			    (unsigned long long)BOOT_GDT,
			    (unsigned long long)BOOT_END);
	return 0;
}

static enum cpu_mode default_mode(int elf_class)
{
	if (elf_class == ELFCLASS64)
		return MODE_LONG;
	if (elf_class == ELFCLASS32)
		return MODE_PROT32;
	return MODE_REAL;
}

int load_guest(struct vm *vm, const struct options *o, struct image *img)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (read_file(o->guest, &buf, &len, vm->ram_size))
		return -1;
	*img = (struct image){ .lo = UINT64_MAX };

	if (len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG)) {
		r = load_elf(vm, o->guest, buf, len, img);
		vm->mode = o->mode ? o->mode : default_mode(img->elf_class);
	} else {
		vm->mode = o->mode ? o->mode : MODE_REAL;
		if (o->load_set)
			img->entry = o->load;
		else
			img->entry = vm->mode == MODE_REAL ? FLAT_LOAD_REAL :
							     FLAT_LOAD;
		/* In real mode the segments start at the image. */
		img->real_base = img->entry & ~0xfULL;
		r = place(vm, img, img->entry, buf, len, len);
		if (!r && !len)
			r = fail("%s: empty file", o->guest);
	}
	free(buf);
	if (r)
		return r;
	if (o->entry_set)
		img->entry = o->entry;
	return check_layout(vm, o->guest, img);
}
