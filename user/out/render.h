/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A picture in any output format, for the CLI and the HTTP server alike:
 * one table of renderers over one picture and its context.  A picture of
 * one goroutine process is written in Go's own shapes (debug=1/2 text, a
 * goroutine profile); any other in parkwatch's thread shapes.
 */
#ifndef PARKWATCH_RENDER_H
#define PARKWATCH_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include "model/picture.h"
#include "trend/trend.h"
#include "util/ksyms.h"
#include "util/u64map.h"

enum pw_format {
	PW_FORMAT_TEXT,
	PW_FORMAT_JSON,
	PW_FORMAT_PPROF,
	PW_FORMAT_FOLDED,
	PW_FORMAT__COUNT,
};

/* What renderers read besides the picture (and its tier-1 totals). */
struct pw_context {
	const struct trend *trend;  /* leak evidence per group, or NULL */
	const pid_t *exited;        /* watched processes that exited */
	size_t exited_count;
	const struct ksyms *ksyms;  /* names kernel frames; may be NULL */
};

struct render_opts {
	int debug;                  /* text: 1 grouped, 2 one entry per unit */
	bool kernel_stacks;
	bool folded_root;           /* folded: a root frame "comm (pid)" per line */
};

/* Writes the picture; 0 or a negative errno. */
int render__write(FILE *out, enum pw_format format, const struct pw_picture *picture,
		  const struct pw_context *ctx, const struct render_opts *opts);

/* The renderers of the table, for callers that want one directly. */
int text__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		const struct render_opts *opts);
int text_go__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		   const struct render_opts *opts);
int json__write(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
		const struct render_opts *opts);
int pprof__write_picture(FILE *out, const struct pw_picture *picture, const struct pw_context *ctx,
			 const struct render_opts *opts);
/*
 * Several processes' pictures as one profile, every sample labelled with
 * its pid: Go's goroutine profile when each is a goroutine process, else
 * parked-thread samples.  left_out matching processes that are not in it
 * are named in a comment.  0 or a negative errno.
 */
int pprof__write_merged(FILE *out, struct pw_picture *const *pictures, size_t count,
			size_t left_out, const struct pw_context *ctx);
int folded__write_picture(FILE *out, const struct pw_picture *picture,
			  const struct pw_context *ctx, const struct render_opts *opts);

/* Pieces the leak report shares: a stack as Go-style text (two lines a
 * frame) and as JSON frames, a group's trend evidence as JSON. */
void text__frames(FILE *out, const struct pw_stack *stack);
/* A goroutine's "created by F in goroutine N" and its file:line, as the Go
 * runtime's debug=2 dump shows them (with_parent false: no "in goroutine N");
 * nothing for goroutine 1 or a creator the runtime would not show.  Whether
 * a line was written. */
bool text_go__created_by(FILE *out, const struct pw_process *proc, const struct pw_unit *unit,
			 bool with_parent);
void json__frames(FILE *out, const struct pw_stack *stack);
void json__trend(FILE *out, const struct trend_group_stats *stats);

/*
 * Text that depends on one picture object alone (a stack's frames), made
 * by render once per key and copied at every later use: a leak's units
 * share their stack, and formatting is most of a dump's cost.  Rendered
 * straight to out when there is no memory for the copy.  cache starts
 * zeroed; render__cache_free empties it.
 */
int render__cached(FILE *out, struct u64map *cache, const void *key,
		   int (*render)(FILE *out, const void *key, const void *arg), const void *arg);
void render__cache_free(struct u64map *cache);

#endif /* PARKWATCH_RENDER_H */
