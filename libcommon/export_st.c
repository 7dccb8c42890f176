/* export_st.c - the safetensors layout (huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header giving each tensor's dtype,
 * shape and data_offsets plus a "__metadata__" object of strings (here the
 * manifest), padded with spaces to a multiple of 8, then the tensors' bytes
 * back to back: 8-byte elements first, then 4, 2 and 1, each group in file
 * order, so that every tensor is aligned for readers that map the file (the
 * reference writer orders by dtype for the same reason). */
#include "config.h"
#include "export.h"
#include "err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t len)
{
	rec_xgrow(&b->p, &b->cap, b->n + len + 1, 1);
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void REC_PRINTF(2, 3) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_put(b, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Bytes of the valid UTF-8 sequence at s (at most n), 0 when invalid:
 * JSON must be UTF-8, and manifest values are copied from wherever. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* A JSON string; a byte that is not UTF-8 becomes U+FFFD. */
static void sb_json(struct sbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);

	sb_put(b, "\"", 1);
	for (size_t i = 0, len; i < n; i += len) {
		len = utf8_len(s + i, n - i);
		if (len == 0) {
			sb_put(b, "\\ufffd", 6);
			len = 1;
		} else if (s[i] == '"' || s[i] == '\\') {
			sb_printf(b, "\\%c", s[i]);
		} else if (s[i] < 0x20) {
			sb_printf(b, "\\u%04x", s[i]);
		} else {
			sb_put(b, str + i, len);
		}
	}
	sb_put(b, "\"", 1);
}

static const char *st_dtype(const char *dtype)
{
	static const char *const map[][2] = {
		{ "f32", "F32" }, { "f16", "F16" }, { "bf16", "BF16" }, { "i8", "I8" },
		{ "u32", "U32" }, { "u64", "U64" }, { "i64", "I64" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], dtype) == 0)
			return map[i][1];
	return NULL;
}

/* The tensors in the order their bytes go. */
static size_t *data_order(const struct rec_export *x)
{
	size_t *order = rec_xmalloc((x->nt + 1) * sizeof(size_t)), n = 0;

	for (size_t size = 8; size > 0; size /= 2)
		for (size_t i = 0; i < x->nt; i++)
			if (rec_dtype_size(x->t[i].dtype) == size)
				order[n++] = i;
	return order;
}

static void header(const struct rec_export *x, const size_t *order, struct sbuf *b)
{
	size_t off = 0;

	sb_put(b, "{\"__metadata__\":{", 17);
	for (size_t i = 0; i < x->meta.n; i++) {
		sb_put(b, i ? "," : "", i ? 1 : 0);
		sb_json(b, x->meta.key[i]);
		sb_put(b, ":", 1);
		sb_json(b, x->meta.val[i]);
	}
	sb_put(b, "}", 1);
	for (size_t i = 0; i < x->nt; i++) {
		const struct rec_tensor *t = &x->t[order[i]];
		sb_put(b, ",", 1);
		sb_json(b, t->name);
		sb_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype(t->dtype));
		for (size_t d = 0; d < t->ndim; d++)
			sb_printf(b, "%s%zu", d ? "," : "", t->shape[d]);
		sb_printf(b, "],\"data_offsets\":[%zu,%zu]}", off, off + t->bytes);
		off += t->bytes;
	}
	sb_put(b, "}", 1);
	/* the data then starts 8-aligned, as the reference writer does it */
	while (b->n % 8)
		sb_put(b, " ", 1);
}

int rec_export_safetensors(const struct rec_export *x, FILE *fp)
{
	struct sbuf b = { 0 };
	size_t *order = data_order(x);
	unsigned char len[8];

	header(x, order, &b);
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)b.n >> (8 * i));
	fwrite(len, 1, 8, fp);
	fwrite(b.p, 1, b.n, fp);
	for (size_t i = 0; i < x->nt && !ferror(fp); i++)
		if (x->t[order[i]].bytes)
			fwrite(x->t[order[i]].data, 1, x->t[order[i]].bytes, fp);
	free(order);
	free(b.p);
	return 0;
}
