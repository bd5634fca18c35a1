// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Writes fuzz_goroutines' seeds: fake Go processes (go_image.h) laid out
 * with the runtime.g, sudog and hchan layouts golayout.c knows for a few
 * releases, each with four goroutines as the reader meets them: one
 * parked on a channel receive with three frames, one on a semaphore (in
 * the semtable), one in a system call on a known thread, one never run.
 * Usage: make_go_images OUTDIR.
 */
#include <stdio.h>
#include <string.h>
#include "go/golayout.h"
#include "go_image.h"

#define IMAGE_SIZE (GO_IMAGE_SEMTABLE + GO_IMAGE_SEMTABLE_SIZE)
#define G_CHAN 0x2400
#define G_SEMA 0x2c00
#define G_SYSCALL 0x3400
#define G_NEW 0x3c00
#define M_SYSCALL 0x3f00
#define STACK_CHAN 0x4000           /* four stacks of 0x1000 bytes */
#define SUDOG_CHAN 0x6000
#define SUDOG_SEMA 0x6100
#define HCHAN 0x6400
#define ELEM_TYPE 0x6800
#define SEMA 0x7f00
#define REASON_CHAN_RECEIVE 14
#define REASON_SEMACQUIRE 18

static __u8 image[IMAGE_SIZE];

static void put(size_t off, __u64 value, size_t size)
{
	memcpy(image + off, &value, size);
}

/* a field of the struct at off, if this release has it (field >= 0) */
static void put_at(size_t off, int field, __u64 value, size_t size)
{
	if (field >= 0)
		put(off + (size_t)field, value, size);
}

static __u64 addr(size_t off)
{
	return GO_IMAGE_BASE + off;
}

/* the runtime's wait reasons, as Go 1.19 numbers them */
static const char *const reasons[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",
	"dumping heap", "garbage collection", "garbage collection scan", "panicwait", "select",
	"select (no cases)", "GC assist wait", "GC sweep wait", "GC scavenge wait",
	"chan receive", "chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep",
	"sync.Cond.Wait", "timer goroutine (idle)",
};
#define REASON_COUNT (sizeof(reasons) / sizeof(reasons[0]))

static void put_g(const struct go_layout *l, size_t g, __u64 goid, __u32 status, __u8 reason,
		  size_t stack)
{
	put_at(g, l->goid, goid, 8);
	put_at(g, l->atomicstatus, status, 4);
	put_at(g, l->waitreason, reason, 1);
	put_at(g, l->stack_lo, addr(stack), 8);
	put_at(g, l->stack_hi, addr(stack + 0x1000), 8);
	put_at(g, l->gopc, GO_IMAGE_TEXT + 0x500, 8);
	put_at(g, l->startpc, GO_IMAGE_TEXT + 0x600, 8);
	put_at(g, l->parent_goid, 1, 8);
	put_at(g, l->waitsince, 1, 8);
}

static void build(const struct go_layout *l)
{
	const struct go_wait_layout *w = &l->wait;
	size_t strings = GO_IMAGE_REASONS + 256 * 16, sp, bp;

	memset(image, 0, sizeof(image));
	put(GO_IMAGE_ALLGLEN, 4, 8);
	put(GO_IMAGE_ALLGS, addr(0x2000), 8);
	put(GO_IMAGE_ALLGS + 8, 4, 8);
	put(GO_IMAGE_ALLGS + 16, 4, 8);
	put(0x2000, addr(G_CHAN), 8);
	put(0x2008, addr(G_SEMA), 8);
	put(0x2010, addr(G_SYSCALL), 8);
	put(0x2018, addr(G_NEW), 8);
	for (size_t i = 0; i < REASON_COUNT; i++) {
		put(GO_IMAGE_REASONS + i * 16, addr(strings), 8);
		put(GO_IMAGE_REASONS + i * 16 + 8, strlen(reasons[i]), 8);
		memcpy(image + strings, reasons[i], strlen(reasons[i]));
		strings += strlen(reasons[i]);
	}

	/* parked on a channel: three frames by frame pointer, a sudog, the hchan */
	put_g(l, G_CHAN, 1, GO_STATUS_WAITING, REASON_CHAN_RECEIVE, STACK_CHAN);
	sp = STACK_CHAN + 0xe00;
	bp = sp + 0x40;
	put_at(G_CHAN, l->sched_sp, addr(sp), 8);
	put_at(G_CHAN, l->sched_pc, GO_IMAGE_TEXT + 0x100, 8);
	put_at(G_CHAN, l->sched_bp, addr(bp), 8);
	put_at(G_CHAN, l->waiting, addr(SUDOG_CHAN), 8);
	for (int frame = 0; frame < 3; frame++, bp += 0x40) {
		put(bp, frame < 2 ? addr(bp + 0x40) : 0, 8);
		put(bp + 8, GO_IMAGE_TEXT + 0x200 + 0x100 * (__u64)frame, 8);
	}
	put_at(SUDOG_CHAN, w->sudog_g, addr(G_CHAN), 8);
	put_at(SUDOG_CHAN, w->sudog_c, addr(HCHAN), 8);
	put_at(SUDOG_CHAN, w->sudog_elem, addr(0x6300), 8);
	put_at(HCHAN, w->hchan_dataqsiz, 4, 8);
	put_at(HCHAN, w->hchan_elemtype, addr(ELEM_TYPE), 8);
	put_at(HCHAN, w->hchan_recvq, addr(SUDOG_CHAN), 8);
	put(ELEM_TYPE + 40, 0x6900, 4); /* str: its name, from runtime.types */
	memcpy(image + 0x6900, "\x01\x04*int", 6);

	/* parked on a semaphore: found through the semtable's treap */
	put_g(l, G_SEMA, 2, GO_STATUS_WAITING, REASON_SEMACQUIRE, STACK_CHAN + 0x1000);
	put_at(G_SEMA, l->sched_sp, addr(STACK_CHAN + 0x1f00), 8);
	put_at(G_SEMA, l->sched_pc, GO_IMAGE_TEXT + 0x700, 8);
	put_at(SUDOG_SEMA, w->sudog_g, addr(G_SEMA), 8);
	put_at(SUDOG_SEMA, w->sudog_elem, addr(SEMA), 8);
	if (w->semaroot_treap >= 0)
		put(GO_IMAGE_SEMTABLE + (addr(SEMA) >> 3) % 251 * 64 + (size_t)w->semaroot_treap,
		    addr(SUDOG_SEMA), 8);

	/* in a system call, on thread 4242 */
	put_g(l, G_SYSCALL, 3, GO_STATUS_SYSCALL, 0, STACK_CHAN + 0x2000);
	put_at(G_SYSCALL, l->syscallsp, addr(STACK_CHAN + 0x2f00), 8);
	put_at(G_SYSCALL, l->syscallpc, GO_IMAGE_TEXT + 0x800, 8);
	put_at(G_SYSCALL, l->m, addr(M_SYSCALL), 8);
	put_at(M_SYSCALL, l->m_procid, 4242, 8);

	/* never run: pc is its start, goexit's pc waits at sp */
	put_g(l, G_NEW, 4, GO_STATUS_RUNNABLE, 0, STACK_CHAN + 0x3000);
	put_at(G_NEW, l->sched_sp, addr(STACK_CHAN + 0x3ff0), 8);
	put_at(G_NEW, l->sched_pc, GO_IMAGE_TEXT + 0x600, 8);
	put(STACK_CHAN + 0x3ff0, GO_IMAGE_TEXT + 0xa00, 8);
}

static int write_seed(const char *dir, int minor, __u8 flags)
{
	struct go_image_header header = { .reason_count = REASON_COUNT, .flags = flags };
	char path[4096];
	FILE *f;
	int ok;

	header.release = (__u8)(minor - GO_IMAGE_OLDEST);
	snprintf(path, sizeof(path), "%s/go1.%d%s%s", dir, minor,
		 flags & GO_IMAGE_ALLGPTR ? "-allgptr" : "", flags & GO_IMAGE_PCSP ? "-pcsp" : "");
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return 1;
	}
	ok = fwrite(&header, sizeof(header), 1, f) == 1 && fwrite(image, sizeof(image), 1, f) == 1;
	return fclose(f) || !ok;
}

int main(int argc, char **argv)
{
	static const int minors[] = { 19, 22, 26 };
	struct go_layout layout;
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make_go_images OUTDIR\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
		if (!golayout__table(minors[i], &layout))
			continue;
		build(&layout);
		failed |= write_seed(argv[1], minors[i], 0);
		failed |= write_seed(argv[1], minors[i], GO_IMAGE_PCSP);
		failed |= write_seed(argv[1], minors[i], GO_IMAGE_ALLGPTR);
	}
	return failed;
}
