/* crossopt.c - the column and derivation options rec-cross and rec-hash share. */
#include "config.h"
#include "cross.h"
#include "err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rec_strv_push(struct rec_strv *sv, const char *s)
{
	rec_xgrow(&sv->v, &sv->cap, sv->n + 1, sizeof(char *));
	sv->v[sv->n++] = rec_xstrdup(s);
}

void rec_strv_free(struct rec_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* Splits "prefix123" into prefix length and number; -1 without digits. */
static int split_number(const char *s, size_t len, size_t *plen, long *num)
{
	size_t i = len;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == len || len - i > 9)
		return -1;
	*plen = i;
	*num = strtol(s + i, NULL, 10);
	return 0;
}

/* "I1..I13" -> I1 ... I13; a name without ".." is pushed as it is. */
static int expand_one(const char *tok, size_t len, struct rec_strv *out)
{
	const char *dots = memmem(tok, len, "..", 2);
	size_t pa, pb;
	long a, b;
	char buf[300];

	if (!dots) {
		if (len == 0 || len >= sizeof(buf))
			return -1;
		memcpy(buf, tok, len);
		buf[len] = 0;
		rec_strv_push(out, buf);
		return 0;
	}
	if (split_number(tok, (size_t)(dots - tok), &pa, &a) < 0 ||
	    split_number(dots + 2, len - (size_t)(dots - tok) - 2, &pb, &b) < 0 ||
	    pa != pb || memcmp(tok, dots + 2, pa) != 0 || a > b || b - a > 100000 || pa > 200)
		return -1;
	for (long i = a; i <= b; i++) {
		snprintf(buf, sizeof(buf), "%.*s%ld", (int)pa, tok, i);
		rec_strv_push(out, buf);
	}
	return 0;
}

int rec_names_expand(const char *list, struct rec_strv *out)
{
	size_t before = out->n;

	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (expand_one(p, len, out) < 0)
			return rec_error("invalid column list '%s' near '%.*s'", list, (int)len, p);
		if (!comma)
			break;
		p = comma + 1;
	}
	return (int)(out->n - before);
}

const struct option rec_cross_long_options[] = {
	{ "sep", required_argument, NULL, 'F' },
	{ "csv", no_argument, NULL, REC_OPT_CSV },
	{ "header", no_argument, NULL, REC_OPT_HEADER },
	{ "columns", required_argument, NULL, REC_OPT_COLUMNS },
	{ "preset", required_argument, NULL, REC_OPT_PRESET },
	{ "label", required_argument, NULL, REC_OPT_LABEL },
	{ "weight", required_argument, NULL, REC_OPT_WEIGHT },
	{ "group", required_argument, NULL, REC_OPT_GROUP },
	{ "numeric", required_argument, NULL, REC_OPT_NUMERIC },
	{ "categorical", required_argument, NULL, REC_OPT_CATEGORICAL },
	{ "list", required_argument, NULL, REC_OPT_LIST },
	{ "multi-hot", required_argument, NULL, REC_OPT_MULTIHOT },
	{ "skip", required_argument, NULL, REC_OPT_SKIP },
	{ "cross", required_argument, NULL, REC_OPT_CROSS },
	{ "list-perm", required_argument, NULL, REC_OPT_PERM },
	{ "list-comb", required_argument, NULL, REC_OPT_COMB },
	{ "list-pairs", required_argument, NULL, REC_OPT_PAIRS },
	{ "bucket-log", required_argument, NULL, REC_OPT_BUCKET_LOG },
	{ "bucket", required_argument, NULL, REC_OPT_BUCKET },
	{ "join", required_argument, NULL, REC_OPT_JOIN },
	{ "join-sep", required_argument, NULL, REC_OPT_JOIN_SEP },
	{ "join-columns", required_argument, NULL, REC_OPT_JOIN_COLUMNS },
	{ "join-key", required_argument, NULL, REC_OPT_JOIN_KEY },
	{ "join-header", no_argument, NULL, REC_OPT_JOIN_HEADER },
	{ "join-csv", no_argument, NULL, REC_OPT_JOIN_CSV },
	{ "missing", required_argument, NULL, REC_OPT_MISSING },
	{ "group-by", required_argument, NULL, REC_OPT_GROUP_BY },
	{ "order-by", required_argument, NULL, REC_OPT_ORDER_BY },
	{ "pad", no_argument, NULL, REC_OPT_PAD },
	{ "skip-bad", no_argument, NULL, REC_OPT_SKIP_BAD },
	{ "level", required_argument, NULL, REC_OPT_LEVEL },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, REC_OPT_VERSION },
	{ "seed", required_argument, NULL, REC_OPT_SEED },
	{ "bits", required_argument, NULL, REC_OPT_BITS },
	{ NULL, 0, NULL, 0 }
};

const char rec_cross_output_help[] =
"  -o, --output <file>      write to <file> atomically (default: stdout)\n"
"  -f, --force              write binary data to a terminal\n"
"  -q, --quiet, -v, --verbose  less or more on stderr\n"
"      --level <n>          zstd level of the output (4)\n"
"  -h, --help               show this help\n"
"      --version            show the version\n";

const char rec_cross_options_help[] =
"Input:\n"
"  -F, --sep <sep>          field separator, one or more bytes (default: tab;\n"
"                           \\t is a tab, e.g. -F '|' or -F '::')\n"
"      --csv                CSV with RFC 4180 quoting (separator ',' unless -F)\n"
"      --header             the first line of each input names the columns\n"
"      --columns <names>    name the columns (no header line)\n"
"      --preset criteo      Criteo layout: label, I1..I13 numeric, C1..C26\n"
"                           categorical, short rows padded as missing\n"
"      --pad                pad short rows with missing values\n"
"      --skip-bad           skip bad lines (counted on stderr), do not stop\n"
"Column roles (names are comma lists; I1..I13 expands to a range):\n"
"      --label <col>        the label column, or a rule like 'rating>=4'\n"
"                           (>= > <= < == !=)\n"
"      --weight <col>       per-record weight\n"
"      --group <col>        group key (e.g. the user) for per-group metrics\n"
"      --numeric <cols>     numeric features (empty = missing)\n"
"      --categorical <cols> categorical features (empty = missing)\n"
"      --list <col>:<sep>   a list column whose elements are split at <sep>\n"
"      --multi-hot <name>=<cols>  0/1 columns as one list of the names set to 1\n"
"      --skip <cols>        ignore these columns (as any with no role)\n"
"Joins (attribute tables held in memory):\n"
"      --join <file>        join rows of <file> on the column named like its key\n"
"      --join-sep <sep>     its separator (default: -F)\n"
"      --join-columns <names>  name its columns\n"
"      --join-key <col>     its key column (default: the first)\n"
"      --join-header        its first line names the columns\n"
"      --join-csv           it is CSV\n"
"Derived features:\n"
"      --cross <cols>       cross of columns, [name=]a,b[,c...]; a list\n"
"                           crossed with itself gives its unordered pairs\n"
"      --list-perm <col>    the ordered list as one feature\n"
"      --list-comb <col>    the sorted multiset as one feature\n"
"      --list-pairs <col>   all unordered pairs of elements\n"
"      --bucket-log <cols>  numeric to categorical: floor(ln(x)^2) for x > 2\n"
"      --bucket <col>:<e1>,<e2>,...  numeric to categorical by bin edges\n"
"      --missing skip|token a missing categorical value is skipped (default)\n"
"                           or becomes the token '(missing)'\n"
"Sequences:\n"
"      --group-by <col>     one record per group (sort the input by it)\n"
"      --order-by <col>     numeric order inside a group (e.g. the time)\n";

static struct rec_join_opts *last_join(struct rec_cross_opts *o, const char *opt)
{
	if (o->njoins == 0) {
		rec_error("%s must follow a --join", opt);
		return NULL;
	}
	return &o->joins[o->njoins - 1];
}

static int take_join_option(struct rec_cross_opts *o, int opt, const char *arg)
{
	struct rec_join_opts *j;

	if (opt == REC_OPT_JOIN) {
		o->joins = rec_xrealloc(o->joins, (o->njoins + 1) * sizeof(*o->joins));
		memset(&o->joins[o->njoins], 0, sizeof(*o->joins));
		o->joins[o->njoins++].path = arg;
		return 1;
	}
	if (!(j = last_join(o, opt == REC_OPT_JOIN_SEP ? "--join-sep" : opt == REC_OPT_JOIN_COLUMNS
			    ? "--join-columns" : opt == REC_OPT_JOIN_KEY ? "--join-key" : "--join-header/--join-csv")))
		return -1;
	switch (opt) {
	case REC_OPT_JOIN_SEP: j->sep = arg; break;
	case REC_OPT_JOIN_COLUMNS: j->columns = arg; break;
	case REC_OPT_JOIN_KEY: j->key = arg; break;
	case REC_OPT_JOIN_HEADER: j->header = 1; break;
	default: j->csv = 1; break;
	}
	return 1;
}

/* "\t", "tab" and "\\t" all mean a tab. */
static const char *sep_arg(const char *arg)
{
	if (strcmp(arg, "\\t") == 0 || strcmp(arg, "tab") == 0)
		return "\t";
	return arg;
}

int rec_cross_take_option(struct rec_cross_opts *o, int opt, const char *arg)
{
	struct rec_strv *lists[] = {
		[REC_OPT_NUMERIC - REC_OPT_HEADER] = &o->numeric,
		[REC_OPT_CATEGORICAL - REC_OPT_HEADER] = &o->categorical,
		[REC_OPT_LIST - REC_OPT_HEADER] = &o->lists,
		[REC_OPT_MULTIHOT - REC_OPT_HEADER] = &o->multihot,
		[REC_OPT_SKIP - REC_OPT_HEADER] = &o->skip,
		[REC_OPT_CROSS - REC_OPT_HEADER] = &o->crosses,
		[REC_OPT_PERM - REC_OPT_HEADER] = &o->perms,
		[REC_OPT_COMB - REC_OPT_HEADER] = &o->combs,
		[REC_OPT_PAIRS - REC_OPT_HEADER] = &o->pairs,
		[REC_OPT_BUCKET_LOG - REC_OPT_HEADER] = &o->log_buckets,
		[REC_OPT_BUCKET - REC_OPT_HEADER] = &o->buckets,
		[REC_OPT_LAST - REC_OPT_HEADER] = NULL,
	};
	size_t level;

	if (opt >= REC_OPT_HEADER && opt < REC_OPT_LAST && lists[opt - REC_OPT_HEADER]) {
		rec_strv_push(lists[opt - REC_OPT_HEADER], arg);
		return 1;
	}
	switch (opt) {
	case 'F': o->text.sep = sep_arg(arg); return 1;
	case REC_OPT_CSV:
		o->text.csv = 1;
		if (strcmp(o->text.sep, "\t") == 0)
			o->text.sep = ",";
		return 1;
	case REC_OPT_HEADER: o->header = 1; return 1;
	case REC_OPT_COLUMNS: o->columns = arg; return 1;
	case REC_OPT_PRESET: o->preset = arg; return 1;
	case REC_OPT_LABEL: o->label = arg; return 1;
	case REC_OPT_WEIGHT: o->weight = arg; return 1;
	case REC_OPT_GROUP: o->group = arg; return 1;
	case REC_OPT_GROUP_BY: o->group_by = arg; return 1;
	case REC_OPT_ORDER_BY: o->order_by = arg; return 1;
	case REC_OPT_PAD: o->pad = 1; return 1;
	case REC_OPT_SKIP_BAD: o->skip_bad = 1; return 1;
	case REC_OPT_MISSING:
		if (strcmp(arg, "skip") && strcmp(arg, "token"))
			return rec_error("invalid value '%s' for --missing (skip or token)", arg);
		o->missing = strcmp(arg, "skip") ? REC_MISSING_TOKEN : REC_MISSING_SKIP;
		return 1;
	case REC_OPT_LEVEL:
		if (rec_parse_size(arg, "--level", 1, 19, &level) < 0)
			return -1;
		o->writer.level = (int)level;
		return 1;
	case REC_OPT_JOIN: case REC_OPT_JOIN_SEP: case REC_OPT_JOIN_COLUMNS:
	case REC_OPT_JOIN_KEY: case REC_OPT_JOIN_HEADER: case REC_OPT_JOIN_CSV:
		return take_join_option(o, opt, arg);
	}
	return 0;
}

int rec_cross_check_options(const struct rec_cross_opts *o)
{
	if (!*o->text.sep)
		return rec_error("the separator must not be empty");
	if (o->preset && strcmp(o->preset, "criteo") != 0)
		return rec_error("unknown preset '%s' (known: criteo)", o->preset);
	if (o->header && o->columns)
		return rec_error("--header and --columns cannot be used together");
	if (o->order_by && !o->group_by)
		return rec_error("--order-by needs --group-by");
	if (o->group_by && (o->crosses.n || o->perms.n || o->combs.n || o->pairs.n))
		return rec_error("--group-by builds sequences; derived features cannot be used with it");
	if (o->group_by && (o->label || o->weight || o->group))
		return rec_error("--group-by builds one record per group: --label, --weight and --group "
				 "cannot be used with it");
	for (size_t i = 0; i < o->njoins; i++)
		if (!o->joins[i].columns && !o->joins[i].header)
			return rec_error("--join '%s': name its columns with --join-columns or --join-header",
					 o->joins[i].path);
	return 0;
}

void rec_cross_opts_release(struct rec_cross_opts *o)
{
	struct rec_strv *all[] = { &o->numeric, &o->categorical, &o->lists, &o->multihot, &o->skip,
				   &o->crosses, &o->perms, &o->combs, &o->pairs, &o->log_buckets,
				   &o->buckets };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		rec_strv_free(all[i]);
	free(o->joins);
	o->joins = NULL;
	o->njoins = 0;
}

static int take_hash_option(struct rec_cross_opts *o, int opt, const char *arg)
{
	size_t bits;

	if (opt == REC_OPT_SEED)
		return rec_parse_u64(arg, "--seed", &o->seed);
	if (rec_parse_size(arg, "--bits", 1, 64, &bits) < 0)
		return -1;
	o->bits = (unsigned)bits;
	return 0;
}

/* Returns 0 to go on, 1 after --help or --version, -1 on bad usage. */
static int take_tool_option(struct rec_cross_cli *cli, int c, int hashing, void (*usage)(void))
{
	switch (c) {
	case 'f': cli->force = 1; return 0;
	case 'h': usage(); return 1;
	case 'o': cli->output = optarg; return 0;
	case 'q': cli->x.verbosity--; return 0;
	case 'v': cli->x.verbosity++; return 0;
	case REC_OPT_VERSION: printf("%s (recpipe) %s\n", rec_progname(), PACKAGE_VERSION); return 1;
	case REC_OPT_SEED: case REC_OPT_BITS:
		if (hashing)
			return take_hash_option(&cli->x, c, optarg);
		return rec_error("--seed and --bits are options of rec-hash");
	default:
		return -1; /* getopt_long said what was wrong */
	}
}

int rec_cross_parse_cli(struct rec_cross_cli *cli, int argc, char **argv, int hashing,
			void (*usage)(void))
{
	int c;

	cli->x.hashed = hashing;
	while ((c = getopt_long(argc, argv, "F:fho:qv", rec_cross_long_options, NULL)) != -1) {
		int rc = c == '?' ? -1 : rec_cross_take_option(&cli->x, c, optarg);
		if (rc == 0)
			rc = take_tool_option(cli, c, hashing, usage);
		if (rc < 0)
			return -1;
		if (rc == 1 && c != '?' && (c == 'h' || c == REC_OPT_VERSION))
			return 1;
	}
	if (rec_cross_check_options(&cli->x) < 0)
		return -1;
	cli->inputs = argv + optind;
	cli->ninputs = (size_t)(argc - optind);
	return 0;
}

int rec_cross_has_text_options(const struct rec_cross_opts *o)
{
	const struct rec_strv *lists[] = { &o->numeric, &o->categorical, &o->lists, &o->multihot,
					   &o->skip, &o->crosses, &o->perms, &o->combs, &o->pairs,
					   &o->log_buckets, &o->buckets };

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (lists[i]->n)
			return 1;
	return o->header || o->columns || o->preset || o->label || o->weight || o->group ||
	       o->njoins || o->group_by || o->order_by || o->pad || o->skip_bad || o->text.csv ||
	       strcmp(o->text.sep, "\t") != 0;
}

int rec_cross_main(int argc, char **argv, int hashing, void (*usage)(void),
		   int (*run)(const struct rec_cross_cli *cli))
{
	struct rec_cross_cli cli = REC_CROSS_CLI_INIT;
	int rc, status;

	rec_setprogname(argv[0]);
	rc = rec_cross_parse_cli(&cli, argc, argv, hashing, usage);
	if (rc != 0) {
		rec_cross_opts_release(&cli.x);
		if (rc < 0)
			rec_usage_exit();
		return REC_EXIT_OK;
	}
	status = run(&cli);
	rec_cross_opts_release(&cli.x);
	return status;
}
