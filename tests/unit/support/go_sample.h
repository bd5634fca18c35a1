/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A hand-built picture of one Go process, for the outputs in Go's own
 * shapes and the goroutine parts of the others.  Process 7000 "gosrv"
 * (GO_EXE, go1.22.1, GOROOT /usr/local/go), a static binary at 0x400000:
 *   G_MAIN   goroutine 1, waiting on "select" for 3 minutes by the runtime's
 *            clock: runtime.gopark; runtime.selectgo; main.main with
 *            main.waitAll inlined into it; runtime.main; runtime.goexit
 *            (hidden).
 *   G_GC     goroutine 2, the runtime's "force gc (idle)": system, no stack.
 *   G_W1..3  goroutines 18, 19, 20 waiting on "chan receive" (18 for 2
 *            minutes): runtime.gopark; runtime.chanrecv1; main.worker;
 *            runtime.goexit (hidden).  Created by main.main in goroutine 1.
 *   G_RUN    goroutine 21, running on thread 7003, locked to it, no stack.
 *   G_SYS    goroutine 22, in a syscall, no stack.
 *   G_SLEEP  goroutine 23, waiting on "sleep" (a timeout), a stack cut
 *            short: runtime.gopark; time.Sleep; main.ticker.
 * Every goroutine but 1 and 2 was created by main.main (gopc GO_GOPC) in
 * goroutine 1.  park_ns: 1 for 3 minutes, the workers 50, 40 and 30 s,
 * the sleeper 1 s.
 */
#ifndef PARKWATCH_TESTS_GO_SAMPLE_H
#define PARKWATCH_TESTS_GO_SAMPLE_H

#include "support/fixtures.h"

#define GO_TIME_UNIX_NS 1700000000000000000ULL
#define GO_EXE "/usr/local/bin/gosrv"
#define GO_MAIN_SRC "/app/main.go"
#define GO_RUNTIME_SRC "/usr/local/go/src/runtime/"
#define GO_GOPC 0x4a1e4cULL

/* units, in the picture's order (the runtime's) */
enum { G_MAIN, G_GC, G_W1, G_W2, G_W3, G_RUN, G_SYS, G_SLEEP, G_UNITS };
enum { GO_MAIN_DEPTH = 5, GO_WORKER_DEPTH = 4, GO_SLEEP_DEPTH = 3 };

extern const __u64 go_main_pcs[GO_MAIN_DEPTH];
extern const __u64 go_worker_pcs[GO_WORKER_DEPTH];
extern const __u64 go_sleep_pcs[GO_SLEEP_DEPTH];

struct go_sample {
	struct pw_picture *picture;
	const struct pw_stack *main_stack, *worker_stack, *sleep_stack;
	struct symbol *gopark, *selectgo, *main, *runtime_main, *goexit, *chanrecv1, *worker,
		*sleep, *ticker, *creator;
};

/* Builds it: four groups of user goroutines, one of them running. */
void go_sample_build(struct go_sample *g);
void go_sample_free(struct go_sample *g);

#endif /* PARKWATCH_TESTS_GO_SAMPLE_H */
