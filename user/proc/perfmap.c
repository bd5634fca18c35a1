// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* JIT code names from perf map files (perfmap.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "proc/perfmap.h"
#include "util/procfs.h"

struct perfmap {
	pid_t pid;                  /* 0: path and owner were given */
	bool located;               /* path, owner and module are known */
	char path[PATH_MAX];
	char module[64];
	uid_t owner;
	/* what the last read saw of the file; all 0 when there was none */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *text;                 /* the file's bytes; entry names point into it */
	struct perfmap_entry *entries; /* sorted by start, not overlapping */
	size_t count, skipped;
	__u64 lo, hi;               /* the span of all entries: the module's extent */
};

struct perfmap *perfmap__new(pid_t pid)
{
	struct perfmap *map = calloc(1, sizeof(*map));

	if (map)
		map->pid = pid;
	return map;
}

struct perfmap *perfmap__new_path(const char *path, uid_t owner, const char *module)
{
	struct perfmap *map = calloc(1, sizeof(*map));

	if (!map)
		return NULL;
	snprintf(map->path, sizeof(map->path), "%s", path);
	snprintf(map->module, sizeof(map->module), "%s", module);
	map->owner = owner;
	map->located = true;
	return map;
}

static void forget_entries(struct perfmap *map)
{
	free(map->entries);
	free(map->text);
	map->entries = NULL;
	map->text = NULL;
	map->count = map->skipped = 0;
	map->lo = map->hi = 0;
}

void perfmap__free(struct perfmap *map)
{
	if (!map)
		return;
	forget_entries(map);
	free(map);
}

/* The file the process writes, seen through its root, and who may own it:
 * its user (the owner of /proc/PID) or root. */
static bool locate(struct perfmap *map)
{
	char proc_dir[32];
	struct stat st;
	pid_t ns_pid;

	if (map->located)
		return true;
	snprintf(proc_dir, sizeof(proc_dir), "/proc/%d", map->pid);
	if (stat(proc_dir, &st))
		return false;
	ns_pid = procfs__ns_pid(map->pid);
	if (!ns_pid)
		ns_pid = map->pid;
	/* inside the process's root (its container) */
	snprintf(map->path, sizeof(map->path), "/tmp/perf-%d.map", ns_pid);
	snprintf(map->module, sizeof(map->module), "[perf-%d.map]", ns_pid);
	map->owner = st.st_uid;
	map->located = true;
	return true;
}

/* O_NOFOLLOW: the file's own owner is checked, not a link's; O_NONBLOCK: a
 * FIFO in its place must not hang the read.  A process's map is resolved
 * in its root, with this process's own rights. */
static int open_map_file(const struct perfmap *map)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root_path[32];
	int root, fd;

	if (!map->pid)
		return open(map->path, (int)how.flags);
	snprintf(root_path, sizeof(root_path), "/proc/%d/root", map->pid);
	root = procfs__open(root_path, O_PATH | O_DIRECTORY);
	if (root < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, root, map->path, &how, sizeof(how));
	close(root);
	return fd;
}

static bool parse_hex(const char **at, __u64 *value)
{
	const char *p = *at;
	__u64 v = 0;
	int digits = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (;; p++, digits++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (digits == 16)
			return false;
		v = v << 4 | (__u64)d;
	}
	if (!digits)
		return false;
	*value = v;
	*at = p;
	return true;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One line, NUL-terminated, into entry: false when it is no `START SIZE
 * name` line (name: the rest of the line, printable, not empty). */
static bool parse_line(char *line, size_t len, struct perfmap_entry *entry)
{
	const char *p = line;
	__u64 start, size;
	size_t name_len;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!parse_hex(&p, &start) || (*p != ' ' && *p != '\t'))
		return false;
	p = skip_blanks(p);
	if (!parse_hex(&p, &size) || (*p != ' ' && *p != '\t'))
		return false;
	p = skip_blanks(p);
	name_len = len - (size_t)(p - line);
	if (!start || !size || start + size < start || !name_len || name_len > PERFMAP_MAX_NAME)
		return false;
	for (size_t i = 0; i < name_len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	entry->start = start;
	entry->end = start + size;
	entry->name = p;
	return true;
}

static int by_start_then_line(const void *a, const void *b)
{
	const struct perfmap_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Sorted by start, then made disjoint: code freed and reused shows up as a
 * later line over an earlier one (Node, Python append as they go), so on
 * an overlap the later line keeps the bytes and the earlier one keeps what
 * lies before it (a tail beyond the later one is dropped).
 */
static void make_disjoint(struct perfmap *map)
{
	size_t out = 0;

	if (map->count) /* entries is NULL when no line parsed */
		qsort(map->entries, map->count, sizeof(map->entries[0]), by_start_then_line);
	for (size_t i = 0; i < map->count; i++) {
		struct perfmap_entry cur = map->entries[i];

		while (out && map->entries[out - 1].end > cur.start) {
			struct perfmap_entry *prev = &map->entries[out - 1];

			if (cur.line > prev->line) {
				prev->end = cur.start;
				if (prev->end > prev->start)
					break;
				out--;  /* nothing left of it */
			} else {
				cur.start = prev->end;
				break;
			}
		}
		if (cur.end > cur.start)
			map->entries[out++] = cur;
	}
	map->count = out;
	map->lo = out ? map->entries[0].start : 0;
	map->hi = out ? map->entries[out - 1].end : 0;
}

/* Splits text (len bytes, NUL-terminated) into entries.  A last line
 * without its newline is being written: it is left for the next read. */
static int parse_text(struct perfmap *map, char *text, size_t len)
{
	size_t capacity = 0, line_no = 0;
	char *line = text, *end = text + len;

	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		struct perfmap_entry entry;

		if (!nl)
			break;
		*nl = '\0';
		line_no++;
		if (map->count == PERFMAP_MAX_ENTRIES ||
		    !parse_line(line, (size_t)(nl - line), &entry)) {
			map->skipped++;
			line = nl + 1;
			continue;
		}
		if (map->count == capacity) {
			size_t grown_capacity = capacity ? capacity * 2 : 1024;
			struct perfmap_entry *grown;

			if (grown_capacity > PERFMAP_MAX_ENTRIES)
				grown_capacity = PERFMAP_MAX_ENTRIES;
			grown = realloc(map->entries, grown_capacity * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			map->entries = grown;
			capacity = grown_capacity;
		}
		entry.line = line_no;
		map->entries[map->count++] = entry;
		line = nl + 1;
	}
	make_disjoint(map);
	return 0;
}

int perfmap__parse(struct perfmap *map, char *text, size_t len)
{
	int err;

	forget_entries(map);
	map->text = text;
	err = parse_text(map, text, len);
	if (err)
		forget_entries(map);
	return err;
}

/* Up to PERFMAP_MAX_BYTES of fd (a regular file of st->st_size bytes). */
static char *read_bounded(int fd, const struct stat *st, size_t *len, size_t *cut)
{
	size_t want = (size_t)st->st_size, got = 0;
	char *text;

	*cut = 0;
	if (want > PERFMAP_MAX_BYTES) {
		*cut = want - PERFMAP_MAX_BYTES;
		want = PERFMAP_MAX_BYTES;
	}
	text = malloc(want + 1);
	if (!text)
		return NULL;
	while (got < want) {
		ssize_t n = read(fd, text + got, want - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	*len = got;
	return text;
}

static bool same_file(const struct perfmap *map, const struct stat *st)
{
	return map->dev == st->st_dev && map->ino == st->st_ino && map->size == st->st_size &&
	       map->mtime.tv_sec == st->st_mtim.tv_sec && map->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void remember_file(struct perfmap *map, const struct stat *st)
{
	map->dev = st ? st->st_dev : 0;
	map->ino = st ? st->st_ino : 0;
	map->size = st ? st->st_size : 0;
	map->mtime = st ? st->st_mtim : (struct timespec){ 0 };
}

/* An empty map, returning whether that is a change. */
static int clear(struct perfmap *map)
{
	bool had = map->count || map->size;

	forget_entries(map);
	remember_file(map, NULL);
	return had;
}

int perfmap__refresh(struct perfmap *map)
{
	size_t len, cut;
	struct stat st;
	char *text;
	int fd, err;

	if (!locate(map))
		return clear(map);
	fd = open_map_file(map);
	if (fd < 0)
		return clear(map);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_uid != map->owner && st.st_uid != 0)) {
		close(fd);
		return clear(map);
	}
	if (same_file(map, &st)) {
		close(fd);
		return 0;
	}
	text = read_bounded(fd, &st, &len, &cut);
	close(fd);
	if (!text)
		return -ENOMEM;
	remember_file(map, &st);
	err = perfmap__parse(map, text, len);
	if (err)
		return err;
	/* lines past the byte bound count as skipped, roughly */
	if (cut)
		map->skipped++;
	return 1;
}

const struct perfmap_entry *perfmap__find(const struct perfmap *map, __u64 pc)
{
	size_t lo = 0, hi;

	if (!map || !map->count || pc < map->lo || pc >= map->hi)
		return NULL;
	/* the last entry starting at or below pc */
	for (hi = map->count; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (map->entries[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pc >= map->entries[lo - 1].end)
		return NULL;
	return &map->entries[lo - 1];
}

struct symbol *perfmap__symbol(const struct perfmap *map, __u64 pc)
{
	const struct perfmap_entry *entry = perfmap__find(map, pc);
	struct symbol *symbol;

	if (!entry)
		return NULL;
	symbol = symbol__new(1);
	if (!symbol)
		return NULL;
	symbol->frame_count = 1;
	symbol->frames[0].function = strdup(entry->name);
	symbol->frames[0].function_offset = pc - entry->start;
	symbol->frames[0].pc = pc;
	symbol->module = strdup(map->module);
	/* one module for the whole JIT span, as pprof wants one mapping */
	symbol->module_offset = pc;
	symbol->module_start = map->lo;
	symbol->module_end = map->hi;
	if (!symbol->frames[0].function || !symbol->module) {
		symbol__put(symbol);
		return NULL;
	}
	return symbol;
}

bool perfmap__is_jit_symbol(const struct symbol *symbol)
{
	const char *module = symbol ? symbol->module : NULL;
	size_t len = module ? strlen(module) : 0;

	return len > 10 && !strncmp(module, "[perf-", 6) && !strcmp(module + len - 5, ".map]");
}

size_t perfmap__count(const struct perfmap *map)
{
	return map ? map->count : 0;
}

size_t perfmap__skipped(const struct perfmap *map)
{
	return map ? map->skipped : 0;
}
