// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)

// Command leaky is parkwatch's Go test target: a small HTTP service with
// net/http/pprof whose goroutines leak in the shapes Go teams meet in
// production, next to a healthy worker pool that honours cancellation, so
// that goroutine mode can be checked against the runtime's own dumps.
//
//	leaky [-port N] [-n N] [-churn] [PORT]
//
// The port comes from -port, the first argument or $LEAKY_PORT (0: any free
// port); the server listens on 127.0.0.1 only.  Prints READY {"port":N} once
// it listens and the start-up leaks are in place.
//
// Leaked at start-up (counts fixed so that tests can assert them):
//
//	timeoutSends   computeReply blocked sending: its caller gave up on ctx.Done()
//	fanOuts        collectReplies waiting in select for a dependency that never answers,
//	               queryStuckDependency waiting on a sync.Cond nobody signals
//	waitGroups     waitForWorkers in WaitGroup.Wait: some workers forget Done
//	tickers        pollForever: a time.Ticker loop that never stops
//	lockWaiters    waitForLock: a mutex whose holder returned without Unlock
//
// GET /leak leaks one awaitNotification (a receive nobody sends to) per request.
// -n N pre-creates N parkedForever goroutines, for the 10k/100k tests.
// -churn keeps creating short-lived goroutines and bounces tokens between a
// few, to give readers a moving target.
//
// Every function a test names is //go:noinline so that it keeps its frame.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	timeoutSends = 5
	fanOuts      = 3
	fanOutWidth  = 3
	waitGroups   = 2
	tickers      = 2
	lockWaiters  = 3
	poolSize     = 4
)

var (
	polls     atomic.Int64
	processed atomic.Int64
	leaked    atomic.Int64
	parked    atomic.Int64 // parkedForever goroutines started
)

// computeReply does the work the caller asked for, which takes longer than
// the caller waits, then hands the result over on an unbuffered channel.
// The caller already returned on its deadline and nobody receives: the
// send blocks forever.  (Finishing only once the deadline passed makes the
// leak certain on a busy machine too.)
//
//go:noinline
func computeReply(ctx context.Context, reply chan<- int) {
	<-ctx.Done()
	reply <- 42
}

// callWithTimeout is the classic leak: the reply channel should have had a
// buffer of one.
//
//go:noinline
func callWithTimeout(ctx context.Context) (int, error) {
	reply := make(chan int)
	go computeReply(ctx, reply)
	select {
	case v := <-reply:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// awaitNotification waits for a message nobody will ever send: one per
// request to /leak.
//
//go:noinline
func awaitNotification(notify <-chan struct{}) {
	<-notify
	leaked.Add(-1)
}

// parkedForever is what -n creates in bulk.
//
//go:noinline
func parkedForever(never <-chan struct{}) {
	parked.Add(1)
	<-never
}

// queryFastDependency answers at once.
//
//go:noinline
func queryFastDependency(id int, out chan<- string) {
	out <- "dep" + strconv.Itoa(id)
}

// stuckDependency models a backend whose readiness is never signalled.
type stuckDependency struct {
	mu    sync.Mutex
	cond  *sync.Cond
	ready bool
}

// queryStuckDependency never answers: it waits for a condition nobody signals.
//
//go:noinline
func queryStuckDependency(dep *stuckDependency, out chan<- string) {
	dep.mu.Lock()
	for !dep.ready {
		dep.cond.Wait()
	}
	dep.mu.Unlock()
	out <- "stuck"
}

// collectReplies fans out to width dependencies and waits for all of them,
// with no deadline.
//
//go:noinline
func collectReplies(width int, dep *stuckDependency, quit <-chan struct{}) []string {
	out := make(chan string, width)
	for i := 0; i < width-1; i++ {
		go queryFastDependency(i, out)
	}
	go queryStuckDependency(dep, out)
	var replies []string
	for len(replies) < width {
		select {
		case r := <-out:
			replies = append(replies, r)
		case <-quit:
			return replies
		}
	}
	return replies
}

// forgetfulWorker is supposed to call Done; odd-numbered ones forget.
//
//go:noinline
func forgetfulWorker(wg *sync.WaitGroup, id int) {
	processed.Add(1)
	if id%2 == 0 {
		wg.Done()
	}
}

// waitForWorkers never returns: half its workers forgot Done.
//
//go:noinline
func waitForWorkers(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go forgetfulWorker(&wg, i)
	}
	wg.Wait()
}

//go:noinline
func pollOnce() {
	polls.Add(1)
}

// pollForever is a ticker loop with no way to stop it.
//
//go:noinline
func pollForever(interval time.Duration) {
	t := time.NewTicker(interval)
	for range t.C {
		pollOnce()
	}
}

// holdAndForget takes the lock and returns without Unlock.
//
//go:noinline
func holdAndForget(mu *sync.Mutex) {
	mu.Lock()
}

// waitForLock waits for a lock that will never be released.
//
//go:noinline
func waitForLock(mu *sync.Mutex) {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func processJob(job int) {
	processed.Add(int64(job & 1))
}

// poolWorker is the healthy shape: it leaves when its context ends.
//
//go:noinline
func poolWorker(ctx context.Context, jobs <-chan int, done *sync.WaitGroup) {
	defer done.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-jobs:
			processJob(job)
		}
	}
}

// feedJobs hands the pool a job now and then, until cancelled.
//
//go:noinline
func feedJobs(ctx context.Context, jobs chan<- int) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}
}

// runPool restarts the pool every few seconds, cancelling the old one: its
// workers must all leave, so the pool never grows.
//
//go:noinline
func runPool(size int, restart time.Duration) {
	for {
		ctx, cancel := context.WithCancel(context.Background())
		jobs := make(chan int)
		var done sync.WaitGroup
		done.Add(size)
		for i := 0; i < size; i++ {
			go poolWorker(ctx, jobs, &done)
		}
		go feedJobs(ctx, jobs)
		time.Sleep(restart)
		cancel()
		done.Wait()
	}
}

//go:noinline
func shortLived(d time.Duration) {
	time.Sleep(d)
}

// bounce passes a token back and forth forever: its goroutines switch
// between running, runnable and waiting all the time.
//
//go:noinline
func bounce(in <-chan int, out chan<- int) {
	for v := range in {
		out <- v + 1
	}
}

// churn keeps goroutines coming and going, and a few always moving.
//
//go:noinline
func churn() {
	for i := 0; i < 2; i++ {
		ping, pong := make(chan int), make(chan int)
		go bounce(ping, pong)
		go bounce(pong, ping)
		ping <- 0
	}
	for i := 0; ; i++ {
		go shortLived(time.Duration(i%5) * time.Millisecond)
		time.Sleep(200 * time.Microsecond)
	}
}

func leakHandler(w http.ResponseWriter, r *http.Request) {
	notify := make(chan struct{})
	go awaitNotification(notify)
	fmt.Fprintf(w, "leaked %d\n", leaked.Add(1))
}

// startLeaks creates the fixed start-up leaks; settle waits until they block.
func startLeaks() {
	for i := 0; i < timeoutSends; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		callWithTimeout(ctx)
		cancel()
	}
	never := make(chan struct{})
	for i := 0; i < fanOuts; i++ {
		dep := &stuckDependency{}
		dep.cond = sync.NewCond(&dep.mu)
		go collectReplies(fanOutWidth, dep, never)
	}
	for i := 0; i < waitGroups; i++ {
		go waitForWorkers(4)
	}
	for i := 0; i < tickers; i++ {
		go pollForever(500 * time.Millisecond)
	}
	var mu sync.Mutex
	holdAndForget(&mu)
	for i := 0; i < lockWaiters; i++ {
		go waitForLock(&mu)
	}
	go runPool(poolSize, 5*time.Second)
}

// settle returns once the runtime's own dump shows every start-up leak
// blocked, so that READY means they are in place, on a busy machine too.
// Exits after a minute of polling.
func settle() {
	want := map[string]int{
		"main.computeReply(":         timeoutSends,
		"main.collectReplies(":       fanOuts,
		"main.queryStuckDependency(": fanOuts,
		"main.waitForWorkers(":       waitGroups,
		"main.waitForLock(":          lockWaiters,
	}
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if blockedIn(string(buf[:n]), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "leaky: the start-up leaks did not all block within a minute")
	os.Exit(1)
}

// blockedIn: the dump has want[f] blocked goroutines with f on their stack.
func blockedIn(dump string, want map[string]int) bool {
	got := map[string]int{}
	for _, entry := range strings.Split(dump, "\n\n") {
		header, _, _ := strings.Cut(entry, "\n")
		if strings.Contains(header, "[running") || strings.Contains(header, "[runnable") {
			continue
		}
		for f := range want {
			if strings.Contains(entry, "\n"+f) {
				got[f]++
			}
		}
	}
	for f, n := range want {
		if got[f] != n {
			return false
		}
	}
	return true
}

// prefill starts n parkedForever goroutines and returns once all of them
// are about to block (a dump of 100,000 per poll would take seconds).
func prefill(n int) {
	never := make(chan struct{})
	for i := 0; i < n; i++ {
		go parkedForever(never)
	}
	for parked.Load() < int64(n) {
		time.Sleep(time.Millisecond)
	}
}

func main() {
	port := flag.Int("port", -1, "TCP port on 127.0.0.1 (0: any)")
	count := flag.Int("n", 0, "pre-create N leaked goroutines")
	moving := flag.Bool("churn", false, "keep creating short-lived goroutines")
	flag.Parse()
	if *port < 0 {
		text := flag.Arg(0)
		if text == "" {
			text = os.Getenv("LEAKY_PORT")
		}
		if text == "" {
			text = "0"
		}
		p, err := strconv.Atoi(text)
		if err != nil || p < 0 || p > 65535 {
			fmt.Fprintf(os.Stderr, "leaky: bad port %q\n", text)
			os.Exit(2)
		}
		*port = p
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "leaky: %v\n", err)
		os.Exit(1)
	}
	http.HandleFunc("/leak", leakHandler)
	startLeaks()
	settle()
	prefill(*count)
	if *moving {
		go churn()
	}
	fmt.Printf("READY {\"port\":%d}\n", ln.Addr().(*net.TCPAddr).Port)
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintf(os.Stderr, "leaky: %v\n", err)
		os.Exit(1)
	}
}
