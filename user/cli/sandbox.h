/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The seccomp filters (libseccomp): the main process's, the system calls
 * parkwatch makes once running, and the broker's, a handful.  A call
 * outside them is trapped: one stderr line "parkwatch: seccomp: blocked
 * system call NAME" and exit status 1, rather than a failure that would
 * quietly change the output.
 */
#ifndef PARKWATCH_SANDBOX_H
#define PARKWATCH_SANDBOX_H

/* Every thread of the process (TSYNC).  0 or a negative errno. */
int sandbox__enter_main(void);
/* The broker's: reading opens only (openat checked by its flags). */
int sandbox__enter_broker(void);

#endif /* PARKWATCH_SANDBOX_H */
