# The whole chain on the generated samples: rec-cross | rec-hash | rec-cat,
# sharded hashing agrees with hashing the whole, streams concatenate.
. "$TESTDIR/lib.sh"
ctr=$SAMPLES/ctr-train.tsv
[ -r "$ctr" ] || fail "missing $ctr"
opts="--header --label click --categorical user,item,gender,age,category --numeric price
	--list tags:| --cross item,gender,age --cross category,gender --list-pairs tags"
rec-cross $opts "$ctr" | rec-hash --bits 24 --seed 9 > all.rec
rows=$(($(wc -l < "$ctr") - 1))
rec-cat --stats all.rec > stats
expect_grep "^records  *$rows$" stats
expect_grep "^category_x_gender  *cat  *$rows " stats
# shards hashed separately (as on two machines) concatenate to the same records
head -n 1 "$ctr" > h
head -n 2001 "$ctr" > a.tsv
(cat h; tail -n +2002 "$ctr") > b.tsv
rec-cross $opts a.tsv | rec-hash --bits 24 --seed 9 > a.rec
rec-cross $opts b.tsv | rec-hash --bits 24 --seed 9 > b.rec
cat a.rec b.rec | rec-cat > shards
rec-cat all.rec > whole
cmp shards whole || fail "sharded hashing differs"
# labels and the click rate survive the trip
want=$(awk -F'\t' 'NR > 1 { n++; s += $1 } END { printf "%.6g", s / n }' "$ctr")
expect_grep "^label mean  *$want$" stats
