// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

// Command chans is parkwatch's Go target for what goroutines wait on:
// goroutines parked on channels and on the runtime's semaphores, in shapes
// whose truth the program itself knows, each shape started from its own
// function so that the test can tell them apart by their frames.
//
//	chans
//
// Prints READY {json} once every goroutine it started is parked (its own
// runtime.Stack says so), with, per channel, its address (%p), element
// type, len, cap and how many goroutines it started to send and to receive
// on it, and the
// addresses and sizes of the mutex and the WaitGroup.  Nothing here uses a
// timer: once parked, nothing wakes until the process is killed; main then
// sits in a read(2) of a pipe nobody writes to.
//
// The shapes:
//
//	privateRecv  N goroutines, each receiving from its own unbuffered
//	             channel nobody else holds (the classic leak)
//	sharedRecv   receivers on one buffered channel that is empty
//	sharedSend   senders on one buffered channel that is full (len == cap)
//	nilRecv      receives from a nil channel; nilSend sends to one
//	selectNone   select {}
//	selectTwo    a select on two unbuffered channels nobody sends to
//	mutexHolder  holds mu and receives from its own channel; mutexWaiter
//	             goroutines block in mu.Lock()
//	wgWaiter     goroutines block in wg.Wait() (wg.Add(1), never Done)
//
// No shape parks on a closed channel: a receive from one returns at once
// and a send panics, so no goroutine can wait on one.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	privateCount = 8
	recvCount    = 5
	recvCap      = 4
	sendCount    = 4
	sendCap      = 3
	nilRecvCount = 2
	nilSendCount = 1
	mutexWaiters = 3
	wgWaiters    = 2
)

// chanInfo is one channel as the READY line reports it.
type chanInfo struct {
	Addr string `json:"addr"`
	Elem string `json:"elem"` // its element type, as %T names it
	Len  int    `json:"len"`
	Cap  int    `json:"cap"`
	Send int    `json:"send"` // goroutines started to send on it
	Recv int    `json:"recv"` // goroutines started to receive from it
}

type objectInfo struct {
	Addr string  `json:"addr"`
	Size uintptr `json:"size"`
}

type ready struct {
	Private    []chanInfo     `json:"private"`
	SharedRecv chanInfo       `json:"shared_recv"`
	SharedSend chanInfo       `json:"shared_send"`
	Select     []chanInfo     `json:"select"`
	Holder     chanInfo       `json:"holder"`
	Mutex      objectInfo     `json:"mutex"`
	WaitGroup  objectInfo     `json:"waitgroup"`
	Counts     map[string]int `json:"counts"` // function -> goroutines started in it
	Started    int            `json:"started"`
}

var (
	mu sync.Mutex
	wg sync.WaitGroup
)

func addr(p interface{}) string { return fmt.Sprintf("%p", p) }

// elem is the element type of the channel ch, as %T names it.
func elem(ch interface{}) string { return strings.TrimPrefix(fmt.Sprintf("%T", ch), "chan ") }

// job is the element of the full channel: a pointer to a named type.
type job struct{ id int }

func privateRecv(ch chan int) { <-ch }

func sharedRecv(ch chan string) { <-ch }

func sharedSend(ch chan *job, v *job) { ch <- v }

func nilRecv() {
	var ch chan int
	<-ch
}

func nilSend() {
	var ch chan int
	ch <- 1
}

func selectNone() { select {} }

func selectTwo(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

func mutexHolder(locked chan<- bool, ch chan struct{}) {
	mu.Lock()
	locked <- true
	<-ch
	mu.Unlock()
}

func mutexWaiter() {
	mu.Lock()
	mu.Unlock()
}

func wgWaiter() { wg.Wait() }

// parked counts the goroutines runtime.Stack shows waiting (not running,
// runnable or in a syscall) in the given function.
func parked() map[string]int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	counts := map[string]int{}
	entry := regexp.MustCompile(`(?m)^goroutine \d+ \[([^\]]+)\]:\n((?:.+\n)+?)created by`)
	fn := regexp.MustCompile(`main\.(\w+)\(`)
	for _, m := range entry.FindAllSubmatch(buf, -1) {
		state := string(m[1])
		if state == "running" || state == "runnable" || regexp.MustCompile(`^syscall`).MatchString(state) {
			continue
		}
		if f := fn.FindSubmatch(m[2]); f != nil {
			counts["main."+string(f[1])]++
		}
	}
	return counts
}

func main() {
	r := ready{Counts: map[string]int{}}
	start := func(name string, f func()) {
		r.Counts[name]++
		r.Started++
		go f()
	}

	for i := 0; i < privateCount; i++ {
		ch := make(chan int)
		r.Private = append(r.Private, chanInfo{Addr: addr(ch), Elem: elem(ch), Recv: 1})
		start("main.privateRecv", func() { privateRecv(ch) })
	}

	recv := make(chan string, recvCap)
	r.SharedRecv = chanInfo{Addr: addr(recv), Elem: elem(recv), Len: 0, Cap: recvCap,
		Recv: recvCount}
	for i := 0; i < recvCount; i++ {
		start("main.sharedRecv", func() { sharedRecv(recv) })
	}

	send := make(chan *job, sendCap)
	for i := 0; i < sendCap; i++ {
		send <- &job{i}
	}
	r.SharedSend = chanInfo{Addr: addr(send), Elem: elem(send), Len: sendCap, Cap: sendCap,
		Send: sendCount}
	for i := 0; i < sendCount; i++ {
		v := &job{sendCap + i}
		start("main.sharedSend", func() { sharedSend(send, v) })
	}

	for i := 0; i < nilRecvCount; i++ {
		start("main.nilRecv", nilRecv)
	}
	for i := 0; i < nilSendCount; i++ {
		start("main.nilSend", nilSend)
	}
	start("main.selectNone", selectNone)

	a, b := make(chan int), make(chan int)
	r.Select = []chanInfo{{Addr: addr(a), Elem: elem(a), Recv: 1},
		{Addr: addr(b), Elem: elem(b), Recv: 1}}
	start("main.selectTwo", func() { selectTwo(a, b) })

	hold, locked := make(chan struct{}), make(chan bool)
	r.Holder = chanInfo{Addr: addr(hold), Elem: elem(hold), Recv: 1}
	start("main.mutexHolder", func() { mutexHolder(locked, hold) })
	<-locked
	r.Mutex = objectInfo{Addr: addr(&mu), Size: unsafe.Sizeof(mu)}
	for i := 0; i < mutexWaiters; i++ {
		start("main.mutexWaiter", mutexWaiter)
	}

	wg.Add(1)
	r.WaitGroup = objectInfo{Addr: addr(&wg), Size: unsafe.Sizeof(wg)}
	for i := 0; i < wgWaiters; i++ {
		start("main.wgWaiter", wgWaiter)
	}

	// READY only once every goroutine above is parked: a mutex waiter may
	// spin a while before it sleeps on the semaphore
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, all := parked(), true
		for name, n := range r.Counts {
			all = all && counts[name] == n
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "chans: not all parked after 30 s: %v of %v\n", counts, r.Counts)
			os.Exit(1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	line, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	fmt.Printf("READY %s\n", line)
	os.Stdout.Sync()
	// a read nobody answers, in [syscall]: with every goroutine parked the
	// runtime would otherwise end the program as deadlocked
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	syscall.Read(fds[0], make([]byte, 1))
}
