# The real public datasets in ../shared/data, when present: Criteo rows,
# MovieLens-100K with its user and item tables, '::'-separated MovieLens-1M
# ratings into sequences, and the CSV of MovieLens latest-small.
. "$TESTDIR/lib.sh"
skip_unless_shared criteo/train.head1000.txt

# Criteo: 1000 rows (trailing empty fields stripped, padded back), 205 clicks
c=$SHARED/criteo/train.head1000.txt
rec-hash --preset criteo --bits 24 "$c" > c24.rec
rec-cat --stats c24.rec > stats
expect_grep "^records  *1000$" stats
expect_grep "^label mean  *0.205$" stats
# every non-empty text field is one feature: compare the counts
want=$(awk -F'\t' '{ for (i = 2; i <= NF; i++) if ($i != "") n++ } END { print n }' "$c")
got=$(rec-cat c24.rec | awk -F'\t' '{ n += NF - 1 } END { print n }')
[ "$want" = "$got" ] || fail "criteo: $got features, text has $want values"
# raw values survive: the first row's C1..C26 in order
head -n 1 "$c" | cut -f15- | tr '\t' '\n' | grep -v '^$' > want
rec-cross --preset criteo "$c" | rec-cat -n 1 | tr '\t' '\n' | grep '^C' | cut -d= -f2 > got
diff want got || fail "criteo raw values"
# compact: smaller than the text compressed with zstd -3
z=$(zstd -3 -c -q "$c" | wc -c)
s=$(wc -c < c24.rec)
[ "$s" -le "$z" ] || fail "hashed Criteo stream ($s B) larger than zstd -3 of the text ($z B)"

# MovieLens-100K: ratings + users + items, rating >= 4 is a click
skip_unless_shared movielens-100k/u.data
m=$SHARED/movielens-100k
rec-cross --columns user,item,rating,time --label 'rating>=4' \
	--join "$m/u.user" --join-sep '|' --join-columns user,age,gender,occupation,zip \
	--join "$m/u.item" --join-sep '|' --join-columns item,title,date,video,url,g0..g18 \
	--categorical user,item,age,gender,occupation --multi-hot genres=g0..g18 \
	--cross item,gender,age "$m/u.data" > ml.rec 2> err
[ ! -s err ] || fail "ml-100k: $(cat err)"
rec-cat --stats ml.rec > stats
expect_grep "^records  *100000$" stats
mean=$(awk -F'\t' '{ n++; if ($3 >= 4) p++ } END { printf "%.6g", p / n }' "$m/u.data")
expect_grep "^label mean  *$mean$" stats
expect_grep "^gender  *cat  *100000 " stats
expect_grep "^item_x_gender_x_age  *cat  *100000 " stats
# genre flags summed over the ratings equal the genres list lengths
want=$(awk -F'|' 'NR == FNR { n[$1] = 0; for (i = 6; i <= 24; i++) n[$1] += $i; next }
	{ split($0, f, "\t"); s += n[f[2]] } END { print s }' "$m/u.item" "$m/u.data")
expect_grep "^genres  *list  *[0-9]*  *[0-9.]*%  *$want " stats

# MovieLens-100K as a CTR task with a temporal split: the last 20% of the
# ratings by time are the test period; users are the group key for GAUC
sort -t "$(printf '\t')" -k4,4n -s "$m/u.data" > sorted
head -n 80000 sorted > ml.train
tail -n 20000 sorted > ml.test
set -- --columns user,item,rating,time --label 'rating>=4' --group user \
	--join "$m/u.user" --join-sep '|' --join-columns user,age,gender,occupation,zip \
	--join "$m/u.item" --join-sep '|' --join-columns item,title,date,video,url,g0..g18 \
	--categorical user,item,age,gender,occupation --multi-hot genres=g0..g18 --cross item,gender,age
rec-hash "$@" ml.train > mltr.rec
rec-hash "$@" ml.test > mlte.rec
rec-train --model lr --seed 1 -o ml.recm mltr.rec 2> /dev/null
rec-eval -m ml.recm --json mlte.rec > ml.json
awk '{ for (i = 1; i <= NF; i++) if ($i == "\"auc\":") auc = $(i + 1) + 0 } END { exit !(auc > 0.65) }' ml.json ||
	fail "ml-100k temporal split: $(cat ml.json)"
grep -q '"gauc": 0\.[6-9]' ml.json || fail "ml-100k GAUC: $(cat ml.json)"

# MovieLens-1M: '::' ratings, sorted by user, into chronological sequences
skip_unless_shared movielens-1m/ratings.dat.users1-2999.gz
r=$SHARED/movielens-1m/ratings.dat.users1-2999.gz
zcat "$r" | sort -t: -k1,1n -s | rec-cross -F '::' --columns user,item,rating,time \
	--group-by user --order-by time --categorical item > seq.rec
rec-cat --stats seq.rec > stats
users=$(zcat "$r" | cut -d: -f1 | sort -u | wc -l)
expect_grep "^records  *$users$" stats
expect_grep "^item  *seq  *$users  *100.0%  *487650 " stats
# user 1's sequence is ordered by time (ties in file order)
zcat "$r" | awk -F'::' '$1 == 1 { print $4 "\t" NR "\t" $2 }' | sort -k1,1n -k2,2n | cut -f3 > want
rec-cat seq.rec | awk -F'\t' '$2 == "group=1"' | tr '\t' '\n' | grep '^item=' | cut -d= -f2 > got
diff want got || fail "ml-1m user 1 sequence order"
# the gzip file read directly gives the same sequences
rec-cross -F '::' --columns user,item,rating,time --group-by user --order-by time \
	--categorical item "$r" | rec-cat > direct
rec-cat seq.rec | cmp - direct || fail "reading the .gz directly differs"
# interleaved users are refused with the line that breaks the grouping
zcat "$r" | awk 'NR % 2' | sort -t: -k7,7n | rec-cross -F '::' --columns user,item,rating,time \
	--group-by user --categorical item > /dev/null 2> err && fail "ungrouped input accepted"
expect_grep "(stdin):[0-9]*: group '[0-9]*' appears again" err

# MovieLens latest-small: CSV with a header and CRLF line ends
skip_unless_shared movielens-latest-small/ratings.csv
rec-cross --csv --header --label 'rating>=4' --categorical userId,movieId \
	"$SHARED/movielens-latest-small/ratings.csv" | rec-cat --stats > stats
expect_grep "^records  *100836$" stats
