# rec-export: every kind of model as npz, safetensors and text, each array
# checked from Python against the model's tensors read independently (zstd,
# tarfile, numpy.frombuffer, per rec-model(5)); fp16 and int8 rows written
# back as models score within 0.002 AUC of the original; --top-rows keeps
# the rows of largest norm; bad models and options fail cleanly.
. "$TESTDIR/lib.sh"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2> /dev/null ||
	{ echo "skipped: no /usr/bin/python3 with numpy" >&2; exit 77; }
cols="--header --label click --categorical user,item,gender,age,category --numeric price --list tags:|"
rec-hash $cols "$SAMPLES/ctr-train.tsv" > train.rec
rec-hash $cols "$SAMPLES/ctr-test.tsv" > test.rec
auc() { rec-eval -m "$1" --json test.rec | sed 's/.*"auc": \([0-9.]*\).*/\1/'; }
# near A B D: |A - B| <= D
near() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { x = a - b; exit !(x <= d && -x <= d) }'; }

cat > check.py <<'PY'
"""check.py < CHECKS: each line "WHAT MODEL.tar OUT [ARGS]" checks OUT against
the model's tensors (one Python for all: numpy takes a while to import)."""
import json, sys, tarfile
import numpy as np

DTYPES = {"f32": "<f4", "u64": "<u8"}
ST = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I8": "i1", "U64": "<u8"}


def load(path):
    """The model as rec-model(5) shows how: its manifest and tensors."""
    with tarfile.open(path) as tar:
        first, *rest = tar.getmembers()
        assert first.name == "MANIFEST", first.name
        text = tar.extractfile(first).read().decode()
        manifest = dict(x.split(" = ", 1) for x in text.splitlines())
        t = {}
        for m in rest:
            dtype, *shape = manifest["tensor." + m.name].split()
            a = np.frombuffer(tar.extractfile(m).read(), DTYPES[dtype])
            t[m.name] = a.reshape([int(d) for d in shape])
    return manifest, t


def keys(manifest):
    return {k: v for k, v in manifest.items()
            if not k.startswith(("tensor.", "checksum.", "export."))}


def bf16(a):
    u = a.astype("<f4").view("<u4").astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def check_rows(rows, got, precision, scale=None):
    """Encoded rows against the model's fp32 rows."""
    if precision == "fp32":
        assert got.dtype == np.float32 and np.array_equal(got, rows)
    elif precision == "fp16":
        assert got.dtype == np.float16 and np.array_equal(got, rows.astype(np.float16))
    elif precision == "bf16":
        assert got.dtype == np.uint16 and np.array_equal(got, bf16(rows))
    else:
        want = np.abs(rows).max(axis=1) / np.float32(127)
        assert scale.dtype == np.float32 and np.array_equal(scale, want), "int8 scales"
        assert got.dtype == np.int8 and np.abs(got.astype(int)).max() <= 127
        err = np.abs(got * scale[:, None] - rows)
        assert (err <= scale[:, None] / 2 * 1.0001 + 1e-12).all(), "int8 rounding"


def check_all(manifest, t, got, precision, weights_only):
    want = [n for n in t if not (weights_only and (n == "embd.state" or n.endswith(".adam")))]
    extra = {"embd.scale"} if precision == "int8" else set()
    assert set(got) == set(want) | extra, (sorted(got), sorted(want))
    for name in want:
        if name == "embd.rows":
            check_rows(t[name], got[name], precision, got.get("embd.scale"))
        else:
            assert got[name].dtype == t[name].dtype, name
            assert np.array_equal(got[name], t[name]), name


def npz(model, out, precision, weights_only=""):
    manifest, t = load(model)
    with np.load(out) as z:
        got = {k: z[k] for k in z.files}
    text = got.pop("manifest").tobytes().decode()
    meta = dict(x.split(" = ", 1) for x in text.splitlines())
    assert keys(meta) == keys(manifest), "npz manifest"
    assert meta["export.precision"] == precision
    check_all(manifest, t, got, precision, weights_only == "weights-only")


def safetensors(model, out, precision, weights_only=""):
    """A reader written from the format's public description."""
    manifest, t = load(model)
    b = open(out, "rb").read()
    n = int.from_bytes(b[:8], "little")
    assert n % 8 == 0, "header not padded to 8"
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    meta = header.pop("__metadata__")
    assert all(isinstance(v, str) for v in meta.values())
    assert keys(meta) == keys(manifest), "safetensors metadata"
    got, end = {}, 0
    for name, d in header.items():   # back to back, each aligned
        lo, hi = d["data_offsets"]
        a = np.frombuffer(data[lo:hi], ST[d["dtype"]]).reshape(d["shape"])
        assert lo == end and lo % a.itemsize == 0, (name, lo, end)
        end = hi
        got[name] = a
    assert end == len(data), "bytes after the last tensor"
    check_all(manifest, t, got, precision, weights_only == "weights-only")


def text(model, out, kind, fields_out):
    manifest, t = load(model)
    lines = open(out).read().splitlines()
    summary = [x for x in lines if x.startswith("# ")]
    assert summary[0] == "# kind " + kind, summary[0]
    ids, fields, vals, dense, cur = [], [], [], {}, None
    for x in lines:
        if x.startswith("# tensor "):
            name, *shape = x.split()[2:]
            cur = dense[name] = ([int(d) for d in shape if d != "x"], [])
        elif x.startswith("#"):
            continue
        elif cur is None:
            i, f, *v = x.split("\t")
            ids.append(int(i))
            fields.append(f)
            vals.append([float(y) for y in v])
        else:
            cur[1].append([float(y) for y in x.split("\t")])
    assert ids == t["embd.ids"].tolist(), "text IDs"
    assert np.allclose(np.array(vals), t["embd.rows"], rtol=1e-5, atol=0), "text rows"
    want = [n for n in t if not n.startswith("embd.") and not n.endswith(".adam")]
    assert sorted(dense) == sorted(want), (sorted(dense), want)
    for name, (shape, rows) in dense.items():
        assert list(t[name].shape) == shape, name
        assert np.allclose(np.array(rows).reshape(shape), t[name], rtol=1e-5, atol=0), name
    with open(fields_out, "w") as f:
        f.write("\n".join(fields) + "\n")


def top(model, pruned, n):
    """The kept rows are the n of largest norm, in the model's order."""
    _, t = load(model)
    _, p = load(pruned)
    norm = np.sqrt((t["embd.rows"].astype(np.float64) ** 2).sum(axis=1))
    keep = np.isin(t["embd.ids"], p["embd.ids"])
    assert keep.sum() == int(n) == len(p["embd.ids"]), (keep.sum(), n)
    assert np.array_equal(t["embd.ids"][keep], p["embd.ids"])
    assert np.array_equal(t["embd.rows"][keep], p["embd.rows"])
    assert np.array_equal(t["embd.state"][keep], p["embd.state"])
    assert norm[keep].min() >= norm[~keep].max()


failed = 0
for line in sys.stdin:
    what, *args = line.split()
    try:
        globals()[what](*args)
    except Exception as e:
        print("FAIL:", line.strip(), repr(e), file=sys.stderr)
        failed = 1
sys.exit(failed)
PY
check() { echo "$*" >> checks; }

# every kind as npz, safetensors and text, all tensors as they are
for m in lr fm ffm deepfm dlrm ncf; do
	rec-train -q --model $m --threads 1 --seed 1 -o $m.recm train.rec
	zstd -d -q -c $m.recm > $m.tar
	rec-export -q -o $m.npz $m.recm
	check npz $m.tar $m.npz fp32
	rec-export -q --format safetensors $m.recm > $m.st
	check safetensors $m.tar $m.st fp32
	rec-export -q -o $m.txt $m.recm
	check text $m.tar $m.txt $m $m.fields
done
# the precisions, and the optimizer state left out
rec-export -q --precision fp16 -o fm16.npz fm.recm
check npz fm.tar fm16.npz fp16
rec-export -q --precision int8 --weights-only -o d8.npz deepfm.recm
check npz deepfm.tar d8.npz int8 weights-only
for p in fp16 bf16 int8; do
	rec-export -q --precision $p -o d-$p.safetensors deepfm.recm
	check safetensors deepfm.tar d-$p.safetensors $p
done
rec-export -q --precision bf16 --weights-only -o n.safetensors ncf.recm
check safetensors ncf.tar n.safetensors bf16 weights-only
# pruning: the rows of largest norm, in the model's order
rec-export -q --top-rows 1000 -o top.recm deepfm.recm
zstd -d -q -c top.recm > top.tar
check top deepfm.tar top.tar 1000
/usr/bin/python3 check.py < checks || fail "the exports differ from the models"

# the summary; a numeric field's row is told by its ID, others are not
expect_grep '^# kind deepfm$' deepfm.txt
expect_grep '^# rows 3056 (of 3056 in the model), 17 floats each' deepfm.txt
expect_grep '^# rows per field: user -, item -, gender -, age -, category -, price 1, tags -$' deepfm.txt
expect_grep '^# bytes per row 76 at fp32: ID 8 + 17 x 4 (fp32 76, fp16 42, bf16 42, int8 29' deepfm.txt
expect_grep '^# train.examples 40000$' deepfm.txt
expect_grep '^# tensor deep.0.weight 128 x 112$' deepfm.txt
[ "$(grep -c -v '^-$' deepfm.fields)" -eq 1 ] && grep -q '^price$' deepfm.fields ||
	fail "deepfm: not just the price row told"
expect_grep '^# rows per field: user -, item -, gender 0, age 0, category 0, price 0, tags 0$' ncf.txt
# with a stream hashed alike, every row's field
rec-export --fields-from train.rec fm.recm > fields.txt 2> err
expect_grep '^# rows per field: .*; not in the stream 0, in several fields 0$' fields.txt
grep -v '^#' fields.txt | cut -f 2 | sort | uniq -c | awk '$2 == "-" { exit 1 }' ||
	fail "--fields-from left rows without a field"
grep -v '^#' fields.txt | awk -F'\t' '$2 == "gender"' > gender.txt
expect_lines 2 gender.txt
# summary on stderr: bytes per row at each precision, dim 16
rec-export deepfm.recm 2> err > /dev/null
expect_grep "'(stdout)' (text): 3056 of 3056 rows of 17 values, 76 bytes per row at fp32 (fp32 76, fp16 42, int8 29)" err
rec-export --precision int8 -o d8.recm deepfm.recm 2> err
expect_grep "29 bytes per row at int8" err
rec-export --weights-only -o dl.npz dlrm.recm 2> err
expect_grep "of 16 values, 72 bytes per row at fp32 (fp32 72, fp16 40, int8 28)" err

# fp16 and int8 rows back as models: scores within 0.002 AUC
for m in fm deepfm; do
	a=$(auc $m.recm)
	for p in fp16 int8; do
		rec-export -q --precision $p -o $m-$p.recm $m.recm
		b=$(auc $m-$p.recm)
		echo "$m: AUC $a, $p $b" >&2
		near "$a" "$b" 0.002 || fail "$m $p: AUC $b, the original $a"
	done
done
tar -xOf deepfm-int8.recm MANIFEST > manifest
expect_grep '^export.precision = int8$' manifest
expect_grep '^checksum.embd.rows = ' manifest

# a pruned model is still one rec-eval reads
rec-eval -m top.recm test.rec > /dev/null || fail "rec-eval cannot read the pruned model"
rec-export -q --min-norm 1e9 -o none.recm fm.recm
tar -xOf none.recm MANIFEST | grep -q '^tensor.embd.ids = u64 0$' || fail "--min-norm 1e9 kept rows"
rec-export --min-norm 0.05 --top-rows 100000 -o pruned.txt fm.recm 2> err
expect_grep "'pruned.txt' (text): [0-9]* of 3056 rows" err
[ "$(grep -c -v '^#' pruned.txt)" -lt 3056 ] || fail "--min-norm 0.05 dropped nothing"

# stdin, stdout, and the text does not depend on the locale
rec-export -q --format npz - < deepfm.recm > stdin.npz
cmp stdin.npz deepfm.npz || fail "npz from stdin differs"
LC_ALL=de_DE.UTF-8 rec-export -q deepfm.recm > de.txt 2> /dev/null
cmp de.txt deepfm.txt || fail "text depends on the locale"

# trouble: one line (and the hint after bad usage), exit 2, nothing written
head -c 100000 deepfm.recm > cut.recm
echo 'not a model' > junk.recm
for args in "cut.recm" "junk.recm" "no-such.recm" \
	    "--format xml fm.recm" "--precision int8 --format text fm.recm" \
	    "--weights-only --format recm fm.recm" "--fields-from train.rec --format npz fm.recm" \
	    "--fields-from test.rec --format text no-such.recm" "--top-rows 0 fm.recm" \
	    "--min-norm -1 fm.recm" "fm.recm deepfm.recm"; do
	expect_status 2 rec-export $args -o out.txt > out 2> err
	[ ! -s out ] || fail "'$args' wrote to stdout"
	# one line; bad usage adds the hint, as every tool does
	grep -v "^Try 'rec-export --help'.$" err > msg || true
	[ "$(wc -l < msg)" -eq 1 ] && grep -q '^rec-export: ' msg || { cat err >&2; fail "'$args': $(cat err)"; }
	ls out.txt* 2> /dev/null && fail "'$args' left a file"
done
expect_status 2 rec-export cut.recm -o out.npz 2> err
expect_grep "cut.recm" err
expect_status 2 rec-export -o model.bin fm.recm 2> err
expect_grep "cannot tell the format of 'model.bin'" err
# a stream hashed with another seed is refused
rec-hash $cols --seed 3 "$SAMPLES/ctr-test.tsv" > seed3.rec
expect_status 2 rec-export --fields-from seed3.rec fm.recm > out 2> err
expect_grep "is not the model's" err
# a full disk: exit 2, no partial file
if [ -w /dev/full ]; then
	expect_status 2 rec-export --format npz fm.recm > /dev/full 2> err
	expect_status 2 rec-export fm.recm > /dev/full 2> err
	expect_grep "cannot write" err
fi
# binary data is not written to a terminal
if command -v script > /dev/null; then
	script -qec "rec-export --format npz fm.recm" /dev/null > tty.out 2>&1 && fail "npz written to a terminal"
	grep -q "refusing to write binary data to a terminal" tty.out || fail "no refusal on a terminal"
fi
ls *.tmp.* 2> /dev/null && fail "temporary files left"
exit 0
