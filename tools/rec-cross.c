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
	       "%s%s\n"
	       "Example:\n"
	       "  rec-cross --header --label 'rating>=4' --categorical user,item,gender \\\n"
	       "      --cross item,gender ratings.tsv | rec-hash > train.rec\n",
	       rec_cross_output_help, rec_cross_options_help);
}

static int run_cross(const struct rec_cross_cli *cli)
{
	return rec_cross_run(&cli->x, cli->inputs, cli->ninputs, NULL, cli->output, cli->force);
}

int main(int argc, char **argv)
{
	return rec_cross_main(argc, argv, 0, usage, run_cross);
}
