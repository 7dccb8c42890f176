# lib.sh - helpers for the shell tests (sourced; every test runs under sh -e).
# $TESTDIR is the tests/cli directory, $top_srcdir the source tree.

SAMPLES=$top_srcdir/data/samples
SHARED=$top_srcdir/../shared/data

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_status N CMD... : runs CMD, which must exit with status N.
expect_status() {
	want=$1; shift
	set +e
	"$@"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# expect_grep PATTERN FILE : FILE must contain a line matching PATTERN.
expect_grep() {
	grep -q -e "$1" "$2" || { cat "$2" >&2; fail "no line matching '$1' in $2"; }
}

# expect_lines N FILE : FILE has exactly N lines.
expect_lines() {
	_lines=$(wc -l < "$2" | tr -d ' ')   # a name no test uses: sh has no locals
	[ "$_lines" -eq "$1" ] || fail "$2 has $_lines lines, expected $1"
}

# skip_unless_shared FILE : skips the test when ../shared/data lacks FILE.
skip_unless_shared() {
	[ -r "$SHARED/$1" ] || { echo "skipped: $SHARED/$1 not present" >&2; exit 77; }
}

# need_ort : sets $ort, the node_modules that hold onnxruntime-node
# (scripts/setup.sh installs it), or skips the test when node or it is
# missing (fails instead with RECPIPE_REQUIRE_ORT=1, as CI sets)
need_ort() {
	ort=${RECPIPE_NODE_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/recpipe}/node_modules
	if ! command -v node > /dev/null || [ ! -d "$ort/onnxruntime-node" ]; then
		[ "${RECPIPE_REQUIRE_ORT:-0}" = 1 ] && fail "no node or no onnxruntime-node in $ort"
		echo "skipped: no node or no onnxruntime-node in $ort (scripts/setup.sh installs it)" >&2
		exit 77
	fi
}

# export_refuses_damage MODEL : rec-export fails with one line on MODEL cut
# short (into cut.onnx), and on a full disk where /dev/full is there
export_refuses_damage() {
	head -c 3000 "$1" > cut.recm
	expect_status 2 rec-export -o cut.onnx cut.recm 2> err
	expect_lines 1 err
	if [ -w /dev/full ]; then
		expect_status 2 rec-export --format onnx "$1" > /dev/full 2> err
		expect_grep "No space left" err
	fi
}

# manifest MODEL KEY : the value of KEY in the model's manifest
manifest() { tar -xOf "$1" MANIFEST | sed -n "s/^$2 = //p"; }

# samples_ctr : hashes the CTR rows of data/samples into train.rec and
# test.rec; sets $cols (the rec-hash options), $bayes and $nocross (the
# generator's Bayes-optimal test AUC, and the best without the cross).
samples_ctr() {
	bayes=$(sed -n 's/^bayes_auc = //p' "$SAMPLES/ctr-test.truth")
	nocross=$(sed -n 's/^nocross_auc = //p' "$SAMPLES/ctr-test.truth")
	cols="--header --label click --categorical user,item,gender,age,category --numeric price --list tags:|"
	rec-hash $cols "$SAMPLES/ctr-train.tsv" > train.rec
	rec-hash $cols "$SAMPLES/ctr-test.tsv" > test.rec
}
