// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Reading back a written pprof profile (profile.h). */
#include <zlib.h>
#include "support/profile.h"

static void gunzip(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	z_stream stream = { 0 };
	size_t capacity = 1 << 16, len = 0;
	uint8_t *buf = malloc(capacity);
	int status;

	assert_non_null(buf);
	/* 15 + 32: detect the header; the writer promises gzip, checked apart */
	assert_int_equal(inflateInit2(&stream, 15 + 32), Z_OK);
	stream.next_in = (uint8_t *)in;
	stream.avail_in = in_len;
	do {
		if (len == capacity) {
			capacity *= 2;
			buf = realloc(buf, capacity);
			assert_non_null(buf);
		}
		stream.next_out = buf + len;
		stream.avail_out = capacity - len;
		status = inflate(&stream, Z_NO_FLUSH);
		assert_true(status == Z_OK || status == Z_STREAM_END);
		len = capacity - stream.avail_out;
	} while (status != Z_STREAM_END);
	assert_int_equal(stream.avail_in, 0); /* nothing after the gzip member */
	inflateEnd(&stream);
	*out = buf;
	*out_len = len;
}

Parkwatch__Pprof__Profile *read_profile(FILE *file, uint8_t **raw, size_t *raw_len)
{
	Parkwatch__Pprof__Profile *profile;
	uint8_t *packed;
	size_t packed_len;
	long size;

	assert_int_equal(fflush(file), 0);
	size = ftell(file);
	assert_true(size > 2);
	rewind(file);
	free(*raw);
	*raw = malloc(size);
	assert_non_null(*raw);
	assert_int_equal(fread(*raw, 1, size, file), (size_t)size);
	*raw_len = size;
	fclose(file);

	gunzip(*raw, *raw_len, &packed, &packed_len);
	profile = parkwatch__pprof__profile__unpack(NULL, packed_len, packed);
	free(packed);
	assert_non_null(profile);
	return profile;
}
