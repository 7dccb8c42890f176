# Bad usage: one line naming the problem, a hint, exit 2, nothing on stdout.
. "$TESTDIR/lib.sh"
for tool in rec-cross rec-hash rec-cat; do
	expect_status 2 $tool --no-such-option > out 2> err
	[ ! -s out ] || fail "$tool: bad usage wrote to stdout"
	expect_grep "Try '$tool --help'" err
done
# a missing input file
for cmd in "rec-cross --columns a" "rec-hash --columns a" "rec-cat"; do
	expect_status 2 $cmd no-such-file.txt > out 2> err
	[ ! -s out ] || fail "$cmd: missing input wrote to stdout"
	expect_grep "cannot open 'no-such-file.txt': No such file" err
done
expect_status 2 rec-hash --bits 65 --columns a < /dev/null 2> err
expect_grep "invalid value '65' for --bits" err
expect_status 2 rec-cross --seed 1 --columns a < /dev/null 2> err
expect_grep "rec-hash" err
expect_status 2 rec-cross --header --columns a < /dev/null 2> err
expect_grep "cannot be used together" err
expect_status 2 rec-cross --join-sep '|' --columns a < /dev/null 2> err
expect_grep "must follow a --join" err
expect_status 2 rec-cross < /dev/null 2> err
expect_grep "no column names" err
# a binary stream is not written to a terminal (when there is one)
if [ -t 1 ]; then expect_status 2 rec-cross --columns a < /dev/null; fi
expect_status 2 rec-cross --columns u,i --group-by u --label i < /dev/null 2> err
expect_grep "cannot be used with it" err
# a label rule may have spaces around the operator
printf 'r\n5\n3\n' | rec-cross --header --label 'r >= 4' | rec-cat > got
printf '1\n0\n' | cmp - got || fail "label rule with spaces"
# an output that cannot be created is named as the user gave it
expect_status 2 rec-cross --columns a -o /nonexistent/x.rec < /dev/null 2> err
expect_grep "^rec-cross: cannot create '/nonexistent/x.rec': No such file or directory$" err
