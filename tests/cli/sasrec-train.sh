# rec-train --model sasrec's training machinery on the planted sequences
# of data/samples/seq.tsv: early stopping on the validation items writes
# the best epoch; a checkpointed run resumed gives the very model of an
# uninterrupted one; fine-tuning a model pre-trained on other users of
# the same pattern beats training from scratch, with --freeze keeping its
# part byte for byte; a killed run leaves no partial file.
. "$TESTDIR/lib.sh"
tab=$(printf '\t')
# seqs FILTER OUT: the users awk FILTER keeps, as hashed sequences
seqs() {
	awk -F "$tab" "$1" small.users sorted.tsv \
	  | rec-cross --columns user,item,rating,time --group-by user --order-by time --categorical item \
	  | rec-hash > "$2"
}
sort -t "$tab" -k1,1 -s "$SAMPLES/seq.tsv" > sorted.tsv
cut -f1 sorted.tsv | uniq | head -n 60 > small.users
seqs 'NR == FNR { u[$1] = 1; next } 1' seq.rec
seqs 'NR == FNR { u[$1] = 1; next } $1 in u' small.rec
# the other 440 users, without items i295-i299: new to the pre-trained model
seqs 'NR == FNR { u[$1] = 1; next } !($1 in u) && $2 !~ /^i29[5-9]$/' big.rec
# at_least A B M: A >= B + M
at_least() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a + 0 >= b + m) }'; }
metric() { sed "s/.*\"$1\": \([0-9.]*\).*/\1/" "$2"; }
# unpack M: M.recm's members into the directory M
unpack() { mkdir "$1" && tar -xf "$1.recm" -C "$1"; }
set -- --model sasrec --dim 32 --batch 32 --seed 1 --threads 1

# epochs LOG: "epoch ndcg" of each validation line in LOG
epochs() { sed -n 's/.*epoch \([0-9]*\): .*valid hr@10 [0-9.]* ndcg@10 \([0-9.]*\).*/\1 \2/p' "$1"; }
# best_in LOG E: whether epoch E's NDCG@10 is the highest in LOG (as
# printed, to 4 digits)
best_in() { epochs "$1" | awk -v e="$2" '$1 == e { v = $2 } { m = $2 > m ? $2 : m } END { exit !(v != "" && v == m) }'; }

# --patience: it stops at the first epoch that falls short of the best
# (NDCG@10 of the validation items; the epoch depends on the kernels'
# rounding, so it is read from the log) and writes the best epoch's
# weights, the same as that many epochs alone
rec-train "$@" --lr 0.02 --dropout 0 --epochs 30 --patience 1 -o early.recm seq.rec 2> log
b=$(manifest early.recm train.best_epoch)
last=$(epochs log | tail -n 1 | cut -d' ' -f1)
best_in log "$b" || fail "patience 1: epoch $b is not the log's best"
[ "$last" -lt 30 ] && [ "$last" = $((b + 1)) ] || fail "patience 1: stopped at epoch $last, best $b"
expect_grep "stopping after epoch $last: no better valid ndcg@10 for 1 epochs (best: epoch $b" log
[ "$(manifest early.recm train.epoch)" = "$last" ] || fail "train.epoch is not $last"
best=$(epochs log | awk -v e="$b" '$1 == e { print $2 }')
# the manifest's six digits against the log's four: within rounding (a
# value like 0.549750 rounds either way, once printed and once re-read)
awk -v m="$(manifest early.recm train.valid_ndcg10)" -v l="$best" \
	'BEGIN { d = m - l; exit !(d <= 0.0000501 && d >= -0.0000501) }' || fail "manifest NDCG is not epoch $b's"
rec-train -q "$@" --lr 0.02 --dropout 0 --epochs "$b" -o fixed.recm seq.rec
unpack early
unpack fixed
for t in token_embd.weight blk.1.ffn_down.weight output_norm.bias; do
	cmp early/$t fixed/$t || fail "early stopping did not write epoch $b's $t"
done
rec-eval -m early.recm --json seq.rec > a.json
rec-eval -m fixed.recm --json seq.rec > b.json
cmp a.json b.json || fail "the early-stopped model scores unlike epoch $b's"

# checkpoints and --resume: 2 epochs, then on to 4, is the 4-epoch model;
# with --patience, the best weights so far travel in the checkpoint
rec-train -q "$@" --epochs 4 -o straight.recm seq.rec
rec-train -q "$@" --epochs 2 --checkpoint ck.recm seq.rec
[ "$(manifest ck.recm checkpoint.epoch)" = 2 ] || fail "the checkpoint is not at epoch 2"
tar -tf ck.recm | grep -q '^sasrec.adam$' || fail "no Adam moments in the checkpoint"
rec-train -q "$@" --epochs 4 --checkpoint ck.recm --resume -o resumed.recm seq.rec
cmp straight.recm resumed.recm || fail "the resumed run differs from the uninterrupted one"
rec-eval -m straight.recm --json seq.rec > a.json
rec-eval -m resumed.recm --json seq.rec > b.json
cmp a.json b.json
# (patience 2: the two epochs after the best fall short of it; a
# checkpoint one epoch after the best has one stale epoch)
rec-train "$@" --lr 0.02 --dropout 0 --epochs 30 --patience 2 -o early2.recm seq.rec 2> log2
b2=$(manifest early2.recm train.best_epoch)
best_in log2 "$b2" || fail "patience 2: epoch $b2 is not the log's best"
[ "$(epochs log2 | tail -n 1 | cut -d' ' -f1)" = $((b2 + 2)) ] || fail "patience 2: did not stop 2 after $b2"
rec-train -q "$@" --lr 0.02 --dropout 0 --epochs $((b2 + 1)) --patience 2 --checkpoint ck2.recm seq.rec
[ "$(manifest ck2.recm checkpoint.stale)" = 1 ] || fail "no stale epoch in the checkpoint"
tar -tf ck2.recm | grep -q '^sasrec.best$' || fail "no best weights in the checkpoint"
rec-train -q "$@" --lr 0.02 --dropout 0 --epochs 30 --patience 2 --checkpoint ck2.recm --resume \
	-o early3.recm seq.rec
cmp early2.recm early3.recm || fail "the resumed early stopping differs"
expect_status 2 rec-train "$@" --epochs 4 --lr 0.1 --checkpoint ck.recm --resume seq.rec 2> err
expect_grep "^rec-train: --lr 0.100000001 disagrees with 'ck.recm' (model.lr = 0.00100000005)" err
expect_status 2 rec-train "$@" --epochs 4 --checkpoint ck.recm --resume small.rec 2> err
expect_grep "resume with the same files" err
expect_status 2 rec-train "$@" --epochs 1 --checkpoint ck.recm --resume seq.rec 2> err
expect_grep "past --epochs 1" err
expect_status 2 rec-train "$@" --checkpoint straight.recm --resume seq.rec 2> err
expect_grep "not a sasrec checkpoint" err

# fine-tuning: pre-trained on 440 users, tuned on 60 others, against the
# same 60 from scratch with the same epochs; i295-i299 join the vocabulary
rec-train -q "$@" --lr 0.01 --epochs 10 -o pre.recm big.rec
rec-train -q "$@" --lr 0.01 --epochs 5 -o scratch.recm small.rec
rec-train -q --init pre.recm --lr 0.002 --epochs 5 -o tuned.recm small.rec
[ "$(manifest pre.recm model.items)" = 295 ] || fail "pre-trained on $(manifest pre.recm model.items) items"
[ "$(manifest tuned.recm model.items)" = 300 ] || fail "tuned on $(manifest tuned.recm model.items) items"
[ "$(manifest tuned.recm train.init)" = pre.recm ] || fail "no train.init"
[ "$(manifest tuned.recm model.dim)" = 32 ] || fail "the architecture did not come from pre.recm"
rec-eval -m scratch.recm --json small.rec > s.json
rec-eval -m tuned.recm --json small.rec > t.json
echo "HR@10, NDCG@10 of 60 users: fine-tuned $(metric hr@10 t.json) $(metric ndcg@10 t.json)," \
	"from scratch $(metric hr@10 s.json) $(metric ndcg@10 s.json)" >&2
at_least "$(metric hr@10 t.json)" "$(metric hr@10 s.json)" 0.25 || fail "fine-tuning's HR@10 does not beat scratch"
at_least "$(metric ndcg@10 t.json)" "$(metric ndcg@10 s.json)" 0.2 || fail "fine-tuning's NDCG@10 does not beat scratch"
# --freeze embeddings: both tables as pre-trained (the new rows aside)
rec-train --init pre.recm --freeze embeddings --epochs 2 -o fe.recm small.rec 2> err
expect_grep "5 items new to 'pre.recm' keep their random rows" err
unpack pre
unpack fe
head -c $((296 * 32 * 4)) fe/token_embd.weight > fe.tok
cmp pre/token_embd.weight fe.tok || fail "--freeze embeddings changed the item table"
cmp pre/pos_embd.weight fe/pos_embd.weight || fail "--freeze embeddings changed pos_embd.weight"
! cmp -s pre/blk.0.attn_qkv.weight fe/blk.0.attn_qkv.weight || fail "--freeze embeddings: the blocks did not train"
# --freeze dense: every block and the final LayerNorm as pre-trained
rec-train -q --model sasrec --init pre.recm --freeze dense --epochs 2 -o fd.recm small.rec
unpack fd
(cd pre && ls blk.* output_norm.*) > dense
expect_lines 26 dense
while read -r t; do
	cmp pre/$t fd/$t || fail "--freeze dense changed $t"
done < dense
head -c $((296 * 32 * 4)) fd/token_embd.weight > fd.tok
! cmp -s pre/token_embd.weight fd.tok || fail "--freeze dense: the item table did not train"
# a stream hashed with another seed, an architecture that disagrees
awk -F "$tab" 'NR == FNR { u[$1] = 1; next } $1 in u' small.users sorted.tsv \
  | rec-cross --columns user,item,rating,time --group-by user --order-by time --categorical item \
  | rec-hash --seed 9 > seed9.rec
expect_status 2 rec-train --init pre.recm -o x.recm seed9.rec 2> err
expect_grep "seed9.rec': stream schema .* is not the model's" err
expect_status 2 rec-train --init pre.recm --dim 16 --heads 4 -o x.recm small.rec 2> err
expect_grep "^rec-train: --dim 16 disagrees with 'pre.recm' (model.dim = 32)" err
expect_grep "^rec-train: --heads 4 disagrees with 'pre.recm' (model.heads = 2)" err
rec-hash --header --label click --categorical user,item "$SAMPLES/ctr-test.tsv" > ctr.rec
rec-train -q --model lr -o lr.recm ctr.rec
expect_status 2 rec-train --model sasrec --init lr.recm -o x.recm small.rec 2> err
expect_grep "'lr.recm' is a lr model, not sasrec" err
expect_status 2 rec-train --model sasrec --freeze dense -o x.recm small.rec 2> err
expect_grep "needs --init" err
expect_status 2 rec-train --model sasrec --valid small.rec -o x.recm small.rec 2> err
expect_grep "leave-one-out" err
[ ! -e x.recm ] || fail "a failed run left x.recm"

# a run killed between epochs leaves its last checkpoint whole, no output
# and no temporary file
rec-train -q "$@" --epochs 100000 --checkpoint k.recm -o out.recm seq.rec &
pid=$!
n=0
while [ ! -e k.recm ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.3
kill -TERM $pid
! wait $pid || fail "the killed run exited 0"
[ ! -e out.recm ] || fail "the killed run left out.recm"
ls | grep -q '\.tmp\.' && fail "the killed run left $(ls | grep '\.tmp\.')"
rec-eval -m k.recm --json seq.rec > k.json
expect_grep '"users": 500' k.json
