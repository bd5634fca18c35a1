// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Truncated mapped files read as zeros, not SIGBUS (mapguard.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "util/gaveup.h"
#include "util/mapguard.h"

static uintptr_t page_mask;

/*
 * BUS_ADRERR is the kernel's "no page of the file there" (a mapping past
 * the file's end); a machine-check error or anything else is not ours to
 * hide.  mmap over the page is async-signal-safe in practice (one system
 * call), and the faulting read is then retried on the zeros.
 */
static void on_sigbus(int sig, siginfo_t *info, void *ucontext)
{
	void *page = (void *)((uintptr_t)info->si_addr & page_mask);
	int saved_errno = errno;

	(void)ucontext;
	if (info->si_code != BUS_ADRERR || !page ||
	    mmap(page, ~page_mask + 1, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		/* the retried access raises it again, now fatal as it was */
		signal(sig, SIG_DFL);
	} else {
		gaveup__count(GAVEUP_MAPPED_FILE_TRUNCATED);
	}
	errno = saved_errno;
}

int mapguard__install(void)
{
	struct sigaction action;
	long page_size = sysconf(_SC_PAGESIZE);

	if (page_size <= 0)
		return -EINVAL;
	page_mask = ~((uintptr_t)page_size - 1);
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = on_sigbus;
	action.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&action.sa_mask);
	return sigaction(SIGBUS, &action, NULL) ? -errno : 0;
}
