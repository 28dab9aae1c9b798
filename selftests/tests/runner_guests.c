// SPDX-License-Identifier: GPL-2.0
/*
 * runner_guests: kvisor-run, the bundled runner, runs its demo guests on
 * the hypervisor under test: a real-mode flat binary, a 64-bit ELF that
 * does MMIO, and a guest that triple-faults.  Checks what each printed on
 * its serial port, the runner's exit status and its exit summary.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

struct demo {
	const char *guest;
	int status;
	const char *expect[3];	/* must all appear in the output */
};

static const struct demo demos[] = {
	{ "hello16.bin", 0, { "Hello from real mode", "guest halted",
			      "KVM_EXIT_HLT" } },
	{ "hello64.elf", 0, { "The first 20 primes: 2 3 5 7 11 13 17 19 23 29",
			      "4 writes and 4 reads at 0xd0000000",
			      "KVM_EXIT_MMIO" } },
	{ "triple16.bin", 1, { "triple fault", "KVM_EXIT_SHUTDOWN", NULL } },
};

/* Run @argv with stdout and stderr into @buf; returns the exit status. */
static int run(char *const argv[], char *buf, size_t len)
{
	int pipefd[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	TEST_ASSERT(!pipe(pipefd), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (n < len - 1 && (r = read(pipefd[0], buf + n, len - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	close(pipefd[0]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status), "the runner died (status %#x)", status);
	return WEXITSTATUS(status);
}

int main(void)
{
	const char *dir = getenv("KVISOR_RUN_DIR");
	char runner[256], guest[256], out[16384];
	struct stat st;
	unsigned int i, j;

	if (!dir || !*dir)
		dir = "/kvisor";
	snprintf(runner, sizeof(runner), "%s/kvisor-run", dir);
	if (stat(runner, &st))
		ksft_exit_skip("no runner at %s\n", runner);

	for (i = 0; i < sizeof(demos) / sizeof(demos[0]); i++) {
		const struct demo *d = &demos[i];
		char *argv[] = { runner, "--timeout", "60", guest, NULL };
		int status;

		snprintf(guest, sizeof(guest), "%s/guests/%s", dir, d->guest);
		TEST_ASSERT(!stat(guest, &st), "no guest %s", guest);
		status = run(argv, out, sizeof(out));
		TEST_ASSERT(status == d->status,
			    "%s: exit status %d, expected %d; output:\n%s",
			    d->guest, status, d->status, out);
		for (j = 0; j < 3 && d->expect[j]; j++)
			TEST_ASSERT(strstr(out, d->expect[j]),
				    "%s: no \"%s\" in the output:\n%s",
				    d->guest, d->expect[j], out);
		ksft_print_msg("%s: status %d, output as expected\n",
			       d->guest, status);
	}
	ksft_exit_pass();
}
