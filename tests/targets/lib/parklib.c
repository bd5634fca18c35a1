/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * parklib: the shared library dlpark copies and dlopens.  Each entry point
 * parks its caller two frames inside the library: parklib_wait_read() in
 * read(2) on an fd nobody writes to, parklib_sleep() in nanosleep(2).
 */
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) static int parklib_read_inner(int fd)
{
	char byte;
	int rc = (int)read(fd, &byte, 1);

	__asm__ volatile("" ::: "memory");
	return rc;
}

__attribute__((noinline)) int parklib_wait_read(int fd)
{
	int rc = parklib_read_inner(fd);

	__asm__ volatile("" ::: "memory");
	return rc + 1;
}

__attribute__((noinline)) static void parklib_sleep_inner(void)
{
	struct timespec hour = { 3600, 0 };

	for (;;)
		nanosleep(&hour, NULL);
}

__attribute__((noinline)) void parklib_sleep(void)
{
	parklib_sleep_inner();
	__asm__ volatile("" ::: "memory");
}
