// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The feed between the collecting loop and the HTTP server (feed.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "serve/feed.h"
#include "util/units.h"

int feed__init(struct feed *feed)
{
	pthread_condattr_t attr;

	memset(feed, 0, sizeof(*feed));
	feed->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (feed->wake_fd < 0)
		return -errno;
	pthread_mutex_init(&feed->lock, NULL);
	/* deadlines are monotonic: a clock step must not stretch a wait */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&feed->updated, &attr);
	pthread_condattr_destroy(&attr);
	return 0;
}

void feed__destroy(struct feed *feed)
{
	picture__put(feed->picture);
	feed->picture = NULL;
	if (feed->wake_fd >= 0)
		close(feed->wake_fd);
	feed->wake_fd = -1;
	pthread_cond_destroy(&feed->updated);
	pthread_mutex_destroy(&feed->lock);
}

bool feed__ready(const struct feed *feed, __u64 now_ns, char *why, size_t why_size)
{
	__u64 age_ns = feed->picture ? now_ns - feed->published_ns : 0;

	if (!feed->bpf_attached)
		snprintf(why, why_size, "the BPF programs are not attached");
	else if (!feed->picture)
		snprintf(why, why_size, "no picture taken yet");
	else if (age_ns > 2 * feed->interval_ns)
		snprintf(why, why_size,
			 "the last picture is %.1f s old, more than two intervals (%.1f s)",
			 (double)age_ns / NSEC_PER_SEC, 2.0 * feed->interval_ns / NSEC_PER_SEC);
	else
		return true;
	return false;
}

void feed__publish(struct feed *feed, struct pw_picture *picture, __u64 now_ns)
{
	picture__put(feed->picture);
	feed->picture = picture;
	feed->published_ns = now_ns;
	for (struct pending_window *pending = feed->windows; pending; pending = pending->next) {
		struct pw_picture *view;

		if (pending->done)
			continue;
		if (!pending->pid) {
			if (window__add(pending->window, picture, now_ns - pending->last_ns))
				pending->done = true; /* out of memory: answer with what there is */
		} else if (picture__view_pid(picture, pending->pid, &view) == 0) {
			if (window__add(pending->window, view, now_ns - pending->last_ns))
				pending->done = true;
			picture__put(view);
		} else {
			pending->done = true; /* the process is gone: answer with what there is */
		}
		pending->last_ns = now_ns;
		if (now_ns >= pending->end_ns)
			pending->done = true;
	}
	pthread_cond_broadcast(&feed->updated);
}

struct feed_request *feed__take_requests(struct feed *feed)
{
	struct feed_request *requests = feed->requests;
	uint64_t count;

	feed->requests = NULL;
	if (read(feed->wake_fd, &count, sizeof(count)) < 0)
		(void)count; /* nothing to drain */
	return requests;
}

void feed__answer(struct feed *feed, struct feed_request *request)
{
	request->done = true;
	pthread_cond_broadcast(&feed->updated);
}

int feed__goroutines(struct feed *feed, pid_t pid, __u64 timeout_ns, struct pw_picture **out)
{
	struct feed_request request = { .pid = pid, .next = feed->requests };
	uint64_t one = 1;
	struct timespec deadline;

	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ns / NSEC_PER_SEC;
	deadline.tv_nsec += timeout_ns % NSEC_PER_SEC;
	if (deadline.tv_nsec >= (long)NSEC_PER_SEC) {
		deadline.tv_sec++;
		deadline.tv_nsec -= (long)NSEC_PER_SEC;
	}
	feed->requests = &request;
	if (write(feed->wake_fd, &one, sizeof(one)) != sizeof(one))
		(void)one; /* the counter is full: the loop is awake already */
	while (!request.done && !feed->stopping)
		if (pthread_cond_timedwait(&feed->updated, &feed->lock, &deadline) == ETIMEDOUT)
			break;
	if (!request.done) {
		/* still queued, or taken and being answered: unlink, or wait it out */
		struct feed_request **link = &feed->requests;

		while (*link && *link != &request)
			link = &(*link)->next;
		if (*link) {
			*link = request.next;
			return feed->stopping ? -ESHUTDOWN : -ETIMEDOUT;
		}
		while (!request.done)
			pthread_cond_wait(&feed->updated, &feed->lock);
	}
	if (request.err)
		return request.err;
	*out = request.picture;
	return 0;
}
