/* export_npz.c - NumPy's .npz: a zip archive of .npy files, one per tensor
 * and one for the manifest, stored uncompressed through libarchive's zip
 * writer, so that numpy.load() reads the model in one call. */
#include "config.h"
#include "export.h"
#include "err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The NumPy type of a tensor's elements; bf16 goes as its raw bits, NumPy
 * having no bfloat16. */
static const char *npy_descr(const char *dtype)
{
	static const char *const map[][2] = {
		{ "f32", "<f4" }, { "f16", "<f2" }, { "bf16", "<u2" }, { "i8", "|i1" },
		{ "u32", "<u4" }, { "u64", "<u8" }, { "i64", "<i8" }, { "u8", "|u1" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], dtype) == 0)
			return map[i][1];
	return NULL;
}

/* A .npy header, format 1.0: magic, version, the length of a Python dict
 * literal, the dict, padded with spaces and a newline so that the data
 * starts on a 64-byte boundary as NumPy writes it. Returns its length. */
static size_t npy_header(char *buf, size_t cap, const char *descr, const size_t *shape,
			 size_t ndim)
{
	char dict[256];
	size_t n, pad;

	n = (size_t)snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (",
			     descr);
	for (size_t d = 0; d < ndim; d++)
		n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%s%zu", d ? ", " : "", shape[d]);
	n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%s), }", ndim == 1 ? "," : "");
	pad = (64 - (10 + n + 1) % 64) % 64;
	if (10 + n + pad + 1 > cap)
		return 0;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)((n + pad + 1) & 0xff);
	buf[9] = (char)((n + pad + 1) >> 8);
	memcpy(buf + 10, dict, n);
	memset(buf + 10 + n, ' ', pad);
	buf[10 + n + pad] = '\n';
	return 10 + n + pad + 1;
}

static int write_all(struct archive *a, const void *data, size_t len)
{
	const char *p = data;

	for (size_t done = 0; done < len;) {
		size_t chunk = len - done < (1u << 24) ? len - done : (1u << 24);
		la_ssize_t wrote = archive_write_data(a, p + done, chunk);
		if (wrote <= 0)
			return -1;
		done += (size_t)wrote;
	}
	return 0;
}

/* One array as the member <name>.npy. */
static int put_array(struct archive *a, const char *name, const char *dtype, const size_t *shape,
		     size_t ndim, const void *data, size_t bytes)
{
	char hdr[320], path[256];
	size_t hlen = npy_header(hdr, sizeof(hdr), npy_descr(dtype), shape, ndim);
	struct archive_entry *e = archive_entry_new();
	int rc;

	snprintf(path, sizeof(path), "%s.npy", name);
	archive_entry_set_pathname(e, path);
	archive_entry_set_size(e, (la_int64_t)(hlen + bytes));
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	rc = hlen && archive_write_header(a, e) == ARCHIVE_OK && write_all(a, hdr, hlen) == 0 &&
	     write_all(a, data, bytes) == 0 ? 0 : -1;
	archive_entry_free(e);
	return rc;
}

int rec_export_npz(const struct rec_export *x, FILE *fp, const char *name)
{
	struct archive *a = archive_write_new();
	size_t len;
	char *manifest = rec_export_manifest_text(x, &len);
	int rc = 0;

	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_zip_set_compression_store(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_FILE(a, fp) != ARCHIVE_OK)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < x->nt; i++) {
		const struct rec_tensor *t = &x->t[i];
		rc = put_array(a, t->name, t->dtype, t->shape, t->ndim, t->data, t->bytes);
	}
	if (rc == 0)
		rc = put_array(a, "manifest", "u8", &len, 1, manifest, len);
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = -1;
	if (rc < 0)
		rec_error("cannot write '%s': %s", name,
			  archive_error_string(a) ? archive_error_string(a) : strerror(errno));
	archive_write_free(a);
	free(manifest);
	return rc;
}
