// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * cppwait: C++ threads parked in waits reached through namespaces, a class
 * template, lambdas run by std::thread and helpers the compiler inlines, so
 * that names are mangled and most frames are inlined ones.
 *
 *   cond    svc::Worker::run -> Mailbox<Reply>::waitForReply (inlined)
 *           -> std::condition_variable::wait                 syscall 202
 *   mutex   svc::Worker::run -> Guarded<int>::update (inlined)
 *           -> std::mutex::lock, held by main                 syscall 202
 *   pipe    svc::io::drain (inlined) -> read on a pipe        syscall 0
 *   main    holds the mutex, then pause()                     syscall 34
 *
 * Prints READY {"role": [tid], ...} once /proc shows every thread asleep.
 */
#include <semaphore.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "target_util.h"

namespace svc {

struct Reply {
	int code;
};

template <typename T> class Mailbox {
public:
	// inlined into its callers: the wait is in the caller's frame
	T waitForReply()
	{
		std::unique_lock<std::mutex> lock(mutex_);
		ready_.wait(lock, [this] { return full_; });
		return item_;
	}

private:
	std::mutex mutex_;
	std::condition_variable ready_;
	bool full_ = false; // never set
	T item_{};
};

template <typename T> class Guarded {
public:
	explicit Guarded(std::mutex &lock) : lock_(lock) {}
	void update(T delta)
	{
		std::lock_guard<std::mutex> guard(lock_);
		value_ += delta;
	}

private:
	std::mutex &lock_;
	T value_{};
};

namespace io {

inline ssize_t drain(int fd)
{
	char buf[64];

	return read(fd, buf, sizeof(buf));
}

} // namespace io

class Worker {
public:
	explicit Worker(pid_t *tid) : tid_(tid) {}

	__attribute__((noinline)) int run(Mailbox<Reply> &box)
	{
		publish();
		Reply reply = box.waitForReply();
		return reply.code + 1;
	}

	__attribute__((noinline)) int run(Guarded<int> &guarded)
	{
		publish();
		guarded.update(1);
		return 1;
	}

private:
	void publish();
	pid_t *tid_;
};

} // namespace svc

static sem_t started;

void svc::Worker::publish()
{
	*tid_ = gettid();
	sem_post(&started);
}

int main()
{
	static pid_t tid_cond, tid_mutex, tid_pipe;
	static svc::Mailbox<svc::Reply> box;
	static std::mutex held;
	static svc::Guarded<int> guarded(held);
	struct tu_role roles[3] = {
		{ "cond", &tid_cond, 1 },
		{ "mutex", &tid_mutex, 1 },
		{ "pipe", &tid_pipe, 1 },
	};
	std::vector<std::thread> threads;
	int pipe_fds[2];

	if (sem_init(&started, 0, 0) || pipe(pipe_fds))
		tu_die("setup", errno);
	held.lock();
	threads.emplace_back([] {
		svc::Worker worker(&tid_cond);
		int rc = worker.run(box);
		fprintf(stderr, "cppwait: cond woke with %d\n", rc);
	});
	threads.emplace_back([] {
		svc::Worker worker(&tid_mutex);
		int rc = worker.run(guarded);
		fprintf(stderr, "cppwait: mutex taken with %d\n", rc);
	});
	threads.emplace_back([fd = pipe_fds[0]] {
		tid_pipe = gettid();
		sem_post(&started);
		ssize_t n = svc::io::drain(fd);
		fprintf(stderr, "cppwait: pipe read returned %zd\n", n);
	});
	for (size_t i = 0; i < threads.size(); i++)
		while (sem_wait(&started) && errno == EINTR)
			;
	tu_wait_blocked(tid_cond, "cond", 202, 202);
	tu_wait_blocked(tid_mutex, "mutex", 202, 202);
	tu_wait_blocked(tid_pipe, "pipe", 0, 0);
	tu_print_roles("READY", roles, 3);
	for (;;)
		pause();
}
