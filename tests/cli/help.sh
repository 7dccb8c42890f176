# --help and --version: stdout, exit 0, nothing on stderr; help fits a
# terminal of 80 columns (lines of at most 79).
. "$TESTDIR/lib.sh"
for tool in rec-cross rec-hash rec-cat rec-gen rec-train rec-eval rec-export rec-rank; do
	$tool --help > help.out 2> help.err || fail "$tool --help exited $?"
	[ -s help.out ] || fail "$tool --help printed nothing"
	[ ! -s help.err ] || fail "$tool --help wrote to stderr"
	expect_grep "^Usage: $tool" help.out
	wide=$(awk 'length($0) > 79 { print FILENAME ":" FNR ": " $0; exit }' help.out)
	[ -z "$wide" ] || fail "$tool --help has a line over 79 columns: $wide"
done
for tool in rec-cross rec-hash rec-cat rec-train rec-eval rec-export rec-rank; do
	$tool --version > v.out 2> v.err || fail "$tool --version exited $?"
	expect_grep "^$tool (recpipe) [0-9]" v.out
	[ ! -s v.err ] || fail "$tool --version wrote to stderr"
done
