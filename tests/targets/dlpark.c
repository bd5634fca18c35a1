/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * dlpark LIB: copies the shared library LIB to a file of its own in /tmp,
 * dlopens the copy and parks a thread in it (parklib_wait_read, in read(2)
 * on a pipe nobody writes to).  Prints
 *   READY {"copy": "/tmp/...", "keep": BYTES, "reader": [tid]}
 * where keep is the end of the copy's last loaded segment: truncating the
 * copy to that size cuts what only readers of the file use (section
 * headers, symbol tables, debug info) and leaves every page this process
 * runs.  On SIGUSR1 the main thread parks in the copy too
 * (parklib_sleep, in nanosleep(2)), a stack never seen before.  The copy
 * is the caller's to delete.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "target_util.h"

static pid_t reader_tid;
static int (*wait_read)(int fd);
static int never_written[2];

static void *reader(void *arg)
{
	(void)arg;
	reader_tid = (pid_t)syscall(SYS_gettid);
	wait_read(never_written[0]);
	return NULL;
}

static void copy_file(const char *from, char *to_template)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = mkstemps(to_template, 3);
	struct stat st;

	if (in < 0 || out < 0 || fstat(in, &st))
		tu_die("copying the library", errno);
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = sendfile(out, in, &done, (size_t)(st.st_size - done));

		if (n <= 0)
			tu_die("copying the library", n ? errno : EIO);
	}
	close(in);
	close(out);
}

struct loaded_end {
	const char *path;
	unsigned long end;
};

static int find_end(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct loaded_end *want = arg;

	(void)size;
	if (strcmp(info->dlpi_name, want->path))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > want->end)
			want->end = ph->p_offset + ph->p_filesz;
	}
	return 1;
}

int main(int argc, char **argv)
{
	char copy[] = "/tmp/parklib-XXXXXX.so";
	long page = sysconf(_SC_PAGESIZE);
	struct loaded_end end = { copy, 0 };
	void (*sleep_in_lib)(void);
	pthread_t thread;
	sigset_t usr1;
	void *lib;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: dlpark LIB\n");
		return 2;
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	copy_file(argv[1], copy);
	/* every symbol bound now: nothing of the copy is read lazily later */
	lib = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "target: dlopen %s: %s\n", copy, dlerror());
		return 1;
	}
	wait_read = (int (*)(int))dlsym(lib, "parklib_wait_read");
	sleep_in_lib = (void (*)(void))dlsym(lib, "parklib_sleep");
	if (!wait_read || !sleep_in_lib || pipe(never_written))
		tu_die("parklib", ENOENT);
	dl_iterate_phdr(find_end, &end);
	if (!end.end)
		tu_die("finding the copy's segments", ENOENT);
	if (pthread_create(&thread, NULL, reader, NULL))
		tu_die("pthread_create", EAGAIN);
	while (!__atomic_load_n(&reader_tid, __ATOMIC_ACQUIRE))
		tu_poll_pause();
	tu_wait_blocked(reader_tid, "reader", SYS_read, SYS_read);
	printf("READY {\"copy\": \"%s\", \"keep\": %lu, \"reader\": [%d]}\n", copy,
	       (end.end + (unsigned long)page - 1) / (unsigned long)page * (unsigned long)page,
	       (int)reader_tid);
	if (fflush(stdout))
		tu_die("writing READY", errno);
	sigwait(&usr1, &sig);
	sleep_in_lib();
	return 0;
}
