// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The seccomp filters (sandbox.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cli/options.h"
#include "cli/sandbox.h"

/* make SANITIZE=1 (gcc says __SANITIZE_ADDRESS__, clang __has_feature) */
#if defined(__SANITIZE_ADDRESS__)
#define PW_SANITIZED 1
#elif defined(__has_feature)
#define PW_SANITIZED __has_feature(address_sanitizer)
#else
#define PW_SANITIZED 0
#endif

#define SYSCALL_NAMES_MAX 512

/*
 * What the main process calls once running, found by running the
 * integration suite under the filter (and strace -f of every mode): the
 * collector (bpf, /proc and process memory through fds), the HTTP server's
 * threads and sockets, the netlink sock_diag of fds, -o's last steps, and
 * what glibc needs for them (memory, threads, futexes, signals).
 */
static const int main_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pread64), SCMP_SYS(lseek),
	SCMP_SYS(close), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(newfstatat),
	SCMP_SYS(fstat), SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(getxattr),
	SCMP_SYS(fcntl), SCMP_SYS(ioctl), SCMP_SYS(fsync), SCMP_SYS(eventfd2),
	SCMP_SYS(process_vm_readv),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(futex), SCMP_SYS(sched_yield),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(getrusage), SCMP_SYS(prctl),
	SCMP_SYS(getrandom), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(uname), /* parkwatch_build_info's kernel and machine */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(restart_syscall), SCMP_SYS(tgkill),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(pselect6),
	SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(accept4), SCMP_SYS(getsockname),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(shutdown), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	/* --http unix:PATH's socket removed at exit: as --user, where it may */
	SCMP_SYS(unlink), SCMP_SYS(unlinkat),
#if PW_SANITIZED
	/* make SANITIZE=1: ASan gives each new thread an alternate signal stack
	 * and looks at the CPUs it may run on */
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity),
#endif
};

/* The broker: requests in, fds (or a /proc/PID/syscall line) out, and -o's
 * one link into place. */
static const int broker_syscalls[] = {
	SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(readlink), SCMP_SYS(read),
	SCMP_SYS(newfstatat),
	SCMP_SYS(fstat), SCMP_SYS(close), SCMP_SYS(write), SCMP_SYS(brk), SCMP_SYS(mmap),
	SCMP_SYS(munmap), SCMP_SYS(getrandom), SCMP_SYS(linkat), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(exit), SCMP_SYS(exit_group),
#if PW_SANITIZED
	SCMP_SYS(sigaltstack),      /* ASan's, as above */
#endif
};

/* Names looked up before the filter is in place: the handler can't allocate. */
static char *syscall_names[SYSCALL_NAMES_MAX];

static void say(const char *text)
{
	(void)!write(STDERR_FILENO, text, strlen(text));
}

static void on_blocked_syscall(int sig, siginfo_t *info, void *context)
{
	int nr = info->si_syscall;

	(void)sig;
	(void)context;
	say("parkwatch: seccomp: blocked system call ");
	say(nr >= 0 && nr < SYSCALL_NAMES_MAX && syscall_names[nr] ? syscall_names[nr] : "?");
	say("\n");
	/* the system call itself: a sanitizer's _exit would first check for
	 * leaks, which the filter forbids */
	syscall(SYS_exit_group, EXIT_FAILURE_OTHER);
}

static int trap_blocked(void)
{
	struct sigaction action = { .sa_sigaction = on_blocked_syscall, .sa_flags = SA_SIGINFO };

	for (int nr = 0; nr < SYSCALL_NAMES_MAX; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigemptyset(&action.sa_mask);
	return sigaction(SIGSYS, &action, NULL) ? -errno : 0;
}

static int allow_all(scmp_filter_ctx filter, const int *syscalls, size_t count)
{
	int err = 0;

	for (size_t i = 0; i < count && !err; i++)
		err = seccomp_rule_add(filter, SCMP_ACT_ALLOW, syscalls[i], 0);
	return err;
}

/* bpf(2) on what is loaded (map reads, the snapshot iterator), never
 * BPF_MAP_CREATE (0) nor BPF_PROG_LOAD (5) */
static int allow_bpf_use(scmp_filter_ctx filter)
{
	int err = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
				   SCMP_A0(SCMP_CMP_GT, BPF_PROG_LOAD, 0));

	for (int cmd = BPF_MAP_CREATE + 1; cmd < BPF_PROG_LOAD && !err; cmd++)
		err = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
				       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)cmd, 0));
	return err;
}

/* kill(pid, 0) only: whether a process is gone (the drain of exited
 * threads' totals); getrlimit (prlimit64 setting nothing): the fd budget */
static int allow_probes(scmp_filter_ctx filter)
{
	int err = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A1(SCMP_CMP_EQ, 0, 0));

	if (!err)
		err = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				       SCMP_A2(SCMP_CMP_EQ, 0, 0));
	return err;
}

/* A filter that traps whatever it doesn't allow, into *filter; 0 or -errno. */
static int trapping_filter(scmp_filter_ctx *filter)
{
	int err = trap_blocked();

	if (err)
		return err;
	*filter = seccomp_init(SCMP_ACT_TRAP);
	return *filter ? 0 : -ENOMEM;
}

int sandbox__enter_main(void)
{
	scmp_filter_ctx filter;
	int err = trapping_filter(&filter);

	if (err)
		return err;
	err = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = allow_all(filter, main_syscalls, sizeof(main_syscalls) / sizeof(main_syscalls[0]));
	if (!err)
		err = allow_bpf_use(filter);
	if (!err)
		err = allow_probes(filter);
	if (!err)
		err = seccomp_load(filter);
	seccomp_release(filter);
	return err;
}

int sandbox__enter_broker(void)
{
	/* read-only, and nothing created, truncated or appended to */
	const scmp_datum_t denied = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND |
				    (O_TMPFILE & ~O_DIRECTORY);
	scmp_filter_ctx filter;
	int err = trapping_filter(&filter);

	if (err)
		return err;
	err = allow_all(filter, broker_syscalls, sizeof(broker_syscalls) / sizeof(broker_syscalls[0]));
	if (!err)
		err = seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, denied, 0));
	if (!err)
		err = seccomp_load(filter);
	seccomp_release(filter);
	return err;
}
