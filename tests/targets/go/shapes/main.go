// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

// Command shapes is parkwatch's Go target for the release matrix: goroutines
// parked in the shapes that make a traceback hard, each shape a few times
// over, and nothing else moving, so that every goroutine's entry in the
// runtime's own dump (net/http/pprof) can be compared with parkwatch's.
//
//	shapes [-port N]
//
// Serves net/http/pprof on 127.0.0.1:N (0, the default: any free port) and
// prints READY {"port":N,"goroutines":M} once the M goroutines below exist
// (the test then polls the runtime's dump until they are all parked).
//
// The shapes, each started from its own function so that every shape has
// its own stacks and created-by line:
//
//	startSends      go sendResult(ch, v): a small function the compiler
//	                inlines into the go statement's wrapper, blocked in ch <- v
//	startMethods    a method on a value receiver and one on a pointer receiver
//	startGenerics   one generic function instantiated with two pairs of type
//	                arguments
//	startNested     a closure that calls a closure, blocked in the inner one
//	startRecursion  1,000 frames of recursion (and 999, 998), then a receive
//	startSyscalls   syscall.Syscall(SYS_READ) on a pipe nobody writes to: the
//	                goroutine stays in [syscall]
//	startLocked     runtime.LockOSThread, then a receive
//	startCgo        a C function in read(2) on a pipe (cgo builds only; see
//	                cgo.go)
//
// The syscall shape uses syscall.Syscall, not RawSyscall: a goroutine
// blocked in RawSyscall never tells the scheduler it left, so the stop of the
// world that every goroutine dump needs would wait for it forever.
//
// Nothing here uses a timer or a ticker, and the HTTP server has no timeouts:
// once parked, nothing wakes up until the process is killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

const (
	perShape       = 3    // goroutines of each shape (each group's count)
	recursionDepth = 1000 // frames of main.recurse under the blocked one
)

// started counts the goroutines the shapes created, for the READY line.
var started int

// never is received from by every parked goroutine, and unsent is sent to:
// nobody ever does the other half.
var (
	never  = make(chan int)
	unsent = make(chan int)
)

// pipes keeps the write ends of the read(2) pipes open: with every writer
// closed the read would return at once.
var pipes []int

// sendResult is small enough to be inlined into the wrapper the compiler
// makes for `go sendResult(ch, v)`.
func sendResult(ch chan<- int, v int) {
	ch <- v
}

func startSends() {
	for i := 0; i < perShape; i++ {
		go sendResult(unsent, i)
	}
	started += perShape
}

type account struct {
	id int
}

//go:noinline
func (a account) waitByValue(ch <-chan int) int {
	return a.id + <-ch
}

//go:noinline
func (a *account) waitByPointer(ch <-chan int) {
	a.id += <-ch
}

func startMethods() {
	for i := 0; i < perShape; i++ {
		a := &account{id: i}
		go a.waitByValue(never)
		go a.waitByPointer(never)
	}
	started += 2 * perShape
}

//go:noinline
func waitKeyed[K comparable, V any](ch <-chan int, key K, value V) map[K]V {
	<-ch
	return map[K]V{key: value}
}

func startGenerics() {
	for i := 0; i < perShape; i++ {
		go waitKeyed[int, string](never, i, "a")
		go waitKeyed[string, float64](never, "b", float64(i))
	}
	started += 2 * perShape
}

func startNested() {
	for i := 0; i < perShape; i++ {
		go func() {
			inner := func() int {
				return <-never
			}
			inner()
		}()
	}
	started += perShape
}

//go:noinline
func recurse(depth int, ch <-chan int) int {
	if depth == 0 {
		return <-ch
	}
	return recurse(depth-1, ch) + 1
}

// startRecursion's goroutines are 1,000, 999 and 998 frames deep: the same
// innermost frames, told apart by how many frames a traceback elides.
func startRecursion() {
	for i := 0; i < perShape; i++ {
		go recurse(recursionDepth-1-i, never)
	}
	started += perShape
}

// readPipe sits in read(2) for good: the runtime shows it [syscall], its
// stack saved in g.syscallsp/syscallpc.
//
//go:noinline
func readPipe(fd int) {
	var b [1]byte
	syscall.Syscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1)
}

// newPipe returns the read end of a pipe whose write end stays open.
func newPipe() int {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		fmt.Fprintf(os.Stderr, "shapes: pipe: %v\n", err)
		os.Exit(1)
	}
	pipes = append(pipes, fds[1])
	return fds[0]
}

func startSyscalls() {
	for i := 0; i < perShape; i++ {
		go readPipe(newPipe())
	}
	started += perShape
}

//go:noinline
func waitLocked(ch <-chan int) {
	runtime.LockOSThread()
	<-ch
}

func startLocked() {
	for i := 0; i < perShape; i++ {
		go waitLocked(never)
	}
	started += perShape
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any)")
	flag.Parse()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "shapes: %v\n", err)
		os.Exit(1)
	}
	startSends()
	startMethods()
	startGenerics()
	startNested()
	startRecursion()
	startSyscalls()
	startLocked()
	started += startCgo(perShape)
	fmt.Printf("READY {\"port\":%d,\"goroutines\":%d}\n", ln.Addr().(*net.TCPAddr).Port, started)
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintf(os.Stderr, "shapes: %v\n", err)
		os.Exit(1)
	}
}
