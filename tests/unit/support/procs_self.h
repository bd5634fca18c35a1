/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A procs session (proc/procs.h) with this test process in it, for the
 * tests that unwind or symbolize their own stack (procs_self.c).
 */
#ifndef PARKWATCH_TESTS_PROCS_SELF_H
#define PARKWATCH_TESTS_PROCS_SELF_H

#include "proc/procs.h"

/* A new session, begun, with this process's entry in *self: 0, or -1
 * (*procs is then NULL or to be closed all the same). */
int procs_self_open(struct procs **procs, struct proc **self);
/* Ends the session and frees it; NULL-safe. */
void procs_self_close(struct procs *procs);

#endif /* PARKWATCH_TESTS_PROCS_SELF_H */
