// SPDX-License-Identifier: GPL-2.0
/*
 * kvisor-run: the tiny userspace runner.
 *
 *   kvisor-run --info [DEVICE]
 *	print what the KVM device answers: API version, vCPU mapping
 *	size, every capability it advertises, and whether a VM can be made.
 *
 *   kvisor-run [OPTIONS] GUEST
 *	run a flat binary or an ELF executable on one vCPU, with a serial
 *	port and a debug-exit port, and print a summary of the exits.
 *
 *   kvisor-run --version
 *	print kvisor's version (the module's, when both come from one tree).
 *
 * It uses the plain /dev/kvm ioctls only (no in-kernel irqchip, no CPUID
 * or MSR setup), so it runs on kvisor as well as on in-tree KVM.  The
 * work is split over load.c (the image), cpu.c (VM, memory, vCPU mode)
 * and run.c (the exit loop and the devices).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvisor-run.h"

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
#include "caps.h"
};

static const char *cap_name(int cap)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (cap_names[i].cap == cap)
			return cap_names[i].name;
	return "?";
}

int fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* The node name of a loaded kvisor (its devname parameter), or NULL. */
static const char *kvisor_devname(void)
{
	static char name[64];
	FILE *f = fopen("/sys/module/kvisor/parameters/devname", "r");
	bool ok;

	if (!f)
		return NULL;
	ok = fscanf(f, "%63s", name) == 1;
	fclose(f);
	return ok ? name : NULL;
}

/*
 * The device is missing: say in one line which hypervisor module is loaded
 * and where its node is, or how to load kvisor.
 */
void explain_missing_dev(const char *dev)
{
	static const char * const intree[] = { "kvm_intel", "kvm_amd" };
	const char *name = kvisor_devname();
	char path[80];
	size_t i;

	if (name) {
		snprintf(path, sizeof(path), "/dev/%s", name);
		if (strcmp(dev, path))
			fail("kvisor is loaded with devname=%s: use --dev %s",
			     name, path);
		else
			fail("kvisor is loaded, but %s is missing: is devtmpfs mounted on /dev?",
			     path);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(intree); i++) {
		/* initstate: only a loaded module has it, a built-in one not */
		snprintf(path, sizeof(path), "/sys/module/%s/initstate",
			 intree[i]);
		if (!access(path, F_OK)) {
			fail("%s (in-tree KVM) is loaded, as /dev/kvm; kvisor is not: %s",
			     intree[i],
			     "rmmod it, or insmod module/kvisor.ko devname=kvisor beside it");
			return;
		}
	}
	fail("kvisor is not loaded: %s",
	     "insmod module/kvisor.ko, or modprobe kvisor once installed (devname=NAME makes /dev/NAME instead of /dev/kvm)");
}

static int info(const char *dev)
{
	int kvm, vm, cap, r, n = 0;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		r = errno;
		fprintf(stderr, "kvisor-run: %s: %s\n", dev, strerror(r));
		if (r == ENOENT)
			explain_missing_dev(dev);
		return 1;
	}
	printf("%s: KVM_GET_API_VERSION = %d\n", dev,
	       ioctl(kvm, KVM_GET_API_VERSION, 0));
	printf("%s: KVM_GET_VCPU_MMAP_SIZE = %d\n", dev,
	       ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	for (cap = 0; cap < 1024; cap++) {
		r = ioctl(kvm, KVM_CHECK_EXTENSION, cap);
		if (r > 0) {
			printf("%s: KVM_CHECK_EXTENSION(%s) = %d\n", dev,
			       cap_name(cap), r);
			n++;
		}
	}
	printf("%s: %d capabilities advertised\n", dev, n);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		printf("%s: KVM_CREATE_VM failed: %s\n", dev, strerror(errno));
	else
		printf("%s: KVM_CREATE_VM = fd %d\n", dev, vm);
	close(vm);
	close(kvm);
	return vm < 0;
}

static const char usage_text[] =
"usage: kvisor-run --info [DEVICE]\n"
"       kvisor-run [OPTIONS] GUEST\n"
"       kvisor-run --version\n"
"\n"
"Run GUEST, a flat binary or an ELF32/ELF64 executable, on one vCPU.\n"
"\n"
"  --mode long|real|prot32  CPU mode at entry (default: long for ELF64,\n"
"                           prot32 for ELF32, real for flat binaries)\n"
"  --mem MB                 guest RAM at address 0 (default 64, max 3072)\n"
"  --load ADDR              where a flat binary goes (default 0x7c00 in\n"
"                           real mode, 0x100000 otherwise)\n"
"  --entry ADDR             start address (default: ELF e_entry, or the\n"
"                           load address of a flat binary)\n"
"  --dev PATH               KVM device (default $KVM_DEV, else /dev/kvm)\n"
"  --max-exits N            stop after N exits (default: no limit)\n"
"  --timeout SECONDS        stop after this much wall time\n"
"  -q, --quiet              no exit summary unless the run failed\n"
"  -h, --help               this text\n"
"  --version                print kvisor's version\n"
"\n"
"Entry state: long mode has the first 4 GiB identity-mapped with 2 MiB\n"
"pages, CS 64-bit, RSP at the top of RAM; prot32 has flat 4 GiB segments,\n"
"paging off, ESP at the top of RAM; real mode has CS = DS = ES = SS =\n"
"load >> 4 (0 for an ELF), IP = entry - CS * 16, SP = 0xfff0.\n"
"GDT and page tables sit at 0x1000-0x7fff.  ELF PT_LOAD segments go to\n"
"their p_paddr.\n"
"\n"
"Devices: a 16550 UART at 0x3f8 (output to stdout); port 0xf4 ends the run\n"
"with the value written as exit status; other ports read 0xff, MMIO\n"
"(any address outside RAM) reads 0.  Writes elsewhere are only counted.\n"
"\n"
"Exit status: 0 guest halted, 1 triple fault, 2 entry failure, internal\n"
"error or bad usage, 3 stopped (--max-exits, --timeout, signal), 125 setup\n"
"failed, else the value the guest wrote to port 0xf4.\n";

/* The whole text for --help; the synopsis only after a mistake. */
static void __noreturn usage(int status)
{
	if (status) {
		fprintf(stderr, "%.*s(kvisor-run --help for the options)\n",
			(int)(strstr(usage_text, "\n\n") + 1 - usage_text),
			usage_text);
	} else {
		fputs(usage_text, stdout);
	}
	exit(status);
}

/* A number in C syntax (0x.. for hex), all of the string, in [min, max]. */
static uint64_t number(const char *opt, const char *s, uint64_t min,
		       uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fail("%s: bad value '%s'", opt, s);
		usage(STATUS_FAILED);
	}
	return v;
}

static enum cpu_mode parse_mode(const char *s)
{
	if (!strcmp(s, "long"))
		return MODE_LONG;
	if (!strcmp(s, "prot32"))
		return MODE_PROT32;
	if (!strcmp(s, "real"))
		return MODE_REAL;
	fail("--mode: '%s' is not long, prot32 or real", s);
	usage(STATUS_FAILED);
}

/* Long options only: values above any character getopt_long() returns. */
enum {
	OPT_MODE = 256, OPT_MEM, OPT_LOAD, OPT_ENTRY, OPT_DEV, OPT_MAX_EXITS,
	OPT_TIMEOUT, OPT_VERSION,
};

static const struct option long_options[] = {
	{ "mode",	required_argument,	NULL, OPT_MODE },
	{ "mem",	required_argument,	NULL, OPT_MEM },
	{ "load",	required_argument,	NULL, OPT_LOAD },
	{ "entry",	required_argument,	NULL, OPT_ENTRY },
	{ "dev",	required_argument,	NULL, OPT_DEV },
	{ "max-exits",	required_argument,	NULL, OPT_MAX_EXITS },
	{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
	{ "quiet",	no_argument,		NULL, 'q' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, OPT_VERSION },
	{ }
};

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "+qh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_MODE:
			o->mode = parse_mode(optarg);
			break;
		case OPT_MEM:
			o->mem_mb = number("--mem", optarg, 1, MAX_MEM_MB);
			break;
		case OPT_LOAD:
			o->load = number("--load", optarg, 0, MMIO_LIMIT - 1);
			o->load_set = true;
			break;
		case OPT_ENTRY:
			o->entry = number("--entry", optarg, 0, UINT64_MAX);
			o->entry_set = true;
			break;
		case OPT_DEV:
			o->dev = optarg;
			break;
		case OPT_MAX_EXITS:
			o->max_exits = number("--max-exits", optarg, 0, UINT64_MAX);
			break;
		case OPT_TIMEOUT:
			o->timeout = number("--timeout", optarg, 0, 86400);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(0);
		case OPT_VERSION:
			printf(PROG " %s\n", KVISOR_VERSION);
			exit(0);
		default:
			usage(STATUS_FAILED);
		}
	}
	if (optind != argc - 1)
		usage(STATUS_FAILED);
	o->guest = argv[optind];
}

/* One line on what is about to run, before the guest's own output. */
static void describe_guest(const struct options *o, const struct image *img,
			   const struct vm *vm)
{
	const char *format = img->elf_class == ELFCLASS64 ? "ELF64" :
			     img->elf_class == ELFCLASS32 ? "ELF32" :
			     "flat binary";

	fprintf(stderr, PROG ": %s: %s at %#llx-%#llx, %s mode, entry %#llx, ",
		o->guest, format, (unsigned long long)img->lo,
		(unsigned long long)img->hi, mode_name(vm->mode),
		(unsigned long long)img->entry);
	fprintf(stderr, "%llu MiB RAM\n", (unsigned long long)o->mem_mb);
}

int main(int argc, char **argv)
{
	const char *dev = getenv("KVM_DEV");
	struct options o = { .mem_mb = 64 };
	struct image img;
	struct vm vm;

	if (!dev || !*dev)
		dev = "/dev/kvm";
	if (argc >= 2 && !strcmp(argv[1], "--info"))
		return info(argc >= 3 ? argv[2] : dev);

	o.dev = dev;
	parse_options(argc, argv, &o);
	if (vm_create(&vm, &o) || load_guest(&vm, &o, &img) ||
	    vcpu_setup(&vm, &img))
		return STATUS_SETUP;
	if (!o.quiet)
		describe_guest(&o, &img, &vm);
	return run_guest(&vm, &o);
}
