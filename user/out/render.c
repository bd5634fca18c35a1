// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The table of renderers (render.h). */
#include <errno.h>
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
