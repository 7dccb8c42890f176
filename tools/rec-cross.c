/* rec-cross - raw delimited text in, a feature stream with derived features
 * (crosses, list features, buckets, joins, sequences) out. */
#include "config.h"
#include "cross.h"
#include "err.h"

#include <stdio.h>

static void usage(void)
{
	printf("Usage: rec-cross [options] [<file>...]\n"
	       "Read delimited text (TSV by default; gzip, xz, bzip2 and zstd input is\n"
	       "decompressed) and write a raw feature stream (see rec-stream(5)).\n\n"
	       "  -o, --output <file>      write to <file> atomically (default: stdout)\n"
	       "  -f, --force              write binary data to a terminal\n"
	       "  -q, --quiet, -v, --verbose  less or more on stderr\n"
	       "      --level <n>          zstd level of the output (4)\n"
	       "  -h, --help               show this help\n"
	       "      --version            show the version\n"
	       "%s\n"
	       "Example:\n"
	       "  rec-cross --header --label 'rating>=4' --categorical user,item,gender \\\n"
	       "      --cross item,gender ratings.tsv | rec-hash > train.rec\n",
	       rec_cross_options_help);
}

static int run_cross(const struct rec_cross_cli *cli)
{
	return rec_cross_run(&cli->x, cli->inputs, cli->ninputs, NULL, cli->output, cli->force);
}

int main(int argc, char **argv)
{
	return rec_cross_main(argc, argv, 0, usage, run_cross);
}
