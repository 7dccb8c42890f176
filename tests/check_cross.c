/* check_cross.c - column roles, joins, every derivation, sequences and bad
 * lines, through the same engine rec-cross and rec-hash run. */
#include "config.h"
#include "tests.h"
#include "cross.h"
#include "hash.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Renders record r as "label [g=G] field=value ..." in stored order. */
static void render(char *out, size_t cap, const struct rec_block *b, size_t r)
{
	const struct rec_schema *s = b->schema;
	size_t n = (size_t)snprintf(out, cap, "%g", b->label[r]);

	if (s->flags & REC_HAS_GROUP)
		n += (size_t)snprintf(out + n, cap - n, " g=%.*s", (int)(b->goff[r + 1] - b->goff[r]),
				      b->gstr + b->goff[r]);
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++) {
			if (s->field[f].kind == REC_NUMERIC)
				n += (size_t)snprintf(out + n, cap - n, " %s=%g", s->field[f].name, c->val[i]);
			else if (s->flags & REC_HASHED)
				n += (size_t)snprintf(out + n, cap - n, " %s=%llx", s->field[f].name,
						      (unsigned long long)c->id[i]);
			else
				n += (size_t)snprintf(out + n, cap - n, " %s=%.*s", s->field[f].name,
						      (int)(c->soff[i + 1] - c->soff[i]), c->str + c->soff[i]);
		}
	}
}

/* Runs the engine on text and returns all records rendered, one per line. */
static char *run_cross(struct rec_cross_opts *o, const char *text, int *status)
{
	const char *in = test_tmpfile("in.tsv"), *out = test_tmpfile("out.rec");
	char *inputs[] = { (char *)in };
	static char result[8192];
	struct rec_reader *r;
	const struct rec_block *b;
	size_t n = 0;

	write_file(in, text);
	remove(out);
	ck_assert_int_eq(rec_cross_check_options(o), 0);
	*status = rec_cross_run(o, inputs, 1, NULL, out, 0);
	result[0] = 0;
	if (*status != REC_EXIT_OK)
		return result;
	r = rec_reader_open(out);
	ck_assert_ptr_nonnull(r);
	while (rec_reader_next(r, &b) > 0)
		for (size_t i = 0; i < b->n; i++) {
			render(result + n, sizeof(result) - n, b, i);
			n += strlen(result + n);
			n += (size_t)snprintf(result + n, sizeof(result) - n, "\n");
		}
	rec_reader_close(r);
	return result;
}

#define EXPECT(o, text, want)                                   \
	do {                                                    \
		int st_;                                        \
		char *got_ = run_cross(o, text, &st_);          \
		ck_assert_int_eq(st_, REC_EXIT_OK);             \
		ck_assert_str_eq(got_, want);                   \
	} while (0)

START_TEST(test_roles_and_label_rule)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;

	o.header = 1;
	o.label = "rating>=4";
	rec_strv_push(&o.categorical, "user,item");
	rec_strv_push(&o.numeric, "price");
	EXPECT(&o, "rating\tuser\titem\tprice\tnote\n5\tu1\ti1\t2.5\tx\n3\tu2\t\t\ty\n4\tu3\ti3\t-1e3\tz\n",
	       "1 user=u1 item=i1 price=2.5\n0 user=u2\n1 user=u3 item=i3 price=-1000\n");
	o.missing = REC_MISSING_TOKEN;
	EXPECT(&o, "rating\tuser\titem\tprice\tnote\n3\tu2\t\t\ty\n", "0 user=u2 item=(missing)\n");
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_crosses_and_lists)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;

	o.columns = "item,gender,age,genres";
	rec_strv_push(&o.lists, "genres:|");
	rec_strv_push(&o.crosses, "item,gender,age");
	rec_strv_push(&o.crosses, "ig=item,genres");
	rec_strv_push(&o.crosses, "genres,genres");
	rec_strv_push(&o.perms, "genres");
	rec_strv_push(&o.combs, "genres");
	rec_strv_push(&o.pairs, "genres");
	/* item, gender and age have no role: they feed the crosses only */
	EXPECT(&o, "i9\tM\t25\tDrama|Action|Comedy\n",
	       "0 genres=Drama genres=Action genres=Comedy item_x_gender_x_age=i9^M^25"
	       " ig=i9^Drama ig=i9^Action ig=i9^Comedy"
	       " genres_x_genres=Action^Drama genres_x_genres=Comedy^Drama genres_x_genres=Action^Comedy"
	       " genres_pairs=Action^Drama genres_pairs=Comedy^Drama genres_pairs=Action^Comedy"
	       " genres_perm=Drama^Action^Comedy genres_comb=Action^Comedy^Drama\n");
	/* a missing part: no cross value; an empty list: no list features */
	EXPECT(&o, "i9\t\t25\t\n", "0\n");
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_cross_with_missing_token)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;

	o.columns = "a,b";
	o.missing = REC_MISSING_TOKEN;
	rec_strv_push(&o.crosses, "a,b");
	EXPECT(&o, "x\t\n", "0 a_x_b=x^(missing)\n");
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_buckets)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;

	o.columns = "x,y";
	rec_strv_push(&o.log_buckets, "x");
	rec_strv_push(&o.buckets, "y:0,10,100");
	EXPECT(&o, "0.5\t-5\n2\t0\n3\t5\n10\t10\n100\t99.9\n1000\t1000\n-1\t\n",
	       "0 x=0 y=0\n0 x=2 y=1\n0 x=1 y=1\n0 x=5 y=2\n0 x=21 y=2\n0 x=47 y=3\n0 x=-1\n");
	ck_assert_int_eq(rec_bucket_log(1e6), 190); /* ln(1e6)^2 = 190.87 */
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_join_and_multihot)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;
	struct rec_join_opts joins[2] = {
		{ .path = test_tmpfile("users.txt"), .sep = "|", .columns = "user,age,gender" },
		{ .path = test_tmpfile("items.txt"), .sep = "|", .columns = "item,title,g0..g2" },
	};

	write_file(joins[0].path, "1|25|M\n2|35|F\n");
	write_file(joins[1].path, "10|Heat (1995)|1|0|1\n11|Up|0|0|0\n");
	o.joins = joins;
	o.njoins = 2;
	o.columns = "user,item,rating";
	o.label = "rating>3";
	rec_strv_push(&o.categorical, "gender,age");
	rec_strv_push(&o.multihot, "genres=g0..g2");
	rec_strv_push(&o.crosses, "item,gender,age");
	rec_strv_push(&o.crosses, "genres,gender");
	EXPECT(&o, "1\t10\t5\n2\t11\t1\n3\t10\t4\n",
	       "1 age=25 gender=M genres=g0 genres=g2 item_x_gender_x_age=10^M^25"
	       " genres_x_gender=g0^M genres_x_gender=g2^M\n"
	       "0 age=35 gender=F item_x_gender_x_age=11^F^35\n"
	       "1 genres=g0 genres=g2\n");
	o.joins = NULL;
	o.njoins = 0;
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_group_by_sequences)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;
	int st;

	o.columns = "user,item,rating,time";
	o.group_by = "user";
	o.order_by = "time";
	rec_strv_push(&o.categorical, "item");
	EXPECT(&o, "u1\ta\t5\t30\nu1\tb\t3\t10\nu1\tc\t4\t10\nu2\td\t1\t5\n",
	       "0 g=u1 item=b item=c item=a\n0 g=u2 item=d\n");
	/* a group that comes back is an error naming the line */
	run_cross(&o, "u1\ta\t5\t30\nu2\tb\t3\t10\nu1\tc\t4\t10\n", &st);
	ck_assert_int_eq(st, REC_EXIT_TROUBLE);
	ck_assert_int_ne(access(test_tmpfile("out.rec"), F_OK), 0); /* nothing half-written */
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_bad_lines)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;
	int st;

	o.columns = "label,x,c";
	o.label = "label";
	rec_strv_push(&o.numeric, "x");
	rec_strv_push(&o.categorical, "c");
	run_cross(&o, "1\t2\ta\n0\tabc\tb\n", &st);
	ck_assert_int_eq(st, REC_EXIT_TROUBLE);
	run_cross(&o, "1\t2\ta\n0\t3\n", &st);
	ck_assert_int_eq(st, REC_EXIT_TROUBLE);
	o.skip_bad = 1;
	EXPECT(&o, "1\t2\ta\n0\tabc\tb\n1\t1\n0\t4\tz\n", "1 x=2 c=a\n0 x=4 c=z\n");
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_criteo_preset_pads)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;
	char line[512], want[512];

	o.preset = "criteo";
	/* label, 13 numbers, 26 categoricals, the last 11 stripped */
	snprintf(line, sizeof(line), "1\t1\t\t3%s\t68fd1e64\t80e26c9b%s\n", "\t\t\t\t\t\t\t\t\t\t",
		 "\t\t\t\t\t\t\t\t\t\t\t\t\t\tfff");
	snprintf(want, sizeof(want), "1 I1=1 I3=3 C1=68fd1e64 C2=80e26c9b C16=fff\n");
	EXPECT(&o, line, want);
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_hashed_ids_match_raw_values)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;
	char want[256];

	o.columns = "a,b";
	o.hashed = 1;
	o.seed = 5;
	o.bits = 20;
	rec_strv_push(&o.categorical, "a");
	rec_strv_push(&o.crosses, "a,b");
	snprintf(want, sizeof(want), "0 a=%llx a_x_b=%llx\n",
		 (unsigned long long)rec_hash_fold(rec_hash_value(rec_hash_salt(5, "a"), "x", 1), 20),
		 (unsigned long long)rec_hash_fold(rec_hash_value(rec_hash_salt(5, "a_x_b"), "x^y", 3), 20));
	EXPECT(&o, "x\ty\n", want);
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_option_errors)
{
	struct rec_cross_opts o = REC_CROSS_OPTS_INIT;
	int st;

	o.columns = "a,b";
	rec_strv_push(&o.numeric, "a");
	rec_strv_push(&o.crosses, "a,b"); /* numeric parts must be bucketed */
	run_cross(&o, "1\t2\n", &st);
	ck_assert_int_eq(st, REC_EXIT_TROUBLE);
	rec_cross_opts_release(&o);
	o = (struct rec_cross_opts)REC_CROSS_OPTS_INIT;
	o.columns = "a,b";
	rec_strv_push(&o.crosses, "a,a"); /* not a list */
	run_cross(&o, "1\t2\n", &st);
	ck_assert_int_eq(st, REC_EXIT_TROUBLE);
	rec_cross_opts_release(&o);
	o = (struct rec_cross_opts)REC_CROSS_OPTS_INIT;
	o.columns = "a,b";
	rec_strv_push(&o.categorical, "nope");
	run_cross(&o, "1\t2\n", &st);
	ck_assert_int_eq(st, REC_EXIT_TROUBLE);
	rec_cross_opts_release(&o);
}
END_TEST

START_TEST(test_names_expand)
{
	struct rec_strv sv = { 0 };

	ck_assert_int_eq(rec_names_expand("label,I1..I3,x", &sv), 5);
	ck_assert_str_eq(sv.v[1], "I1");
	ck_assert_str_eq(sv.v[3], "I3");
	ck_assert_str_eq(sv.v[4], "x");
	ck_assert_int_eq(rec_names_expand("I3..I1", &sv), -1);
	ck_assert_int_eq(rec_names_expand("a1..b3", &sv), -1);
	ck_assert_int_eq(rec_names_expand("a,,b", &sv), -1);
	rec_strv_free(&sv);
}
END_TEST

Suite *suite_cross(void)
{
	Suite *s = suite_create("cross");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roles_and_label_rule);
	tcase_add_test(tc, test_crosses_and_lists);
	tcase_add_test(tc, test_cross_with_missing_token);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_join_and_multihot);
	tcase_add_test(tc, test_group_by_sequences);
	tcase_add_test(tc, test_bad_lines);
	tcase_add_test(tc, test_criteo_preset_pads);
	tcase_add_test(tc, test_hashed_ids_match_raw_values);
	tcase_add_test(tc, test_option_errors);
	tcase_add_test(tc, test_names_expand);
	suite_add_tcase(s, tc);
	return s;
}
