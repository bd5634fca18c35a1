// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Opening a goproc (goproc.h): what the binary says (gobinary.c,
 * golayout.c), checked against the process before anything is read
 * through it: runtime.allgs must hold a list of g's, and runtime.g's
 * layout must make sense of the first ones, strictly so when it is a
 * guess for a release newer than the table.  When goroutines can't be
 * read, why says why in a phrase; when they are read with a guessed
 * layout, it says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libelf.h>
#include "go/gobinary.h"
#include "go/golayout.h"
#include "go/gomem.h"
#include "go/goproc.h"
#include "go/gounwind.h"
#include "go/gowait.h"
#include "util/clock.h"
#include "util/procfs.h"

static int by_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int open_exe(pid_t pid, struct stat *st)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = procfs__open(path, O_RDONLY);
	if (fd < 0)
		return fd == -ENOENT ? -ESRCH : gomem__errno(-fd);
	if (fstat(fd, st)) {
		int err = gomem__errno(errno);

		close(fd);
		return err;
	}
	return fd;
}

/* 5 and 7 are unused; 10 and 11 came with Go 1.26 */
static bool known_status(__u32 status)
{
	return status <= GO_STATUS_DEAD_EXTRA && status != 5 && status != 7; /* 5, 7: unused */
}

#define CHECK_DEADLINE_NS (50 * NSEC_PER_MSEC) /* re-reads of a process caught mid-change */

struct allg_words {
	__u64 len, slice[3], array;
};

/* One read of allglen, allgs and allgptr: 0 and *sane, or the errno of a
 * variable that can't be read. */
static int read_allg_words(struct goproc *gp, struct allg_words *w, bool *sane)
{
	__u64 first[16], n;
	int err;

	memset(w, 0, sizeof(*w));
	err = gomem__read(gp, gp->allglen, &w->len, sizeof(w->len));
	if (!err && gp->allgs)
		err = gomem__read(gp, gp->allgs, w->slice, sizeof(w->slice));
	if (!err && gp->allgptr)
		err = gomem__read(gp, gp->allgptr, &w->array, sizeof(w->array));
	if (err)
		return err;
	if (!gp->allgptr)
		w->array = w->slice[0];
	*sane = w->len <= GO_MAX_GOROUTINES && (!w->len || user_ptr(w->array)) &&
		(!gp->allgs || (w->slice[1] == w->len && w->slice[1] <= w->slice[2] &&
				w->slice[2] <= GO_MAX_GOROUTINES && w->slice[0] == w->array));
	n = w->len < 16 ? w->len : 16;
	if (*sane && n && gomem__read(gp, w->array, first, n * 8))
		*sane = false;
	for (__u64 i = 0; *sane && i < n; i++)
		*sane = user_ptr(first[i]);
	return 0;
}

/*
 * Whatever found runtime.allgs (.symtab, or runtime.allgadd's code), it
 * must hold a slice of g pointers: len <= cap, allglen equal to len,
 * allgptr its array, the first entries user pointers.  allgadd changes
 * them one after the other under its lock: a read between two of its
 * stores is taken again, until a deadline.
 */
static int check_allgs(struct goproc *gp, const struct go_symbols *syms, char *why,
		       size_t why_size)
{
	__u64 deadline = clock__monotonic_ns() + CHECK_DEADLINE_NS;
	struct allg_words w;
	bool sane = false;
	int err;

	do {
		err = read_allg_words(gp, &w, &sane);
		if (err)
			return err; /* -EFAULT: the process's memory isn't the binary's */
	} while (!sane && clock__monotonic_ns() < deadline);
	if (!sane) {
		snprintf(why, why_size, "runtime.allgs, as %s says, holds no list of goroutines "
			 "(allglen %llu, len %llu, cap %llu)",
			 syms->from_code ? "runtime.allgadd's code" : ".symtab",
			 (unsigned long long)w.len, (unsigned long long)w.slice[1],
			 (unsigned long long)w.slice[2]);
		return -ENODATA;
	}
	return 0;
}

static void layout_name(const struct goproc *gp, char *buf, size_t size)
{
	if (gp->layout.from_dwarf)
		snprintf(buf, size, "its DWARF's");
	else
		snprintf(buf, size, "go1.%d's", gp->layout_guess ? gp->layout_guess : gp->minor);
}

/*
 * The layout makes sense of the first g's in allgs: the main goroutine and
 * the runtime's own, which live as long as the process, so some must read
 * as live, with a known status and sane fields.  A wrong table entry or an
 * unforeseen runtime.g would otherwise read as nothing, or as goroutines
 * that are all dropped.
 */
static int check_layout(struct goproc *gp, char *why, size_t why_size)
{
	const struct go_layout *l = &gp->layout;
	size_t len = 0, claimed = 0, live = 0, sane = 0;
	char name[32];
	__u8 raw[1024];
	int err;

	layout_name(gp, name, sizeof(name));
	if ((size_t)l->g_read_size > sizeof(raw)) {
		snprintf(why, why_size, "%s runtime.g is larger than parkwatch reads", name);
		return -ENODATA;
	}
	err = gomem__read_allgs(gp, 16, &len, &claimed);
	if (err == -EBADMSG)
		snprintf(why, why_size, "runtime.allgs changed into no list of goroutines");
	if (err)
		return err == -EBADMSG ? -ENODATA : err;
	for (size_t i = 0; i < len; i++) {
		struct graw g;

		if (!user_ptr(gp->ptrs[i]) || gomem__read(gp, gp->ptrs[i], raw, l->g_read_size))
			continue;
		gounwind__decode(l, gp->ptrs[i], raw, &g);
		if (go_status_dead(g.status))
			continue;
		live++;
		sane += known_status(g.status) && gounwind__consistent(gp, &g);
	}
	if (!len || (sane && sane * 2 >= live))
		return 0;
	snprintf(why, why_size, "its first goroutines make no sense read with %s layout of "
		 "runtime.g (%zu of %zu live ones sane)", name, sane, live);
	return -ENODATA;
}

#define GUESS_GS 64                 /* g's a guessed layout is checked on */

static bool in_maps(const struct range *maps, size_t count, __u64 lo, __u64 hi)
{
	for (size_t i = 0; i < count; i++)
		if (lo >= maps[i].lo && hi <= maps[i].hi)
			return true;
	return false;
}

/* Where it started and who started it: a function's entry, and a pc in
 * the code. */
static bool guess_placed(const struct goproc *gp, const struct graw *g)
{
	struct pclntab_func func;

	return in_range(&gp->text, g->gopc) && g->startpc >= gp->bias &&
	       (!gp->pcln_buf || (!pclntab__find(&gp->pcln, g->startpc - gp->bias, &func) &&
				  func.entry == g->startpc - gp->bias));
}

/*
 * One g of a guessed layout: a known status; live, a goid not seen before
 * and a stack inside one mapping of the process, with its saved sp inside
 * it and its pc in the code, and a wait reason the binary has.  NULL, or
 * the check it failed.
 */
static const char *guess_fails(const struct goproc *gp, const struct graw *g,
			       const struct range *maps, size_t map_count, const __u64 *goids,
			       size_t seen)
{
	if (!known_status(g->status))
		return "a status the runtime doesn't have";
	if (go_status_dead(g->status))
		return NULL;
	if (!g->goid || g->goid > (1ULL << 40))
		return "a goroutine id out of range";
	for (size_t k = 0; k < seen; k++)
		if (goids[k] == g->goid)
			return "one goroutine id twice";
	if (g->hi <= g->lo || !in_maps(maps, map_count, g->lo, g->hi))
		return "a stack outside the process's memory";
	if (gounwind__has_stack(g) && (g->sp < g->lo || g->sp >= g->hi))
		return "a saved stack pointer outside its stack";
	if (gounwind__has_saved_stack(g->status) && !in_range(&gp->text, g->pc))
		return "a saved pc outside the code";
	if (g->status == GO_STATUS_WAITING && gp->reason_count && g->reason >= gp->reason_count)
		return "a wait reason the runtime doesn't have";
	return NULL;
}

/* One look at the first g's with a guessed layout: 0 with *failed NULL
 * or the check that failed, or an errno of the process as a whole. */
static int guess_once(struct goproc *gp, const struct range *maps, size_t map_count,
		      const char **failed)
{
	const struct go_layout *l = &gp->layout;
	size_t len = 0, claimed = 0, live = 0, placed = 0;
	__u64 goids[GUESS_GS];
	__u8 raw[1024];
	int err = gomem__read_allgs(gp, GUESS_GS, &len, &claimed);

	*failed = NULL;
	if (err == -EBADMSG)
		*failed = "runtime.allgs holds no list of goroutines";
	else if (err)
		return err;
	for (size_t i = 0; i < len && !*failed; i++) {
		struct graw g;

		if (gomem__read(gp, gp->ptrs[i], raw, l->g_read_size)) {
			*failed = "a goroutine that can't be read";
			break;
		}
		gounwind__decode(l, gp->ptrs[i], raw, &g);
		*failed = guess_fails(gp, &g, maps, map_count, goids, live);
		if (*failed || go_status_dead(g.status))
			continue;
		/* the main goroutine, made first, lives as long as the process
		 * (unless it called runtime.Goexit) */
		if (!i && g.goid != 1)
			*failed = "a first goroutine that isn't goroutine 1";
		placed += guess_placed(gp, &g);
		goids[live++] = g.goid;
	}
	if (!*failed && !live)
		*failed = "no live goroutine";
	/* most, not all: a cgo callback's g has no go statement */
	if (!*failed && placed * 4 < live * 3)
		*failed = "start pcs that are no function's entry, or creators outside the code";
	return 0;
}

#define GUESS_TRIES 5               /* a g caught mid-change passes the next time */

/*
 * A release newer than the layout table, read with the newest layout it
 * has: trusted only if every one of the first g's reads as a g should
 * (guess_fails: known statuses, unique goids, stacks in the process's
 * memory...), some are live, the first, if live, is goroutine 1, and most
 * started at a function's entry from a go statement in the code
 * (guess_placed).  Goids don't ascend along allgs: each P hands them out
 * from its own batch of 16, and a g reused after its goroutine exited
 * takes a new one.
 */
static int check_guess(struct goproc *gp, char *why, size_t why_size)
{
	const char *failed = "runtime.g is larger than parkwatch reads";
	size_t map_count = 0;
	struct range *maps;
	int err;

	if ((size_t)gp->layout.g_read_size <= 1024) {
		err = gomem__read_maps(gp->pid, &maps, &map_count);
		if (err)
			return err;
		for (int i = 0; i < GUESS_TRIES && !err && failed; i++)
			err = guess_once(gp, maps, map_count, &failed);
		free(maps);
		if (err)
			return err;
	}
	if (failed) {
		snprintf(why, why_size, "%s is newer than this parkwatch knows, and go1.%d's "
			 "layout of runtime.g failed on its goroutines: %s", gp->version,
			 gp->layout_guess, failed);
		return -ENODATA;
	}
	snprintf(why, why_size, "%s is newer than this parkwatch knows; its goroutines read with "
		 "go1.%d's layout, which matched every check", gp->version, gp->layout_guess);
	return 0;
}

static int goproc_load(struct goproc *gp, Elf *elf, const struct stat *exe,
		       struct golayout_cache *layouts, char *why, size_t why_size)
{
	struct go_symbols syms = { 0 };
	bool want_wrappers;
	int err;

	err = gobinary__read(gp, elf, exe, &syms, why, why_size);
	if (err)
		return err;
	err = check_allgs(gp, &syms, why, why_size);
	if (err)
		return err;
	if (!gp->version[0] && syms.build_version &&
	    !gomem__read_string(gp, syms.build_version, gp->version, sizeof(gp->version)))
		gp->minor = gobinary__version_minor(gp->version);
	if (!gp->version[0])
		snprintf(gp->version, sizeof(gp->version), "unknown");

	err = gobinary__read_wrappers(gp);
	if (err == -ENOMEM)
		return err;
	want_wrappers = err != 0;
	err = golayout__read_cached(gp, elf, want_wrappers, layouts, exe);
	if (err == -ENODATA) {
		if (gp->minor)
			snprintf(why, why_size, "%s has no DWARF, and this parkwatch knows "
				 "runtime.g's layout for go1.19 to go1.%d only", gp->version,
				 golayout__newest());
		else
			snprintf(why, why_size, "neither its Go version nor DWARF says runtime.g's "
				 "layout");
	}
	if (err)
		return err;
	/* goproc__is_wrapper searches them */
	qsort(gp->wrappers, gp->wrapper_count, sizeof(*gp->wrappers), by_range);

	if (syms.reasons) {
		err = gomem__read_wait_reasons(gp, syms.reasons, syms.reasons_size);
		if (err == -ENOMEM || err == -ESRCH || err == -EACCES)
			return err;
		/* else: reasons stay unknown, the codes are still reported */
	}
	return gp->layout_guess ? check_guess(gp, why, why_size) :
				  check_layout(gp, why, why_size);
}

int goproc__open(pid_t pid, struct golayout_cache *layouts, struct goproc **out, char *why,
		 size_t why_size)
{
	struct goproc *gp;
	struct stat exe;
	Elf *elf;
	int fd, err;

	*out = NULL;
	if (why_size)
		why[0] = '\0';
	if (pid <= 0)
		return -ESRCH;
	elf_version(EV_CURRENT);
	fd = open_exe(pid, &exe);
	if (fd < 0)
		return fd;
	elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL); /* golayout hides sections */
	if (!elf) {
		close(fd);
		return -ENOEXEC;
	}
	gp = calloc(1, sizeof(*gp));
	if (!gp) {
		err = -ENOMEM;
		goto out;
	}
	gp->pid = pid;
	gp->mem_fd = -1;
	err = goproc_load(gp, elf, &exe, layouts, why, why_size);
	if (!err)
		err = gomem__batch_new(gp->layout.g_read_size, &gp->batch);
	if (err) {
		goproc__free(gp);
		gp = NULL;
	}
	*out = gp;
	if (err && err != -ENODATA && why_size)
		why[0] = '\0'; /* the errno says it all */
	else if (err == -ENODATA && why_size && !why[0])
		snprintf(why, why_size, "its binary doesn't say where they are");
out:
	elf_end(elf);
	close(fd);
	return err;
}

void goproc__free(struct goproc *gp)
{
	if (!gp)
		return;
	for (size_t i = 0; i < gp->reason_count; i++)
		free(gp->reasons[i]);
	free(gp->reasons);
	free(gp->runtime_funcs);
	free(gp->wrappers);
	free(gp->pcln_buf);
	free(gp->sp_cache);
	gomem__batch_free(gp->batch);
	gowait__free(gp);
	free(gp->ptrs);
	if (gp->mem_fd >= 0)
		close(gp->mem_fd);
	free(gp);
}

