// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The table of renderers (render.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "out/render.h"

typedef int (*render_fn)(FILE *out, const struct pw_picture *picture,
			 const struct pw_context *ctx, const struct render_opts *opts);

static const render_fn renderers[PW_FORMAT__COUNT] = {
	[PW_FORMAT_TEXT] = text__write,
	[PW_FORMAT_JSON] = json__write,
	[PW_FORMAT_PPROF] = pprof__write_picture,
	[PW_FORMAT_FOLDED] = folded__write_picture,
};

int render__write(FILE *out, enum pw_format format, const struct pw_picture *picture,
		  const struct pw_context *ctx, const struct render_opts *opts)
{
	int err;

	if (format < 0 || format >= PW_FORMAT__COUNT)
		return -EINVAL;
	if (format == PW_FORMAT_TEXT && picture__goroutine_process(picture))
		err = text_go__write(out, picture, ctx, opts);
	else
		err = renderers[format](out, picture, ctx, opts);
	if (err)
		return err;
	return ferror(out) ? -EIO : 0;
}

struct rendered {
	size_t len;
	char text[];
};

int render__cached(FILE *out, struct u64map *cache, const void *key,
		   int (*render)(FILE *out, const void *key, const void *arg), const void *arg)
{
	struct rendered *rendered = u64map__get(cache, (__u64)(uintptr_t)key);
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int err;

	if (!rendered && (mem = open_memstream(&text, &len))) {
		err = render(mem, key, arg);
		if (fclose(mem) || err || !(rendered = malloc(sizeof(*rendered) + len))) {
			free(text);
			return err ? err : render(out, key, arg);
		}
		rendered->len = len;
		memcpy(rendered->text, text, len);
		free(text);
		if (u64map__put(cache, (__u64)(uintptr_t)key, rendered)) {
			free(rendered);
			return render(out, key, arg);
		}
	}
	if (!rendered)
		return render(out, key, arg);
	fwrite(rendered->text, 1, rendered->len, out);
	return 0;
}

void render__cache_free(struct u64map *cache)
{
	u64map__free_all(cache, free);
}
