# rec-hash: pinned IDs, raw-stream and direct paths agree, seeds and bits.
. "$TESTDIR/lib.sh"
row=$(printf '1\t5\t\t\t\t\t\t\t\t\t\t\t\t\t68fd1e64\tx')
# pinned: XXH3-64 of "68fd1e64" salted for field C1 under seed 0
printf '%s\n' "$row" | rec-hash --preset criteo | rec-cat > out
printf '1\tI1=5\tC1=1134372869958753714\tC2=%s\n' "$(printf '%s\n' "$row" | rec-hash --preset criteo | rec-cat | cut -f4 | cut -d= -f2)" > want
cmp out want || fail "pinned C1 ID changed"
printf '%s\n' "$row" | rec-hash --preset criteo --bits 24 | rec-cat | grep -q "C1=12279218" || fail "--bits 24 fold changed"
printf '%s\n' "$row" | rec-hash --preset criteo --seed 1 | rec-cat | grep -q "C1=1134372869958753714" && fail "--seed did not change the IDs"

# rec-cross | rec-hash gives the same records as rec-hash on the text
cat > log.tsv <<'T'
click	user	item	gender	tags
1	u1	i1	F	a|b|c
0	u2	i2	M	
1	u1	i3		b
T
opts="--header --label click --categorical user,item,gender --list tags:| --cross item,gender --list-pairs tags"
rec-cross $opts log.tsv | rec-hash --bits 30 | rec-cat > via-raw
rec-hash $opts --bits 30 log.tsv | rec-cat > direct
cmp via-raw direct || fail "rec-cross | rec-hash differs from rec-hash on text"
expect_lines 3 direct
rec-cross $opts log.tsv | rec-hash --bits 30 | rec-cat --schema | grep -q "hashed (seed 0, ID bits 30)" ||
	fail "schema does not say hashed with 30 bits"

# a hashed stream is not hashed twice; gzip text is read
rec-hash $opts log.tsv > h.rec
expect_status 2 rec-hash h.rec > /dev/null 2> err
expect_grep "hashed already" err
gzip -c log.tsv > log.tsv.gz
rec-hash $opts --bits 30 log.tsv.gz | rec-cat > from-gz
cmp from-gz direct || fail "gzip input differs"
# text options on a stream input are refused, not ignored
rec-cross $opts log.tsv > raw.rec
expect_status 2 rec-hash --cross user,item raw.rec 2> err
expect_grep "'raw.rec' is a stream: the column and derivation options are for text input" err
# numbers are decimal: --seed 010 is ten
[ "$(rec-hash $opts --seed 010 log.tsv | rec-cat | md5sum)" = "$(rec-hash $opts --seed 10 log.tsv | rec-cat | md5sum)" ] ||
	fail "--seed 010 is not 10"
# zstd-compressed text is text, a zstd stream is a stream
zstd -q -c log.tsv > log.tsv.zst
rec-hash $opts --bits 30 log.tsv.zst | rec-cat | cmp - direct || fail "zstd text input"

# -o to a FIFO or a device (/dev/null) writes into it; it is not replaced
mkfifo out.fifo
timeout 60 cat out.fifo > via-fifo &
rec-hash $opts log.tsv -o out.fifo
wait
[ -p out.fifo ] || fail "-o replaced a FIFO with a file"
rec-hash $opts log.tsv | cmp - via-fifo || fail "the FIFO got other bytes"
