// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The hand-built Go process (go_sample.h). */
#include "support/go_sample.h"

#define START 0x400000ULL
#define END 0x800000ULL

/* leaf first; each is looked up at pc - 1 */
const __u64 go_main_pcs[GO_MAIN_DEPTH] = { 0x43a1ae, 0x44c815, 0x4a1e8b, 0x43a55b, 0x467e21 };
const __u64 go_worker_pcs[GO_WORKER_DEPTH] = { 0x43a1ae, 0x407d13, 0x4a1d26, 0x467e21 };
const __u64 go_sleep_pcs[GO_SLEEP_DEPTH] = { 0x43a1ae, 0x464b3e, 0x4a1f32 };

/* The symbol of a pc looked up at lookup_pc, in function entered at entry. */
static struct symbol *go_symbol(__u64 lookup_pc, __u64 entry, const char *function,
				const char *file, int line)
{
	struct symbol *symbol = make_symbol(GO_EXE, START, END, "60b1d", lookup_pc - START, 1);

	set_frame(symbol, 0, function, file, line, lookup_pc - entry, false);
	return symbol;
}

static struct pw_unit *goroutine(struct go_sample *g, __u64 goid, const char *status,
				 const char *wait_reason, __u64 park_ns,
				 const struct pw_stack *stack, struct pw_goroutine **go)
{
	struct pw_unit *unit = add_goroutine(g->picture, 7000, goid, status, wait_reason, park_ns,
					     stack, go);

	if (goid > 2) {
		(*go)->parent_goid = 1;
		(*go)->gopc = GO_GOPC;
		(*go)->creator = picture__hold_symbol(g->picture, g->creator);
	}
	return unit;
}

void go_sample_build(struct go_sample *g)
{
	const struct symbol *main_symbols[GO_MAIN_DEPTH], *worker_symbols[GO_WORKER_DEPTH],
		*sleep_symbols[GO_SLEEP_DEPTH];
	struct pw_goroutine *go;
	struct pw_unit *unit;
	struct pw_process *proc;

	g->gopark = go_symbol(0x43a1ad, 0x43a0e0, "runtime.gopark", GO_RUNTIME_SRC "proc.go", 398);
	g->selectgo = go_symbol(0x44c814, 0x44c160, "runtime.selectgo", GO_RUNTIME_SRC "select.go",
				327);
	g->main = make_symbol(GO_EXE, START, END, "60b1d", 0x4a1e8a - START, 2);
	set_frame(g->main, 0, "main.waitAll", GO_MAIN_SRC, 40, 0, true);
	set_frame(g->main, 1, "main.main", GO_MAIN_SRC, 21, 0x8a, false);
	g->main->frames[1].pc = 0x4a1e70; /* the inline mark of main.waitAll's call */
	g->runtime_main = go_symbol(0x43a55a, 0x43a2a0, "runtime.main", GO_RUNTIME_SRC "proc.go",
				    267);
	g->goexit = go_symbol(0x467e20, 0x467e20, "runtime.goexit", GO_RUNTIME_SRC "asm_amd64.s",
			      1650);
	g->chanrecv1 = go_symbol(0x407d12, 0x407d00, "runtime.chanrecv1", GO_RUNTIME_SRC "chan.go",
				 442);
	g->worker = go_symbol(0x4a1d25, 0x4a1d00, "main.worker", GO_MAIN_SRC, 30);
	g->sleep = go_symbol(0x464b3d, 0x464aa0, "time.Sleep", GO_RUNTIME_SRC "time.go", 195);
	g->ticker = go_symbol(0x4a1f31, 0x4a1f00, "main.ticker", GO_MAIN_SRC, 52);
	g->creator = go_symbol(GO_GOPC - 1, 0x4a1e00, "main.main", GO_MAIN_SRC, 25);

	g->picture = picture__new();
	assert_non_null(g->picture);
	g->picture->time_unix_ns = GO_TIME_UNIX_NS;
	main_symbols[0] = worker_symbols[0] = sleep_symbols[0] = g->gopark;
	main_symbols[1] = g->selectgo;
	main_symbols[2] = g->main;
	main_symbols[3] = g->runtime_main;
	main_symbols[4] = worker_symbols[3] = g->goexit;
	worker_symbols[1] = g->chanrecv1;
	worker_symbols[2] = g->worker;
	sleep_symbols[1] = g->sleep;
	sleep_symbols[2] = g->ticker;
	g->main_stack = make_go_stack(g->picture, 7000, go_main_pcs, main_symbols,
				      GO_MAIN_DEPTH - 1, GO_MAIN_DEPTH, false);
	g->worker_stack = make_go_stack(g->picture, 7000, go_worker_pcs, worker_symbols,
					GO_WORKER_DEPTH - 1, GO_WORKER_DEPTH, false);
	g->sleep_stack = make_go_stack(g->picture, 7000, go_sleep_pcs, sleep_symbols,
				       GO_SLEEP_DEPTH, GO_SLEEP_DEPTH, true);

	proc = add_go_proc(g->picture, 7000, "gosrv", GO_EXE, "go1.22.1");
	proc->goroot_src = strdup("/usr/local/go/src/");
	assert_non_null(proc->goroot_src);
	goroutine(g, 1, "waiting", "select", 180 * SEC, g->main_stack, &go);
	go->wait_ns = 3 * 60 * SEC;
	goroutine(g, 2, "waiting", "force gc (idle)", 600 * SEC, NULL, &go);
	go->system = true;
	goroutine(g, 18, "waiting", "chan receive", 50 * SEC, g->worker_stack, &go);
	go->wait_ns = 2 * 60 * SEC + 5 * SEC;
	goroutine(g, 19, "waiting", "chan receive", 40 * SEC, g->worker_stack, &go);
	goroutine(g, 20, "waiting", "chan receive", 30 * SEC, g->worker_stack, &go);
	goroutine(g, 21, "running", NULL, 0, NULL, &go);
	go->tid = 7003;
	go->locked = true;
	goroutine(g, 22, "syscall", NULL, 0, NULL, &go);
	unit = goroutine(g, 23, "waiting", "sleep", SEC, g->sleep_stack, &go);
	unit->wait.has_timeout = true;
	regroup(g->picture);
	assert_int_equal(g->picture->unit_count, G_UNITS);
	assert_int_equal(g->picture->parked_count, 5);
	assert_int_equal(g->picture->group_count, 5);
	assert_non_null(picture__goroutine_process(g->picture));
}

void go_sample_free(struct go_sample *g)
{
	picture__put(g->picture);
	symbol__put(g->gopark);
	symbol__put(g->selectgo);
	symbol__put(g->main);
	symbol__put(g->runtime_main);
	symbol__put(g->goexit);
	symbol__put(g->chanrecv1);
	symbol__put(g->worker);
	symbol__put(g->sleep);
	symbol__put(g->ticker);
	symbol__put(g->creator);
}
