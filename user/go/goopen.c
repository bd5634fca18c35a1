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
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : gomem__errno(errno);
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
	return status <= 11 && status != 5 && status != 7;
}

/*
 * Whatever found runtime.allgs (.symtab, or runtime.allgadd's code), it
 * must hold a slice of g pointers: len <= cap, allglen equal to len,
 * allgptr its array, the first entries user pointers.  allgadd changes
 * them one after the other under its lock: a read between two of its
 * stores is taken again.
 */
static int check_allgs(struct goproc *gp, const struct go_symbols *syms, char *why,
		       size_t why_size)
{
	__u64 len = 0, slice[3] = { 0 }, array = 0, first[16];
	bool sane = false;
	int err = 0;

	for (int attempt = 0; attempt < 3 && !err && !sane; attempt++) {
		__u64 n;

		err = gomem__read(gp, gp->allglen, &len, sizeof(len));
		if (!err && gp->allgs)
			err = gomem__read(gp, gp->allgs, slice, sizeof(slice));
		if (!err && gp->allgptr)
			err = gomem__read(gp, gp->allgptr, &array, sizeof(array));
		if (err)
			break;
		if (!gp->allgptr)
			array = slice[0];
		sane = len <= GO_MAX_GOROUTINES && (!len || user_ptr(array)) &&
		       (!gp->allgs || (slice[1] == len && slice[1] <= slice[2] &&
				       slice[2] <= GO_MAX_GOROUTINES && slice[0] == array));
		n = len < 16 ? len : 16;
		if (sane && n && !(err = gomem__read(gp, array, first, n * 8)))
			for (__u64 i = 0; i < n; i++)
				sane = sane && user_ptr(first[i]);
	}
	if (err)
		return err; /* -EFAULT: the process's memory isn't the binary's */
	if (!sane) {
		snprintf(why, why_size, "runtime.allgs, as %s says, holds no list of goroutines "
			 "(allglen %llu, len %llu, cap %llu)",
			 syms->from_code ? "runtime.allgadd's code" : ".symtab",
			 (unsigned long long)len, (unsigned long long)slice[1],
			 (unsigned long long)slice[2]);
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
	size_t len = 0, live = 0, sane = 0;
	char name[32];
	__u8 raw[1024];
	int err;

	layout_name(gp, name, sizeof(name));
	if ((size_t)l->g_read_size > sizeof(raw)) {
		snprintf(why, why_size, "%s runtime.g is larger than parkwatch reads", name);
		return -ENODATA;
	}
	err = gomem__read_allgs(gp, &len);
	if (err == -EBADMSG)
		snprintf(why, why_size, "runtime.allgs changed into no list of goroutines");
	if (err)
		return err == -EBADMSG ? -ENODATA : err;
	for (size_t i = 0; i < len && i < 16; i++) {
		struct graw g;

		if (!user_ptr(gp->ptrs[i]) || gomem__read(gp, gp->ptrs[i], raw, l->g_read_size))
			continue;
		gounwind__decode(l, gp->ptrs[i], raw, &g);
		if (g.status == GO_STATUS_DEAD || g.status == GO_STATUS_IDLE)
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
	if (g->status == GO_STATUS_DEAD || g->status == GO_STATUS_IDLE)
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

/*
 * A release newer than the layout table, read with the newest layout it
 * has: trusted only if every one of the first g's reads as a g should
 * (guess_fails), some are live, and their goids mostly ascend, as allgs
 * keeps goroutines in the order they were first created.
 */
static int check_guess(struct goproc *gp, char *why, size_t why_size)
{
	const struct go_layout *l = &gp->layout;
	size_t len = 0, map_count = 0, live = 0, ascending = 0;
	const char *failed = NULL;
	__u64 goids[GUESS_GS];
	struct range *maps;
	__u8 raw[1024];
	int err;

	if ((size_t)l->g_read_size > sizeof(raw)) {
		snprintf(why, why_size, "%s is newer than this parkwatch knows, and go1.%d's "
			 "runtime.g is larger than parkwatch reads", gp->version, gp->layout_guess);
		return -ENODATA;
	}
	err = gomem__read_allgs(gp, &len);
	if (!err)
		err = gomem__read_maps(gp->pid, &maps, &map_count);
	if (err == -EBADMSG)
		failed = "runtime.allgs holds no list of goroutines";
	else if (err)
		return err;
	for (size_t i = 0; i < len && i < GUESS_GS && !failed; i++) {
		struct graw g;

		if (gomem__read(gp, gp->ptrs[i], raw, l->g_read_size)) {
			failed = "a goroutine that can't be read";
			break;
		}
		gounwind__decode(l, gp->ptrs[i], raw, &g);
		failed = guess_fails(gp, &g, maps, map_count, goids, live);
		if (failed || g.status == GO_STATUS_DEAD || g.status == GO_STATUS_IDLE)
			continue;
		ascending += live && g.goid > goids[live - 1];
		goids[live++] = g.goid;
	}
	if (!err)
		free(maps);
	if (!failed && !live)
		failed = "no live goroutine";
	if (!failed && ascending * 4 < (live - 1) * 3)
		failed = "goroutine ids out of order";
	if (failed) {
		snprintf(why, why_size, "%s is newer than this parkwatch knows, and go1.%d's layout "
			 "of runtime.g failed on its goroutines: %s", gp->version, gp->layout_guess,
			 failed);
		return -ENODATA;
	}
	snprintf(why, why_size, "%s is newer than this parkwatch knows; its goroutines read with "
		 "go1.%d's layout, which matched every check", gp->version, gp->layout_guess);
	return 0;
}

static int goproc_load(struct goproc *gp, Elf *elf, const struct stat *exe, char *why,
		       size_t why_size)
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

	err = gobinary__read_wrappers(gp, &syms);
	if (err == -ENOMEM)
		return err;
	want_wrappers = err != 0;
	err = golayout__read(gp, elf, want_wrappers);
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

int goproc__open(pid_t pid, struct goproc **out, char *why, size_t why_size)
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
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
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
	err = goproc_load(gp, elf, &exe, why, why_size);
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
	free(gp->ptrs);
	if (gp->mem_fd >= 0)
		close(gp->mem_fd);
	free(gp);
}

