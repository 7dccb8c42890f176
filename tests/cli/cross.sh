# rec-cross end to end: separators, CSV, joins, derivations, sequences, bad
# lines and atomic output.
. "$TESTDIR/lib.sh"

# MovieLens-style: '::' ratings joined with '|' user and item tables
printf '1::10::5::100\n2::11::2::90\n1::11::4::80\n' > ratings.dat
printf '1|25|M|writer|55455\n2|35|F|artist|10001\n' > users.txt
printf '10|Heat (1995)|01-Jan-1995||http://x|0|1|1\n11|Up|01-Jan-2009||http://y|1|0|0\n' > items.txt
rec-cross -F '::' --columns user,item,rating,time --label 'rating>=4' \
	--join users.txt --join-sep '|' --join-columns user,age,gender,occupation,zip \
	--join items.txt --join-sep '|' --join-columns item,title,date,video,url,g0..g2 \
	--categorical user,item,gender,age --multi-hot genres=g0..g2 \
	--cross item,gender,age --cross genres,genres ratings.dat | rec-cat > got
cat > want <<'T'
1	user=1	item=10	age=25	gender=M	genres=g1	genres=g2	item_x_gender_x_age=10^M^25	genres_x_genres=g1^g2
0	user=2	item=11	age=35	gender=F	genres=g0	item_x_gender_x_age=11^F^35
1	user=1	item=11	age=25	gender=M	genres=g0	item_x_gender_x_age=11^M^25
T
diff want got || fail "join + derivations"

# CSV with quotes, a header and CRLF line ends
printf 'id,title,genres\r\n1,"Toy Story, (1995)",Animation|Comedy\r\n2,"say ""hi""",\r\n' > movies.csv
rec-cross --csv --header --categorical title --list 'genres:|' --list-comb genres movies.csv | rec-cat > got
printf '0\ttitle=Toy Story, (1995)\tgenres=Animation\tgenres=Comedy\tgenres_comb=Animation^Comedy\n0\ttitle=say "hi"\n' > want
diff want got || fail "csv"

# sequences: grouped input, ordered by time inside a group
printf 'u1\ta\t30\nu1\tb\t10\nu2\tc\t5\n' > log.tsv
rec-cross --columns user,item,time --group-by user --order-by time --categorical item log.tsv | rec-cat > got
printf '0\tgroup=u1\titem=b\titem=a\n0\tgroup=u2\titem=c\n' > want
diff want got || fail "group-by"
printf 'u1\ta\t30\nu2\tb\t10\nu1\tc\t5\n' > ungrouped.tsv
expect_status 2 rec-cross --columns user,item,time --group-by user --order-by time --categorical item \
	-o seq.rec ungrouped.tsv 2> err
expect_grep "^rec-cross: ungrouped.tsv:3: group 'u1' appears again" err
[ ! -e seq.rec ] || fail "a failed run left seq.rec"
ls | grep -q 'seq.rec.tmp' && fail "a failed run left a temporary file"

# bad lines: stop with file:line, or skip and count
printf 'label\tx\n1\t2\n0\tabc\n1\n1\t4\n' > bad.tsv
expect_status 2 rec-cross --header --label label --numeric x bad.tsv > /dev/null 2> err
expect_grep "^rec-cross: bad.tsv:3: column 'x': cannot parse 'abc' as a number$" err
rec-cross --header --label label --numeric x --skip-bad bad.tsv 2> err | rec-cat > got
printf '1\tx=2\n1\tx=4\n' > want
diff want got || fail "skip-bad output"
expect_grep "skipped 2 bad lines (first: bad.tsv:3: column 'x'" err

# an output file is written whole or not at all, and a summary is printed
rec-cross --header --label label --numeric x --skip-bad -o out.rec bad.tsv 2> err
expect_grep "2 records from 4 lines of 1 input, 1 field, to 'out.rec'" err
[ "$(rec-cat out.rec | wc -l)" -eq 2 ] || fail "out.rec"

# compressed input larger than the read buffer: gzip, xz and zstd, by path and on stdin
awk 'BEGIN { for (i = 0; i < 300000; i++) print "u" i % 977 "\ti" i % 1013 "\t" i }' > big.tsv
gzip -c big.tsv > big.tsv.gz
xz -c big.tsv > big.tsv.xz 2>/dev/null || cp big.tsv.gz big.tsv.xz
zstd -q -c big.tsv > big.tsv.zst
for f in big.tsv.gz big.tsv.xz big.tsv.zst; do
	n=$(rec-cross --columns user,item,n --categorical user,item "$f" | rec-cat | wc -l)
	[ "$n" -eq 300000 ] || fail "$f: $n records, want 300000"
done
n=$(rec-cross --columns user,item,n --categorical user,item < big.tsv.gz | rec-cat | wc -l)
[ "$n" -eq 300000 ] || fail "gzip on stdin: $n records"
