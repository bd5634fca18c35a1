/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What the collecting loop hands the HTTP server: the latest picture (a
 * pointer swapped under a short lock), the context renderers need, the
 * windows requests wait on, and requests that need something the picture
 * doesn't hold (one process's goroutines), which the collecting loop
 * serves on its own thread.  The server never reads /proc, process memory
 * or debug info itself.
 */
#ifndef PARKWATCH_FEED_H
#define PARKWATCH_FEED_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>
#include "model/picture.h"
#include "out/prometheus.h"
#include "out/render.h"
#include "out/window.h"

/* A windowed profile a request waits for (?seconds=S). */
struct pending_window {
	struct window *window;
	pid_t pid;                  /* 0: every process */
	__u64 start_ns, last_ns, end_ns; /* CLOCK_MONOTONIC */
	__u64 start_unix_ns;
	bool done;
	struct pending_window *next;
};

/* A request for one process's goroutines. */
struct feed_request {
	pid_t pid;
	struct pw_picture *picture; /* the answer, when err is 0 */
	int err;
	bool done;
	struct feed_request *next;
};

/* Every field is guarded by lock. */
struct feed {
	pthread_mutex_t lock;
	pthread_cond_t updated;     /* broadcast after every new picture and answer */
	struct pw_picture *picture; /* latest, with its tier-1 totals; NULL before the first */
	struct metrics_input metrics; /* all but .picture */
	struct pw_context ctx;
	__u64 interval_ns;
	__u64 published_ns;         /* CLOCK_MONOTONIC of the latest picture's publishing */
	bool bpf_attached;          /* the BPF programs watch: /readyz */
	struct pending_window *windows;
	struct feed_request *requests; /* not answered yet */
	int wake_fd;                /* eventfd: readable when requests wait */
	bool stopping;
};

/* 0 or a negative errno. */
int feed__init(struct feed *feed);
void feed__destroy(struct feed *feed);
/*
 * Lock held: whether what is served is current (/readyz): the BPF programs
 * are attached and a picture was published within two intervals of
 * now_ns.  When not, false and why in one line.
 */
bool feed__ready(const struct feed *feed, __u64 now_ns, char *why, size_t why_size);
/* Lock held: takes over picture as the latest, adds it to the windows
 * that wait, and wakes their requests. */
void feed__publish(struct feed *feed, struct pw_picture *picture, __u64 now_ns);
/* Lock held: the requests waiting for an answer, taken off the queue. */
struct feed_request *feed__take_requests(struct feed *feed);
/* Lock held: a taken request's answer, for its waiting request. */
void feed__answer(struct feed *feed, struct feed_request *request);
/*
 * Lock held: asks the collecting loop for pid's goroutines and waits up to
 * timeout_ns for the answer.  0 and *out (a reference), -ETIMEDOUT,
 * -ESHUTDOWN (stopping), or the collector's error (-ENOEXEC: not Go).
 */
int feed__goroutines(struct feed *feed, pid_t pid, __u64 timeout_ns, struct pw_picture **out);

#endif /* PARKWATCH_FEED_H */
