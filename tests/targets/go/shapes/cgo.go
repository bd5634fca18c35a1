// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

//go:build cgo

package main

/*
#include <unistd.h>

// readForever sits in read(2) on a pipe nobody writes to: the goroutine that
// called it stays in a cgo call, shown [syscall] by the runtime.
static void readForever(int fd)
{
	char b;

	(void)read(fd, &b, 1);
}
*/
import "C"

//go:noinline
func blockInC(fd int) {
	C.readForever(C.int(fd))
}

// startCgo starts n goroutines blocked in C and returns n.
func startCgo(n int) int {
	for i := 0; i < n; i++ {
		go blockInC(newPipe())
	}
	return n
}
