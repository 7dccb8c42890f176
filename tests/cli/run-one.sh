#!/bin/sh
# run-one.sh TEST.sh - runs one shell test in a fresh scratch directory.
# The test exits 0 (pass), 77 (skip) or anything else (fail). When TEST.stdout,
# TEST.stderr or TEST.exit sit beside it, its output must match them too.
# A failed test's directory is kept for a look.
test=$1
case $test in /*) ;; *) test=$PWD/$test ;; esac
base=${test%.sh}
name=$(basename "$base")
scratch=${top_builddir:-$PWD}/tests/cli/$name.tmp
rm -rf "$scratch" && mkdir -p "$scratch" || exit 99
cd "$scratch" || exit 99
TESTDIR=$(dirname "$test"); export TESTDIR
. "$TESTDIR/lib.sh" >/dev/null 2>&1 || true
sh -e "$test" >out.stdout 2>out.stderr
status=$?
result=$status
if [ "$status" -eq 77 ]; then
	cat out.stderr
	cd / && rm -rf "$scratch"
	exit 77
fi
if [ -f "$base.exit" ] && [ "$status" != "$(cat "$base.exit")" ]; then
	echo "$name: exit status $status, expected $(cat "$base.exit")"; result=1
elif [ ! -f "$base.exit" ] && [ "$status" -ne 0 ]; then
	echo "$name: failed with status $status"
fi
for stream in stdout stderr; do
	if [ -f "$base.$stream" ] && ! diff -u "$base.$stream" "out.$stream"; then
		echo "$name: $stream differs"; result=1
	fi
done
[ -f "$base.exit" ] && [ "$status" = "$(cat "$base.exit")" ] && [ "$result" = "$status" ] && result=0
if [ "$result" -ne 0 ]; then
	echo "--- stderr of $name:"; tail -n 40 out.stderr
	echo "--- kept in $scratch"
	exit 1
fi
cd / && rm -rf "$scratch"
exit 0
