#!/bin/sh
# shrink.sh DIR - what rec-export's shrinking costs: every model bench/ctr.sh
# left in DIR/<dataset>/<model>.recm, written again with its rows in fp16,
# bf16 and int8 (per-row scale), and pruned to its top half by row norm, then
# scored on DIR/<dataset>/test.rec. Prints a markdown table: bytes per row
# (ID + values (+ scale); the index and optimizer state are not counted) and
# the test AUC next to the fp32 model's. rec-export and rec-eval on PATH.
set -eu
dir=$1
auc() { rec-eval -m "$1" --json "$2" | sed -n 's/.*"auc": \([0-9.]*\).*/\1/p'; }

echo "## Shrinking models for serving (rec-export)"
echo
echo "The models of the table above, rows re-encoded by \`rec-export --format recm --precision P\`"
echo "(read back by rec-eval as the values they decode to) or pruned to the half of the rows"
echo "with the largest L2 norm (\`--top-rows\`). Bytes per row: 8 B ID + values (+ 4 B scale"
echo "for int8)."
echo
echo "| data | model | rows as | bytes/row | AUC | AUC change |"
echo "|---|---|---|---:|---:|---:|"
for ds in ml100k criteo; do
	[ -s "$dir/$ds/test.rec" ] || continue
	case $ds in ml100k) label="MovieLens-100K" ;; *) label="Criteo-shaped" ;; esac
	for m in lr fm deepfm dlrm; do
		w=$dir/$ds/$m
		[ -s "$w.recm" ] || continue
		base=$(auc "$w.recm" "$dir/$ds/test.rec")
		rows=$(tar -xOf "$w.recm" MANIFEST | sed -n 's/^tensor.embd.ids = u64 //p')
		for p in fp32 fp16 bf16 int8 half; do
			if [ "$p" = half ]; then
				set -- --top-rows $((rows / 2))
				what="fp32, top half"
			else
				set -- --precision "$p"
				what=$p
			fi
			rec-export --format recm "$@" -o "$w.$p.recm" "$w.recm" 2> "$w.err"
			bpr=$(sed -n 's/.*, \([0-9.]*\) bytes per row at.*/\1/p' "$w.err")
			a=$(auc "$w.$p.recm" "$dir/$ds/test.rec")
			printf '| %s | %s | %s | %s | %s | %+.4f |\n' "$label" "$m" "$what" "$bpr" "$a" \
				"$(awk -v a="$a" -v b="$base" 'BEGIN { print a - b }')"
			rm -f "$w.$p.recm" "$w.err"
		done
	done
done
