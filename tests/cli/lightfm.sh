# lightfm through rec-train: from the clicks of data/samples alone (positives
# only) it ranks the test records well above chance, every loss and sampler;
# the manifest says what it is; a checkpointed run resumed gives what an
# uninterrupted one gives (the sampler's state travels); epochs from the
# cache of interactions give what epochs from the stream give; bad options
# and fields are named.
. "$TESTDIR/lib.sh"
samples_ctr
auc() { rec-eval -m "$1" --json test.rec | sed 's/.*"auc": \([0-9.]*\).*/\1/'; }
# at_least A B: A >= B
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b) }'; }
feat="--user-features gender,age --item-features category,tags"

# clicks depend on the category and on gender x category parity (the
# planted cross): both are user-feature . item-feature products here
for l in warp bpr; do
	for n in uniform popular; do
		rec-train -q --model lightfm --loss $l --negatives $n $feat --dim 8 --epochs 3 -o l.recm train.rec
		a=$(auc l.recm)
		echo "lightfm $l $n: test AUC $a" >&2
		at_least "$a" 0.58 || fail "lightfm $l $n: AUC $a"
	done
done

tar -xOf l.recm MANIFEST > manifest
expect_grep "^model.kind = lightfm$" manifest
expect_grep "^model.loss = bpr$" manifest
expect_grep "^model.negatives = popular$" manifest
expect_grep "^model.item_features = category,tags$" manifest
expect_grep "^tensor.embd.rows = f32 [0-9]* 9$" manifest
# the catalogue holds every item of the training file
items=$(tail -n +2 "$SAMPLES/ctr-train.tsv" | cut -f 4 | sort -u | wc -l | tr -d ' ')
expect_grep "^tensor.items.ids = u64 $items$" manifest

# checkpoint after the first half, resume over both halves: the same model
head -n 20001 "$SAMPLES/ctr-train.tsv" | rec-hash $cols > half1.rec
{ head -n 1 "$SAMPLES/ctr-train.tsv"; tail -n +20002 "$SAMPLES/ctr-train.tsv"; } | rec-hash $cols > half2.rec
set -- --model lightfm --negatives popular $feat --dim 8 --seed 2 --lr 0.03
rec-train -q "$@" -o whole.recm half1.rec half2.rec
rec-train -q "$@" --checkpoint ck.recm --checkpoint-every 5000 half1.rec
tar -xOf ck.recm MANIFEST | grep -q '^train.records = 20000$' || fail "checkpoint not at 20000"
rec-train -q --checkpoint ck.recm --resume -o resumed.recm half1.rec half2.rec
rec-eval -m whole.recm --predict test.rec > whole.tsv 2> /dev/null
rec-eval -m resumed.recm --predict test.rec > resumed.tsv 2> /dev/null
[ -s whole.tsv ] || fail "no scores"
cmp whole.tsv resumed.tsv || fail "resumed run differs from the uninterrupted one"

# later epochs train from the cache of the first one's interactions: the
# same model, byte for byte, as reading the stream every epoch (--cache-mb
# 0), with --min-count's IDs that get their rows only later too; from
# standard input as from the file; past --cache-mb a file is read again
# (same model), standard input is an error
for l in warp bpr; do
	set -- --model lightfm --loss $l --negatives popular $feat --dim 8 --epochs 3 --seed 5 --min-count 2
	rec-train -q "$@" -o cached.recm train.rec
	rec-train -q "$@" --cache-mb 0 -o streamed.recm train.rec
	cmp cached.recm streamed.recm || fail "lightfm $l: the cached epochs differ from the streamed ones"
	rec-train -q "$@" -o stdin.recm < train.rec
	cmp cached.recm stdin.recm || fail "lightfm $l: 3 epochs from standard input differ"
done
rec-train "$@" --cache-mb 1 -o small.recm train.rec 2> err
expect_grep "exceed --cache-mb 1: reading the input every epoch" err
cmp cached.recm small.recm || fail "lightfm: past --cache-mb the model differs"
expect_status 2 rec-train -q "$@" --cache-mb 1 -o x.recm < train.rec 2> err
expect_grep "standard input is read once, and its interactions exceed --cache-mb 1" err
expect_status 2 rec-train -q "$@" --cache-mb 0 -o x.recm < train.rec 2> err
expect_grep "several epochs need input files, not standard input" err
# --init without --model knows a lightfm model from its file: its epochs
# from standard input go through the cache as well
rec-train -q --init cached.recm --epochs 2 -o tuned.recm < train.rec
rec-train -q --init cached.recm --epochs 2 -o tuned2.recm train.rec
cmp tuned.recm tuned2.recm || fail "lightfm --init: standard input and the file differ"

# a checkpoint written in a cached epoch, resumed: the same model
set -- --model lightfm $feat --dim 8 --seed 2 --epochs 2
rec-train -q "$@" -o whole2.recm half1.rec half2.rec
rec-train -q "$@" --checkpoint ck2.recm --checkpoint-every 25000 -o /dev/null half1.rec half2.rec
tar -xOf ck2.recm MANIFEST | grep -q '^train.epoch = 2$' || fail "checkpoint not in epoch 2"
rec-train -q --checkpoint ck2.recm --resume --epochs 2 -o resumed2.recm half1.rec half2.rec
cmp whole2.recm resumed2.recm || fail "resumed from a cached epoch differs from the uninterrupted run"

# --valid: the top-10 lists of the validation stream's users (what they
# had in the training inputs left off) after every epoch; --patience keeps
# the epoch of the best NDCG@10, and the figure it records for that model
# is what rec-eval --top-k 10 --seen says of the model written
set -- --model lightfm $feat --dim 8 --seed 3
rec-train "$@" --epochs 8 --valid test.rec --patience 3 -o best.recm train.rec 2> log
expect_grep "epoch 1: valid precision@10 [0-9.]* recall@10 [0-9.]* ndcg@10 [0-9.]* ([0-9]* users)" log
best=$(manifest best.recm train.best_epoch)
[ "$(manifest best.recm train.epoch)" = "$best" ] || fail "lightfm --patience: the model is not the best epoch's"
top=$(sed -n 's/.*epoch \([0-9]*\): valid .*ndcg@10 \([0-9.]*\).*/\2 \1/p' log | sort -k1,1nr -k2,2n | head -n 1)
[ "${top#* }" = "$best" ] || fail "lightfm --patience: best epoch $best, the log's best is ${top#* }"
rec-eval -m best.recm --top-k 10 --seen train.rec --json test.rec > ev.json 2> /dev/null
ndcg=$(sed 's/.*"ndcg@10": \([0-9.]*\).*/\1/' ev.json)
[ "$(manifest best.recm train.valid_ndcg10)" = "$ndcg" ] ||
	fail "lightfm validation NDCG@10 $(manifest best.recm train.valid_ndcg10), rec-eval's $ndcg"
expect_status 2 rec-train -q "$@" --epochs 2 --valid test.rec -o x.recm < train.rec 2> err
expect_grep "lightfm's --valid needs the training inputs as files" err

# bad options and fields
expect_status 2 rec-train --model fm --loss bpr train.rec 2> err
expect_grep "apply to --model lightfm" err
expect_status 2 rec-train --model lightfm --loss hinge train.rec 2> err
expect_grep "invalid value 'hinge' for --loss" err
expect_status 2 rec-train --model lightfm --negatives most train.rec 2> err
expect_grep "invalid value 'most' for --negatives" err
expect_status 2 rec-train --model lightfm --user-features nosuch -o x.recm train.rec 2> err
expect_grep "no field 'nosuch'" err
expect_status 2 rec-train --model lightfm --item-features price -o x.recm train.rec 2> err
expect_grep "'price' is numeric" err
expect_status 2 rec-train --model lightfm --user-features category --item-features category -o x.recm train.rec 2> err
expect_grep "both a user and an item feature" err
[ ! -e x.recm ] || fail "a failed run left x.recm"
