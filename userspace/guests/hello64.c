// SPDX-License-Identifier: GPL-2.0
/*
 * hello64.c - a freestanding 64-bit guest for kvisor-run.
 *
 * kvisor-run starts it in long mode at _start (start64.S), with the first
 * 4 GiB identity-mapped, RSP at the top of RAM and no IDT: an exception
 * would end the run as a triple fault.  The guest sees only what the
 * runner emulates: the COM1 UART, MMIO that reads as zero, and the
 * debug-exit port, which main()'s return value goes to.
 */
#include <stdint.h>

#define COM1_THR	0x3f8		/* transmit holding register */
#define COM1_LSR	0x3fd		/* line status register */
#define LSR_THRE	0x20		/* transmit holding register empty */

/* No RAM there, so every access leaves the guest as a KVM_EXIT_MMIO. */
#define MMIO_BASE	0xd0000000UL

#define NR_PRIMES	20

static inline void out8(uint16_t port, uint8_t val)
{
	asm volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t in8(uint16_t port)
{
	uint8_t val;

	asm volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/* Wait for room in the transmitter, as a real 16550 wants, then send. */
static void serial_putc(char c)
{
	while (!(in8(COM1_LSR) & LSR_THRE))
		;
	out8(COM1_THR, c);
}

static void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void serial_put_num(uint64_t v, unsigned int base)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16)
		serial_puts("0x");
	serial_puts(buf + i);
}

/* Writes and reads to a device that is not there: the runner counts them. */
static void mmio_demo(void)
{
	volatile uint32_t *dev = (volatile uint32_t *)MMIO_BASE;
	uint32_t sum = 0;
	int i;

	for (i = 0; i < 4; i++)
		dev[i] = 0x1000 + i;
	for (i = 0; i < 4; i++)
		sum += dev[i];
	serial_puts("MMIO: 4 writes and 4 reads at ");
	serial_put_num(MMIO_BASE, 16);
	serial_puts(", the reads add up to ");
	serial_put_num(sum, 16);
	serial_puts("\n");
}

/* Something to compute: the first primes, by trial division. */
static void primes_demo(void)
{
	uint64_t n, d;
	int found = 0;

	serial_puts("The first 20 primes:");
	for (n = 2; found < NR_PRIMES; n++) {
		for (d = 2; d * d <= n; d++)
			if (n % d == 0)
				break;
		if (d * d > n) {
			serial_puts(" ");
			serial_put_num(n, 10);
			found++;
		}
	}
	serial_puts("\n");
}

int main(void)
{
	uint64_t rsp;

	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	serial_puts("Hello from 64-bit long mode (hello64, a kvisor-run demo guest)\n");
	serial_puts("Stack at ");
	serial_put_num(rsp, 16);
	serial_puts(", code at ");
	serial_put_num((uintptr_t)main, 16);
	serial_puts("\n");
	mmio_demo();
	primes_demo();
	serial_puts("Leaving through port 0xf4 with status 0\n");
	return 0;
}
