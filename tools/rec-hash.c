/* rec-hash - features to seeded, field-salted 64-bit IDs. Reads a raw stream
 * (from rec-cross) or delimited text directly, with rec-cross's options. */
#include "config.h"
#include "cross.h"
#include "err.h"
#include "io.h"

#include <stdio.h>

static void usage(void)
{
	printf("Usage: rec-hash [options] [<file>...]\n"
	       "Hash the values of a raw feature stream, or of delimited text read with the\n"
	       "column options below, into 64-bit IDs, and write a hashed stream.\n"
	       "IDs depend only on the seed, the field name and the value, so shards\n"
	       "hashed on different machines agree.\n\n"
	       "      --seed <n>           hash seed (0)\n"
	       "      --bits <b>           keep the low <b> bits: 2^b buckets (64)\n"
	       "%s%s\n"
	       "Examples:\n"
	       "  rec-hash --preset criteo --bits 24 < train.txt > train.rec\n"
	       "  rec-cross --header --categorical user,item --cross user,item log.tsv \\\n"
	       "    | rec-hash\n",
	       rec_cross_output_help, rec_cross_options_help);
}

/* A stream input is hashed as it is; anything else is text for rec-cross's engine. */
static int run_hash(const struct rec_cross_cli *cli)
{
	const char *first = cli->ninputs ? cli->inputs[0] : NULL;
	struct rec_src *src = rec_src_open(first);
	const unsigned char *p;
	ssize_t n = src ? rec_src_peek(src, &p, 1 << 16) : -1;
	int status;

	if (n < 0) {
		rec_src_close(src);
		return REC_EXIT_TROUBLE;
	}
	if (!rec_stream_sniff_content(p, (size_t)n)) { /* text, maybe compressed */
		if (rec_src_text_filter(src) < 0) {
			rec_src_close(src);
			return REC_EXIT_TROUBLE;
		}
		return rec_cross_run(&cli->x, cli->inputs, cli->ninputs, src, cli->output, cli->force);
	}
	if (cli->ninputs > 1 || rec_cross_has_text_options(&cli->x)) {
		rec_src_close(src);
		rec_warn(cli->ninputs > 1 ? "hash one stream at a time (or concatenate them: cat a b | rec-hash)"
			 : "'%s' is a stream: the column and derivation options are for text input",
			 first ? first : "(stdin)");
		return REC_EXIT_TROUBLE;
	}
	struct rec_reader *rd = rec_reader_from_src(src);
	status = rd ? rec_hash_stream(rd, &cli->x, cli->output, cli->force) : REC_EXIT_TROUBLE;
	rec_reader_close(rd);
	return status;
}

int main(int argc, char **argv)
{
	return rec_cross_main(argc, argv, 1, usage, run_hash);
}
