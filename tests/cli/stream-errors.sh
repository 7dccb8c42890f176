# Bad streams: one line naming the file and the byte offset, exit 2, no crash.
. "$TESTDIR/lib.sh"
printf 'a\tb\n1\tx\n2\ty\n' > two.tsv
rec-cross --header --numeric a --categorical b two.tsv > good.rec
rec-cross --header --categorical a,b two.tsv > other.rec

# not a stream
expect_status 2 rec-cat two.tsv > out 2> err
expect_grep "^rec-cat: 'two.tsv': not a recpipe stream" err
[ ! -s out ] || fail "output for a non-stream"
# zstd, but not a stream; a newer version
printf 'hello' | zstd -q > hello.zst
expect_status 2 rec-cat hello.zst 2> err
expect_grep "not a recpipe stream (bad magic) at byte 0" err
printf 'RECS\002\000\000\000\040\000\000\000' | zstd -q > v2.rec
expect_status 2 rec-cat v2.rec 2> err
expect_grep "format v2, this build reads up to v1" err
# truncated at every length
size=$(wc -c < good.rec)
n=1
while [ "$n" -lt "$size" ]; do
	head -c "$n" good.rec > cut.rec
	expect_status 2 rec-cat cut.rec > /dev/null 2> err
	grep -q "'cut.rec': .*byte [0-9]" err || grep -q "'cut.rec': not a recpipe" err || fail "cut at $n: $(cat err)"
	n=$((n + 1))
done
# a flipped byte in the middle
python3 -c "
import sys; b = bytearray(open('good.rec','rb').read()); b[len(b)//2] ^= 0x55
open('flip.rec','wb').write(b)"
expect_status 2 rec-cat flip.rec > /dev/null 2> err
expect_grep "'flip.rec': " err
# concatenation: same schema works, different schemas name both
cat good.rec good.rec | rec-cat > both
expect_lines 4 both
cat good.rec other.rec | rec-cat > /dev/null 2> err && fail "mismatched concatenation accepted"
expect_grep "concatenated streams disagree at byte [0-9]*: first schema is \[raw label a:num b:cat\], then \[raw label a:cat b:cat\]" err
# good and bad inputs mixed: the good ones are printed, exit 2
expect_status 2 rec-cat good.rec two.tsv good.rec > mixed 2> err
expect_lines 4 mixed
expect_lines 1 err
# rec-cat x | head exits quietly
awk 'BEGIN { print "a\tb"; for (i = 0; i < 200000; i++) print i "\tv" i }' > big.tsv
rec-cross --header --numeric a --categorical b big.tsv > big.rec
set +e
rec-cat big.rec 2> err | head -n 1 > first
set -e
[ ! -s err ] || fail "rec-cat | head printed: $(cat err)"
expect_lines 1 first
