/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* The CLI's three ways to run an opened session; each returns an exit code. */
#ifndef PARKWATCH_RUN_H
#define PARKWATCH_RUN_H

#include "cli/session.h"

/* --dump: one picture, written. */
int run__dump(struct session *session);
/*
 * The live view: a picture every interval until the duration ends, the
 * user quits, a signal arrives or every watched process is gone; then the
 * result (the last picture, the window of all of them, or the leak report).
 */
int run__live(struct session *session);
/* --http: a picture every interval, published for the server. */
int run__daemon(struct session *session);

#endif /* PARKWATCH_RUN_H */
