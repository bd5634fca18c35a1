// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

// Command insyscall is parkwatch's Go target for a goroutine in a system
// call: blockRead sits in read(2) on a pipe nobody writes to, so the
// runtime shows it [syscall] with its stack, unwound from g.syscallsp.
//
//	insyscall [-port N]
//
// -port is accepted, and ignored, so that the tests start it as they start
// leaky.  Prints READY {"port":0} once blockRead is about to call read(2).
package main

import (
	"flag"
	"fmt"
	"syscall"
)

//go:noinline
func blockRead(fd int, started chan<- struct{}) {
	var b [1]byte

	close(started)
	syscall.Read(fd, b[:])
}

func main() {
	flag.Int("port", 0, "ignored")
	flag.Parse()
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	started := make(chan struct{})
	go blockRead(fds[0], started)
	<-started
	fmt.Printf("READY {\"port\":0}\n")
	select {}
}
