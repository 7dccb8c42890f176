# The README's quick-start pipeline runs and prints its metrics.
. "$TESTDIR/lib.sh"
sh "$top_srcdir/data/demo.sh" "$top_builddir/tools" > demo.out
expect_grep "^records  *40000$" demo.out
expect_grep "^auc  *0\.[7-9]" demo.out
expect_grep "^item  *seq  *500 " demo.out
