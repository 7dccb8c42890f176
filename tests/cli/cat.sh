# rec-cat: records as text, -n, --schema, --stats, escapes, several inputs.
. "$TESTDIR/lib.sh"
printf 'click\tw\tuser\tprice\ttags\tnote\n1\t2\tu1\t1.5\ta|b\tx y\n0\t1\tu2\t\t\tt\\ab\n1\t0.5\tu1\t-3\tc\t\n' > log.tsv
rec-cross --header --label click --weight w --group user --numeric price --list 'tags:|' \
	--categorical note log.tsv > log.rec
rec-cat log.rec > got
printf '1\tweight=2\tgroup=u1\tprice=1.5\ttags=a\ttags=b\tnote=x y\n0\tweight=1\tgroup=u2\tnote=t\\\\ab\n1\tweight=0.5\tgroup=u1\tprice=-3\ttags=c\n' > want
diff want got || fail "records"
# floats print the same in a comma-decimal locale (tools never call setlocale)
for loc in de_DE.UTF-8 fr_FR.UTF-8 C.UTF-8; do
	LC_ALL=$loc rec-cat log.rec | cmp - want || fail "output differs under LC_ALL=$loc"
	LC_ALL=$loc rec-cross --header --label click --weight w --group user --numeric price \
		--list 'tags:|' --categorical note log.tsv | rec-cat | cmp - want || fail "rec-cross under $loc"
done
rec-cat -n 1 log.rec log.rec > got
expect_lines 1 got
rec-cat log.rec log.rec | wc -l | grep -q '^6$' || fail "two inputs"
rec-cat - < log.rec | cmp - want || fail "stdin"

rec-cat --schema log.rec > got
cat > want <<'T'
file: log.rec
format: recpipe stream v1
values: raw
label: yes
weight: yes
group: yes
fields: 3
  price	num
  tags	list
  note	cat
provenance:
  made_by = rec-cross
  label = click
T
diff want got || fail "schema"

rec-cat --stats log.rec > got
expect_grep "^records  *3$" got
expect_grep "^label mean  *0.666667$" got
expect_grep "^weight sum  *3.5$" got
expect_grep "^distinct groups  *2$" got
expect_grep "^price  *num  *2  *66.7%  *2  *0.67  *2  *-3  *-0.75  *1.5$" got
expect_grep "^tags  *list  *2  *66.7%  *3  *1.00  *3$" got
expect_grep "^1  *1  *33.3%$" got
expect_grep "^4-7  *1  *33.3%$" got
expect_status 2 rec-cat --schema --stats log.rec 2> err
expect_grep "Try 'rec-cat --help'" err
