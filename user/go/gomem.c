// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A Go process's memory, read from outside with no ptrace stop (gomem.h):
 * ranges by process_vm_readv, or /proc/PID/mem on kernels without it; Go
 * strings; and runtime.g's read many at a time, sorted by address and
 * merged into few ranges, because each range costs far more than its bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "go/gomem.h"
#include "util/gaveup.h"
#include "util/procfs.h"

#define IOV_CHUNK 1024              /* IOV_MAX: ranges per process_vm_readv */
#define MERGE_GAP 512               /* g's closer than this are read as one range */
#define MAX_SPAN 65536
#define WINDOW_GAP 4096             /* stack windows closer than this are read as one range */
#define GO_MAX_REASONS 256          /* waitReason is a uint8 */
#define GO_MAX_REASON_LEN 64
#define PTR_CHUNK 65536             /* allgs pointers per read */

int gomem__errno(int err)
{
	switch (err) {
	case ESRCH:
		return -ESRCH;
	case EPERM:
	case EACCES:
		return -EACCES;
	case ENOMEM:
		return -ENOMEM;
	default:
		return -err;
	}
}

static int open_mem_fd(struct goproc *gp)
{
	char path[64];

	if (gp->mem_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", gp->pid);
	gp->mem_fd = procfs__open(path, O_RDONLY);
	return gp->mem_fd < 0 ? gomem__errno(-gp->mem_fd) : 0;
}

/*
 * Reads n remote ranges into their local buffers; ok[i] says which arrived
 * whole.  process_vm_readv never splits one range but stops at the first it
 * can't read, so the reading resumes after that one; it takes IOV_MAX
 * ranges at a time.  Returns 0, or -ESRCH or -EACCES for the process as a
 * whole.
 */
int gomem__read_ranges(struct goproc *gp, const struct iovec *local, const struct iovec *remote,
		       size_t n, bool *ok)
{
	size_t i = 0;
	int err;

	while (i < n && gp->mem_fd < 0) {
		size_t end = n - i < IOV_CHUNK ? n : i + IOV_CHUNK;
		ssize_t got = process_vm_readv(gp->pid, local + i, end - i, remote + i, end - i, 0);

		if (got < 0) {
			if (errno == EFAULT || errno == EINVAL) {
				ok[i++] = false;
				continue;
			}
			if (errno != ENOSYS && !(errno == EPERM && procfs__brokered()))
				return gomem__errno(errno);
			/* a kernel without CONFIG_CROSS_MEMORY_ATTACH, or no
			 * ptrace rights of our own: the broker's read-only fd */
			err = open_mem_fd(gp);
			if (err)
				return err;
			break;
		}
		while (i < end && (size_t)got >= remote[i].iov_len) {
			got -= remote[i].iov_len;
			ok[i++] = true;
		}
		if (i < end)
			ok[i++] = false;
	}
	for (; i < n; i++) {
		ssize_t got = pread(gp->mem_fd, local[i].iov_base, remote[i].iov_len,
				    (off_t)(unsigned long)remote[i].iov_base);

		if (got < 0 && errno == ESRCH)
			return -ESRCH;
		ok[i] = got == (ssize_t)remote[i].iov_len;
	}
	return 0;
}

int gomem__read(struct goproc *gp, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(unsigned long)addr, .iov_len = len };
	bool ok;
	int err = gomem__read_ranges(gp, &local, &remote, 1, &ok);

	return err ? err : ok ? 0 : -EFAULT;
}

/* A Go string header {ptr, len} at addr, copied into buf. */
int gomem__read_string(struct goproc *gp, __u64 addr, char *buf, size_t size)
{
	__u64 header[2];
	int err = gomem__read(gp, addr, header, sizeof(header));

	if (err)
		return err;
	if (!header[0] || header[1] >= size)
		return -EFAULT;
	err = gomem__read(gp, header[0], buf, header[1]);
	if (!err)
		buf[header[1]] = '\0';
	return err;
}

/* runtime.waitReasonStrings: [N]string, N = symbol size / 16. */
int gomem__read_wait_reasons(struct goproc *gp, __u64 addr, __u64 size)
{
	size_t n = size / 16 < GO_MAX_REASONS ? size / 16 : GO_MAX_REASONS;
	struct iovec local[GO_MAX_REASONS], remote[GO_MAX_REASONS];
	char text[GO_MAX_REASONS][GO_MAX_REASON_LEN + 1];
	bool ok[GO_MAX_REASONS];
	__u64 headers[GO_MAX_REASONS][2];
	size_t count = 0;
	int err;

	if (!n)
		return 0;
	err = gomem__read(gp, addr, headers, n * 16);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		__u64 len = headers[i][1] <= GO_MAX_REASON_LEN ? headers[i][1] : 0;

		local[i] = (struct iovec){ .iov_base = text[i], .iov_len = len };
		remote[i] = (struct iovec){ .iov_base = (void *)(unsigned long)headers[i][0],
					    .iov_len = len };
		text[i][len] = '\0';
	}
	err = gomem__read_ranges(gp, local, remote, n, ok);
	if (err)
		return err;
	gp->reasons = calloc(n, sizeof(*gp->reasons));
	if (!gp->reasons)
		return -ENOMEM;
	gp->reason_count = n;
	for (size_t i = 0; i < n; i++) {
		if (!ok[i] || headers[i][1] > GO_MAX_REASON_LEN)
			continue; /* an unreadable entry stays NULL: "unknown" */
		gp->reasons[i] = strdup(text[i]);
		if (!gp->reasons[i])
			return -ENOMEM;
		count++;
	}
	return count ? 0 : -EFAULT;
}

/* Kilobytes of a "Name:   N kB" line of /proc/PID/status; 0 when absent. */
static __u64 status_kib(const char *status, const char *name)
{
	const char *line = strstr(status, name);

	return line ? strtoull(line + strlen(name), NULL, 10) : 0;
}

/*
 * Every g the runtime ever made stays allocated (dead ones are reused), so
 * allglen of them, g_read_size bytes each at least, are in the process's
 * memory, resident or swapped out.  A claim past that is a lie.
 */
static bool plausible_len(struct goproc *gp, __u64 len)
{
	char status[4096];
	__u64 held_kib;

	if (len <= GO_UNCHECKED_GOROUTINES)
		return true;
	if (procfs__read(gp->pid, "status", status, sizeof(status)) <= 0)
		return true; /* gone: the reads that follow say so */
	held_kib = status_kib(status, "\nVmRSS:") + status_kib(status, "\nVmSwap:");
	return len * (__u64)gp->layout.g_read_size <= held_kib * 1024;
}

/* runtime.allglen first, then the array: the order of the runtime's own
 * lock-free readers, which keeps len within what the array holds. */
int gomem__read_allgs(struct goproc *gp, size_t max_count, size_t *count, size_t *claimed)
{
	__u64 len, array, slice[3];
	size_t done = 0;
	int err = gomem__read(gp, gp->allglen, &len, sizeof(len));

	*count = 0;
	*claimed = 0;

	if (err)
		return err == -EFAULT ? -ESRCH : err;
	if (gp->allgptr)
		err = gomem__read(gp, gp->allgptr, &array, sizeof(array));
	else if (!(err = gomem__read(gp, gp->allgs, slice, sizeof(slice))))
		array = slice[0];
	if (err)
		return err == -EFAULT ? -ESRCH : err;
	if (len > GO_MAX_GOROUTINES || (len && !user_ptr(array)))
		return -EBADMSG;
	if (!plausible_len(gp, len)) {
		gaveup__count(GAVEUP_IMPLAUSIBLE_RUNTIME);
		return -EBADMSG;
	}
	*claimed = len;
	if (len > max_count)
		len = max_count;
	if (len > gp->ptr_cap) {
		__u64 *grown = realloc(gp->ptrs, len * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		gp->ptrs = grown;
		gp->ptr_cap = len;
	}
	while (done < len) {
		size_t chunk = len - done < PTR_CHUNK ? len - done : PTR_CHUNK;

		err = gomem__read(gp, array + done * 8, gp->ptrs + done, chunk * 8);
		if (err)
			return err == -EFAULT ? -EBADMSG : err;
		done += chunk;
	}
	*count = len;
	return 0;
}

int gomem__parse_maps(FILE *maps, struct range **out, size_t *count)
{
	struct range *ranges = NULL;
	size_t n = 0, cap = 0;
	char line[512];
	bool line_start = true;

	*out = NULL;
	*count = 0;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long start, end;
		bool at_start = line_start;

		/* a long path leaves the rest of its line to the next fgets */
		line_start = strchr(line, '\n') != NULL;
		if (!at_start || sscanf(line, "%llx-%llx ", &start, &end) != 2 || end <= start)
			continue;
		if (n == cap) {
			size_t bigger = cap ? cap * 2 : 64;
			struct range *grown = realloc(ranges, bigger * sizeof(*grown));

			if (!grown) {
				free(ranges);
				return -ENOMEM;
			}
			ranges = grown;
			cap = bigger;
		}
		ranges[n++] = (struct range){ start, end };
	}
	*out = ranges;
	*count = n;
	return 0;
}

int gomem__read_maps(pid_t pid, struct range **out, size_t *count)
{
	char path[64];
	FILE *maps;
	int err;

	*out = NULL;
	*count = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = procfs__fopen(path);
	if (!maps)
		return gomem__errno(errno);
	err = gomem__parse_maps(maps, out, count);
	fclose(maps);
	return err;
}

void gomem__batch_free(struct batch *b)
{
	if (!b)
		return;
	free(b->local);
	free(b->remote);
	free(b->ok);
	free(b->g_ok);
	free(b->order);
	free(b->slot);
	free(b->span_start);
	free(b->span_at);
	free(b->raws);
	free(b->fate);
	free(b->blocked);
	free(b->sudog_buf);
	free(b->sudog_addrs);
	free(b->sudog_order);
	free(b->sudog_owner);
	free(b->gbuf);
	free(b->hbuf);
	free(b->span_buf);
	free(b->windows);
	free(b->sbuf);
	free(b->stack_at);
	free(b);
}

int gomem__batch_new(int g_size, struct batch **out)
{
	struct batch *b = calloc(1, sizeof(*b));

	*out = b;
	if (!b)
		return -ENOMEM;
	b->g_size = g_size;
	b->span_item = g_size > GO_SUDOG_MAX_READ ? g_size : GO_SUDOG_MAX_READ;
	b->local = calloc(GO_BATCH, sizeof(*b->local));
	b->remote = calloc(GO_BATCH, sizeof(*b->remote));
	b->ok = calloc(GO_BATCH, sizeof(*b->ok));
	b->g_ok = calloc(GO_BATCH, sizeof(*b->g_ok));
	b->order = calloc(GO_BATCH, sizeof(*b->order));
	b->slot = calloc(GO_BATCH, sizeof(*b->slot));
	b->span_start = calloc(GO_BATCH, sizeof(*b->span_start));
	b->span_at = calloc(GO_BATCH, sizeof(*b->span_at));
	b->raws = calloc(GO_BATCH, sizeof(*b->raws));
	b->fate = calloc(GO_BATCH, sizeof(*b->fate));
	b->blocked = calloc(GO_BATCH, sizeof(*b->blocked));
	b->sudog_buf = malloc((size_t)GO_BATCH * GO_SUDOG_MAX_READ);
	b->sudog_addrs = calloc(GO_BATCH, sizeof(*b->sudog_addrs));
	b->sudog_order = calloc(GO_BATCH, sizeof(*b->sudog_order));
	b->sudog_owner = calloc(GO_BATCH, sizeof(*b->sudog_owner));
	b->gbuf = malloc((size_t)GO_BATCH * g_size);
	b->hbuf = malloc((size_t)GO_BATCH * g_size);
	b->span_buf = malloc((size_t)GO_BATCH * (b->span_item + MERGE_GAP));
	b->stack_at = calloc(GO_BATCH, sizeof(*b->stack_at));
	b->windows = calloc(GO_BATCH, sizeof(*b->windows));
	if (!b->local || !b->remote || !b->ok || !b->g_ok || !b->order || !b->slot ||
	    !b->span_start || !b->span_at || !b->raws || !b->fate || !b->blocked || !b->sudog_buf || !b->gbuf || !b->hbuf ||
	    !b->sudog_addrs || !b->sudog_order || !b->sudog_owner ||
	    !b->span_buf || !b->stack_at || !b->windows) {
		gomem__batch_free(b);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int by_addr(const void *a, const void *b, void *ctx)
{
	const __u64 *addrs = ctx;
	__u64 x = addrs[*(const __u32 *)a], y = addrs[*(const __u32 *)b];

	return x < y ? -1 : x > y;
}

void gomem__order_by_addr(const __u64 *addrs, size_t n, __u32 *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = (__u32)i;
	qsort_r(order, n, sizeof(*order), by_addr, (void *)addrs);
}

/*
 * Adds [at, at + len) to b's spans, the ranges coming in ascending order:
 * to the last span when it begins less than gap past that span's end and
 * the span stays within MAX_SPAN, else as a span of its own, laid out after
 * the others (*used bytes so far).  Returns its span.
 */
static __u32 add_to_spans(struct batch *b, size_t *spans, size_t *used, __u64 at, size_t len,
			  size_t gap)
{
	size_t last = *spans - 1;

	if (*spans && at < b->span_start[last] + b->remote[last].iov_len + gap &&
	    at + len - b->span_start[last] <= MAX_SPAN) {
		size_t end = at + len - b->span_start[last];

		if (end > b->remote[last].iov_len) {
			*used += end - b->remote[last].iov_len;
			b->remote[last].iov_len = end;
		}
		return (__u32)last;
	}
	b->span_start[*spans] = at;
	b->span_at[*spans] = *used;
	b->remote[*spans].iov_len = len;
	*used += len;
	return (__u32)(*spans)++;
}

/* Each span's iovecs: its range in the process, its place in buf. */
static void aim_spans(struct batch *b, size_t spans, __u8 *buf)
{
	for (size_t j = 0; j < spans; j++) {
		b->remote[j].iov_base = (void *)(unsigned long)b->span_start[j];
		b->local[j] = (struct iovec){ buf + b->span_at[j], b->remote[j].iov_len };
	}
}

/*
 * Neighbours are read as one range: g's and sudogs sit side by side in
 * heap spans, and a read costs per range and page far more than per byte
 * (through /proc/PID/mem, one system call and one bounce page each).  A
 * merged range that fails is read again item by item.
 */
int gomem__read_coalesced(struct goproc *gp, struct batch *b, const __u64 *addrs,
			  const __u32 *order, size_t n, int off, int size, __u8 *dst)
{
	size_t spans = 0, used = 0, retry = 0;
	int err;

	if (n > GO_BATCH || size > b->span_item)
		return -EINVAL;
	for (size_t k = 0; k < n; k++)
		b->slot[k] = add_to_spans(b, &spans, &used, addrs[order[k]] + off, size, MERGE_GAP);
	aim_spans(b, spans, b->span_buf);
	err = gomem__read_ranges(gp, b->local, b->remote, spans, b->ok);
	if (err)
		return err;
	for (size_t k = 0; k < n; k++) {
		__u32 i = order[k], j = b->slot[k];

		b->g_ok[i] = b->ok[j];
		if (b->ok[j])
			memcpy(dst + (size_t)i * size,
			       b->span_buf + b->span_at[j] + (addrs[i] + off - b->span_start[j]), size);
	}
	/* a range spanning an unmapped hole: its g's one by one */
	for (size_t k = 0; k < n; k++) {
		__u32 i = order[k];

		if (b->g_ok[i])
			continue;
		b->local[retry] = (struct iovec){ dst + (size_t)i * size, size };
		b->remote[retry] = (struct iovec){ (void *)(unsigned long)(addrs[i] + off), size };
		b->slot[retry++] = i;
	}
	err = retry ? gomem__read_ranges(gp, b->local, b->remote, retry, b->ok) : 0;
	for (size_t r = 0; r < retry && !err; r++)
		b->g_ok[b->slot[r]] = b->ok[r];
	return err;
}

static int by_window_addr(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Stacks sit side by side in the runtime's stack spans, and a g's window
 * is mostly a few hundred bytes at the top of its stack: windows less
 * than WINDOW_GAP apart are read as one range, whose extra bytes cost far
 * less than a range each.  A merged range that fails is read again window
 * by window.
 */
int gomem__read_windows(struct goproc *gp, struct batch *b, size_t n)
{
	struct window *w = b->windows;
	size_t spans = 0, used = 0, retry = 0;
	int err;

	if (n > GO_BATCH)
		return -EINVAL;
	qsort(w, n, sizeof(*w), by_window_addr);
	for (size_t k = 0; k < n; k++) {
		__u32 j = add_to_spans(b, &spans, &used, w[k].addr, w[k].len, WINDOW_GAP);

		b->slot[k] = j;
		w[k].at = b->span_at[j] + (w[k].addr - b->span_start[j]);
	}
	if (used > b->sbuf_cap) {
		/* nothing in it is kept: no copy */
		free(b->sbuf);
		b->sbuf_cap = 0;
		b->sbuf = malloc(used);
		if (!b->sbuf)
			return -ENOMEM;
		b->sbuf_cap = used;
	}
	aim_spans(b, spans, b->sbuf);
	err = gomem__read_ranges(gp, b->local, b->remote, spans, b->ok);
	if (err)
		return err;
	for (size_t k = 0; k < n; k++) {
		w[k].ok = b->ok[b->slot[k]];
		if (w[k].ok)
			continue;
		b->local[retry] = (struct iovec){ b->sbuf + w[k].at, w[k].len };
		b->remote[retry] = (struct iovec){ (void *)(unsigned long)w[k].addr, w[k].len };
		b->slot[retry++] = (__u32)k;
	}
	err = retry ? gomem__read_ranges(gp, b->local, b->remote, retry, b->ok) : 0;
	for (size_t r = 0; r < retry && !err; r++)
		w[b->slot[r]].ok = b->ok[r];
	return err;
}
