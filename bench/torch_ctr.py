#!/usr/bin/python3
"""torch_ctr.py - the PyTorch reference of rec-train's click models, for bench/ctr.sh.

Same models, same inputs, same optimizers as rec-train (see bench/ctr.sh):

  inputs   categorical fields (several values per field allowed, x = 1 unless
           the field is valued), numeric fields with x = sign(v) log1p(|v|).
           A field's vector e_f = sum over its values of x * row(id) (sum
           pooling, empty field = 0). A numeric field has one row of its own.
  lr       logit = w0 + sum_i x_i w_i
  fm       lr + 0.5 sum_d ((sum_i x_i v_id)^2 - sum_i x_i^2 v_id^2), rows [w, v]
  deepfm   rows [w, v]: sum_i x_i w_i + FM over the field vectors e_f
           + MLP(concat e_1..e_F): Linear(F k, h1) ReLU .. Linear(h_last, 1)
  dlrm     numeric x (schema order, 0 when missing) -> bottom MLP ending in
           Linear(., k) ReLU = b; categorical e_f from rows of k floats;
           z = [b, e_1..e_C]; dots <z_a, z_b> for a < b (a = 0.., b = a+1..);
           top MLP on concat(b, dots). No numeric fields: no b, dots only.

Embedding rows: row-wise Adagrad written here (g = the row's gradient summed
over the batch + l2 * row; acc += mean(g^2); row -= lr g / (sqrt(acc) + eps)).
Dense layers: torch.optim.Adam. lr/fm's w0: a one-element row of Adagrad
without L2 (as rec-train). Loss: mean binary cross-entropy with logits.

Subcommands:
  prep     run rec-cat on a train and a test stream, map the IDs seen in
           training to row indices (unseen test IDs are dropped: absent, as in
           rec-train), save numpy arrays in a folder
  train    train one model on a prepared folder, score the test set, print
           one JSON line (examples/s of the training loop, peak RSS, AUC, logloss)
  info     torch version, threads, the BLAS library loaded, a matmul's GFLOP/s
  --self-test  check the forwards against numpy and the Adagrad step
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------
# rec-cat text to arrays

MASKS = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1] * 57, np.uint64)


def words(buf):
    """w[i] = the 8 bytes buf[i:i+8] as a little-endian integer (a strided,
    overlapping view over buf padded by 8 bytes)."""
    padded = np.frombuffer(buf + bytes(8), np.uint8)
    return np.ndarray((len(buf),), "<u8", padded, 0, (1,))


def name_key(w, start, nlen):
    """A field's key: its first 8 bytes, its last 8 and its length (checked
    to tell the schema's names apart)."""
    nlen = np.minimum(nlen, 64)
    k = w[start] & MASKS[nlen]
    last = np.where(nlen > 8, w[np.maximum(start + nlen - 8, 0)], np.uint64(0))
    return k ^ (last * np.uint64(0x9E3779B97F4A7C15)) ^ (nlen.astype(np.uint64) << np.uint64(58))


def read_schema(reccat, path):
    """Fields [(name, kind, valued)] of a stream, from rec-cat --schema."""
    out = subprocess.run([reccat, "--schema", path], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    fields, meta, infields = [], {}, False
    for line in out.splitlines():
        if line.startswith("fields:"):
            infields = True
            continue
        if infields and line.startswith("  ") and "\t" in line:
            parts = line.strip().split("\t")
            fields.append((parts[0], parts[1], len(parts) > 2 and parts[2] == "valued"))
            continue
        infields = False
        if ":" in line:
            k, _, v = line.partition(":")
            meta[k.strip()] = v.strip()
    if "hashed" not in meta.get("values", ""):
        sys.exit("torch_ctr.py: %s is not a hashed stream" % path)
    return fields, meta


def parse_floats(buf, s, e):
    """Floats of the byte spans [s, e) of buf: integers vectorized, the rest by float()."""
    a = np.frombuffer(buf, np.uint8)
    out = np.zeros(len(s), np.float64)
    if len(s) == 0:
        return out
    top = len(a) - 1
    neg = (a[s] == 45) & (e > s)
    si = s + neg
    ln = e - si
    bad = (ln <= 0) | (ln > 18)
    v = np.zeros(len(s), np.int64)
    for j in range(min(int(ln.max()), 18)):
        m = j < ln
        c = a[np.minimum(si + j, top)].astype(np.int64) - 48
        bad |= m & ((c < 0) | (c > 9))
        v = np.where(m, v * 10 + c, v)
    out[:] = np.where(neg, -v, v)
    rest = np.flatnonzero(bad)
    if len(rest):
        out[rest] = [float(buf[i:j]) for i, j in zip(s[rest].tolist(), e[rest].tolist())]
    return out


def parse_u64(a, s, e):
    v = np.zeros(len(s), np.uint64)
    ln = e - s
    top = len(a) - 1
    for j in range(int(ln.max()) if len(ln) else 0):
        d = (a[np.minimum(s + j, top)] - 48).astype(np.uint64)
        v = np.where(j < ln, v * np.uint64(10) + d, v)
    return v


class Parser:
    """Vectorized parser of rec-cat's TSV: label, weight=W, group=G, name=value."""

    def __init__(self, fields):
        self.fields = fields
        names = [f[0] for f in fields] + ["weight", "group"]
        nb = b"".join(n.encode() for n in names)
        at = np.cumsum([0] + [len(n.encode()) for n in names])
        hs = name_key(words(nb), at[:-1], at[1:] - at[:-1]).tolist()
        if len(set(hs)) != len(hs):
            sys.exit("torch_ctr.py: the parser cannot tell the field names apart")
        order = np.argsort(np.array(hs, np.uint64))
        self.hsorted = np.array(hs, np.uint64)[order]
        self.hcode = np.arange(len(names))[order]  # F = weight, F + 1 = group
        self.numeric = np.array([f[1] == "num" for f in fields] + [False, False])
        self.valued = np.array([f[2] for f in fields] + [False, False])

    def chunk(self, buf):
        a = np.frombuffer(buf, np.uint8)
        sep = np.flatnonzero((a == 9) | (a == 10))
        starts = np.empty_like(sep)
        starts[0] = 0
        starts[1:] = sep[:-1] + 1
        ends = sep
        nl = a[sep] == 10
        first = np.empty(len(sep), bool)
        first[0] = True
        first[1:] = nl[:-1]
        rec = np.cumsum(first) - 1
        nrec = int(rec[-1]) + 1
        labels = parse_floats(buf, starts[first], ends[first])
        feat = ~first
        fs, fe, frec = starts[feat], ends[feat], rec[feat]
        eqpos = np.flatnonzero(a == 61)
        eq = eqpos[np.minimum(np.searchsorted(eqpos, fs), len(eqpos) - 1)] if len(eqpos) else fs
        if len(fs) and ((eq >= fe) | (eq < fs)).any():
            sys.exit("torch_ctr.py: a feature without '=' in rec-cat's output")
        h = name_key(words(buf), fs, eq - fs)
        pos = np.minimum(np.searchsorted(self.hsorted, h), len(self.hsorted) - 1)
        if len(h) and (self.hsorted[pos] != h).any():
            sys.exit("torch_ctr.py: an unknown field name in rec-cat's output")
        code = self.hcode[pos]
        nf = len(self.fields)
        weights = None
        w = code == nf
        if w.any():
            weights = np.ones(nrec, np.float64)
            weights[frec[w]] = parse_floats(buf, eq[w] + 1, fe[w])
        keep = code < nf
        if not keep.all():
            fs, fe, frec, eq, code = fs[keep], fe[keep], frec[keep], eq[keep], code[keep]
        vs = eq + 1
        isnum = self.numeric[code]
        ids = np.zeros(len(fs), np.uint64)
        x = np.ones(len(fs), np.float64)
        n = np.flatnonzero(isnum)
        v = parse_floats(buf, vs[n], fe[n])
        x[n] = np.sign(v) * np.log1p(np.abs(v))
        c = np.flatnonzero(~isnum)
        ce = fe[c].copy()
        val = np.flatnonzero(self.valued[code[c]])
        if len(val):
            colon = np.flatnonzero(a == 58)
            cp = colon[np.searchsorted(colon, vs[c[val]])]
            x[c[val]] = parse_floats(buf, cp + 1, fe[c[val]])
            ce[val] = cp
        ids[c] = parse_u64(a, vs[c], ce)
        return dict(nrec=nrec, labels=labels, weights=weights, rec=frec.astype(np.int64),
                    field=code.astype(np.int16), ids=ids, x=x.astype(np.float32))


def read_stream(reccat, path, fields, chunk_bytes=32 << 20):
    """rec-cat PATH, parsed chunk by chunk and concatenated."""
    parser = Parser(fields)
    proc = subprocess.Popen([reccat, path], stdout=subprocess.PIPE)
    parts, rest, base = [], b"", 0
    while True:
        data = proc.stdout.read(chunk_bytes)
        buf = rest + data if data else rest
        if not buf:
            break
        cut = buf.rfind(b"\n") + 1 if data else len(buf)
        rest, buf = buf[cut:], buf[:cut]
        if buf:
            if not buf.endswith(b"\n"):
                buf += b"\n"
            p = parser.chunk(buf)
            p["rec"] = (p["rec"] + base).astype(np.int32)
            base += p["nrec"]
            parts.append(p)
        if not data:
            break
    if proc.wait() != 0:
        sys.exit("torch_ctr.py: rec-cat %s failed" % path)
    cat = lambda k, t: np.concatenate([p[k] for p in parts]).astype(t, copy=False) if parts else np.zeros(0, t)
    weights = None
    if any(p["weights"] is not None for p in parts):
        weights = np.concatenate([p["weights"] if p["weights"] is not None else np.ones(p["nrec"])
                                  for p in parts]).astype(np.float32)
    return dict(n=base, labels=cat("labels", np.float32), weights=weights,
                rec=cat("rec", np.int32), field=cat("field", np.int16),
                ids=cat("ids", np.uint64), x=cat("x", np.float32))


def build_rows(d, fields, uids=None, num_row=None):
    """Row index per feature value. Training (uids None): every distinct ID
    gets a row (sorted IDs), then one row per numeric field that occurs.
    Test: IDs not seen in training are dropped, as are values with x = 0
    (rec-train skips them: they contribute nothing and get no row)."""
    isnum = np.array([f[1] == "num" for f in fields])[d["field"]]
    keep = d["x"] != 0
    if uids is None:
        uids, inv = np.unique(d["ids"][keep & ~isnum], return_inverse=True)
        row = np.full(len(d["x"]), -1, np.int64)
        row[np.flatnonzero(keep & ~isnum)] = inv
        nums = sorted(set(d["field"][keep & isnum].tolist()))
        num_row = np.full(len(fields), -1, np.int64)
        num_row[nums] = len(uids) + np.arange(len(nums))
    else:
        row = np.full(len(d["x"]), -1, np.int64)
        c = np.flatnonzero(keep & ~isnum)
        if len(uids):
            pos = np.minimum(np.searchsorted(uids, d["ids"][c]), len(uids) - 1)
            row[c] = np.where(uids[pos] == d["ids"][c], pos, -1)
    n = np.flatnonzero(keep & isnum)
    row[n] = num_row[d["field"][n]]
    ok = row >= 0
    return uids, num_row, row, ok


def save_split(out, tag, d, row, ok):
    np.save(os.path.join(out, tag + ".labels.npy"), d["labels"])
    if d["weights"] is not None:
        np.save(os.path.join(out, tag + ".weights.npy"), d["weights"])
    np.save(os.path.join(out, tag + ".rec.npy"), d["rec"][ok].astype(np.int32))
    np.save(os.path.join(out, tag + ".field.npy"), d["field"][ok].astype(np.int16))
    np.save(os.path.join(out, tag + ".row.npy"), row[ok].astype(np.int32))
    np.save(os.path.join(out, tag + ".x.npy"), d["x"][ok].astype(np.float32))


def cmd_prep(args):
    t0 = time.time()
    fields, meta = read_schema(args.rec_cat, args.train)
    tfields, _ = read_schema(args.rec_cat, args.test)
    if tfields != fields:
        sys.exit("torch_ctr.py: the test stream's fields differ from the training stream's")
    os.makedirs(args.out, exist_ok=True)
    tr = read_stream(args.rec_cat, args.train, fields)
    uids, num_row, row, ok = build_rows(tr, fields)
    save_split(args.out, "train", tr, row, ok)
    ntr, vtr = tr["n"], int(ok.sum())
    del tr, row, ok
    te = read_stream(args.rec_cat, args.test, fields)
    _, _, row, ok = build_rows(te, fields, uids, num_row)
    save_split(args.out, "test", te, row, ok)
    nte, vte, seen = te["n"], int(ok.sum()), len(te["x"])
    meta_out = dict(fields=fields, n_ids=int(len(uids)), num_row=num_row.tolist(),
                    train_records=int(ntr), test_records=int(nte), train_values=vtr,
                    test_values=vte, test_values_all=seen, prep_seconds=time.time() - t0)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta_out, f)
    print(json.dumps({k: v for k, v in meta_out.items() if k not in ("fields", "num_row")}))


# ---------------------------------------------------------------------------
# models and the optimizer

def torch_mod():
    import torch
    return torch


def mlp(sizes, last_relu):
    """Linear(sizes[0], sizes[1]) ReLU ... Linear(sizes[-2], sizes[-1]) [ReLU]."""
    torch = torch_mod()
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_relu:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def build_model(kind, fields, n_rows, dim, hidden, bottom, init_scale):
    torch = torch_mod()
    nn = torch.nn

    class CTR(nn.Module):
        def __init__(self):
            super().__init__()
            self.kind = kind
            self.nf = len(fields)
            isnum = [f[1] == "num" for f in fields]
            self.num_fields = [i for i, v in enumerate(isnum) if v]
            self.cat_fields = [i for i, v in enumerate(isnum) if not v]
            if kind in ("lr", "fm"):
                self.k = 0 if kind == "lr" else dim
                self.emb = nn.Embedding(n_rows, 1 + self.k, sparse=True)
                self.w0 = nn.Parameter(torch.zeros(1))
                self.w0_acc = torch.zeros(1)
            elif kind == "deepfm":
                self.k = dim
                self.emb = nn.EmbeddingBag(n_rows, 1 + dim, mode="sum", sparse=True)
                self.mlp = mlp([self.nf * dim] + hidden + [1], False)
            elif kind == "dlrm":
                self.k = dim
                self.emb = nn.EmbeddingBag(n_rows, dim, mode="sum", sparse=True)
                nn_ = len(self.num_fields)
                self.bottom = mlp([nn_] + bottom + [dim], True) if nn_ else None
                nz = len(self.cat_fields) + (1 if nn_ else 0)
                self.register_buffer("iu", torch.triu_indices(nz, nz, 1))
                self.top = mlp([(dim if nn_ else 0) + nz * (nz - 1) // 2] + hidden + [1], False)
                # field index -> categorical ordinal (dlrm bags cat fields only)
                cmap = torch.full((self.nf,), -1, dtype=torch.long)
                cmap[self.cat_fields] = torch.arange(len(self.cat_fields))
                self.register_buffer("cmap", cmap)
            else:
                raise ValueError(kind)
            with torch.no_grad():
                self.emb.weight.uniform_(-init_scale, init_scale)
            self.acc = torch.zeros(n_rows)

        def forward(self, b):
            """b: rows (long), x (float), seg (long: record of each value in
            the batch), field (long), n (records), dense (n, n_num) for dlrm."""
            n = b["n"]
            if self.kind in ("lr", "fm"):
                R = self.emb(b["rows"]) * b["x"].unsqueeze(1)
                S = torch.zeros(n, 1 + self.k).index_add_(0, b["seg"], R)
                logit = self.w0 + S[:, 0]
                if self.k:  # Q[:, 0] is computed and not used: no slice of R to back-propagate
                    Q = torch.zeros(n, 1 + self.k).index_add_(0, b["seg"], R * R)
                    logit = logit + 0.5 * (S[:, 1:] * S[:, 1:] - Q[:, 1:]).sum(1)
                return logit
            if self.kind == "deepfm":
                nb = n * self.nf
                bag = b["seg"] * self.nf + b["field"]
                cnt = torch.bincount(bag, minlength=nb)
                off = torch.cumsum(cnt, 0) - cnt
                E = self.emb(b["rows"], off, per_sample_weights=b["x"]).view(n, self.nf, 1 + self.k)
                V = E[:, :, 1:]
                s = V.sum(1)
                fm = 0.5 * (s * s - (V * V).sum(1)).sum(1)
                return E[:, :, 0].sum(1) + fm + self.mlp(V.reshape(n, -1)).squeeze(1)
            # dlrm
            C = len(self.cat_fields)
            nb = n * C
            bag = b["seg"] * C + self.cmap[b["field"]]
            cnt = torch.bincount(bag, minlength=nb)
            off = torch.cumsum(cnt, 0) - cnt
            E = self.emb(b["rows"], off, per_sample_weights=b["x"]).view(n, C, self.k)
            if self.bottom is not None:
                bv = self.bottom(b["dense"])
                z = torch.cat([bv.unsqueeze(1), E], 1)
            else:
                z = E
            Z = torch.bmm(z, z.transpose(1, 2))
            dots = Z[:, self.iu[0], self.iu[1]]
            top_in = torch.cat([bv, dots], 1) if self.bottom is not None else dots
            return self.top(top_in).squeeze(1)

        def dense_params(self):
            return [p for name, p in self.named_parameters() if name not in ("emb.weight", "w0")]

    return CTR()


def dense_flops(model):
    """Floating-point operations of the dense layers per training example:
    each Linear's in x out multiply-adds once forward and twice backward
    (the input's gradient and the weights'), 2 flops each; dlrm's pairwise
    dots likewise. Embedding lookups, pooling and optimizers are left out:
    this is the part that a core's FMA peak bounds."""
    torch = torch_mod()
    macs = sum(m.in_features * m.out_features for m in model.modules()
               if isinstance(m, torch.nn.Linear))
    if model.kind == "dlrm":
        macs += model.iu.shape[1] * model.k
    return 6 * macs


def rowwise_adagrad(W, acc, grad, lr, l2, eps):
    """Row-wise Adagrad on the rows a sparse gradient touches."""
    g = grad.coalesce()
    idx = g.indices()[0]
    v = g.values()
    if l2:
        v = v + l2 * W[idx]
    a = acc[idx] + (v * v).mean(1)
    acc[idx] = a
    W.index_add_(0, idx, v * (-lr / (a.sqrt() + eps)).unsqueeze(1))


def train_step(model, opt, b, y, w, lr, l2, eps):
    torch = torch_mod()
    F = torch.nn.functional
    logit = model(b)
    loss = F.binary_cross_entropy_with_logits(logit, y, weight=w)
    if opt is not None:
        opt.zero_grad(set_to_none=True)
    model.emb.weight.grad = None
    if hasattr(model, "w0"):
        model.w0.grad = None
    loss.backward()
    with torch.no_grad():
        rowwise_adagrad(model.emb.weight, model.acc, model.emb.weight.grad, lr, l2, eps)
        if hasattr(model, "w0"):
            g = model.w0.grad
            model.w0_acc += g * g
            model.w0 -= lr * g / (model.w0_acc.sqrt() + eps)
    if opt is not None:
        opt.step()
    return float(loss)


# ---------------------------------------------------------------------------
# data in memory, batches

class Split:
    def __init__(self, folder, tag, fields, kind, max_rows=0, keep_rows=None):
        ld = lambda s: np.load(os.path.join(folder, "%s.%s.npy" % (tag, s)))
        self.labels = ld("labels")
        wp = os.path.join(folder, tag + ".weights.npy")
        self.weights = np.load(wp) if os.path.exists(wp) else None
        rec, field, row, x = ld("rec"), ld("field"), ld("row"), ld("x")
        if max_rows and max_rows < len(self.labels):
            cut = np.searchsorted(rec, max_rows)
            self.labels = self.labels[:max_rows]
            if self.weights is not None:
                self.weights = self.weights[:max_rows]
            rec, field, row, x = rec[:cut].copy(), field[:cut].copy(), row[:cut].copy(), x[:cut].copy()
        self.n = len(self.labels)
        isnum = np.array([f[1] == "num" for f in fields])
        self.dense = None
        if kind == "dlrm":
            numf = np.flatnonzero(isnum)
            if len(numf):
                pos = np.full(len(fields), -1)
                pos[numf] = np.arange(len(numf))
                nm = isnum[field]
                self.dense = np.zeros((self.n, len(numf)), np.float32)
                self.dense[rec[nm], pos[field[nm]]] = x[nm]
                c = ~nm
                rec, field, row, x = rec[c], field[c], row[c], x[c]
        if keep_rows is not None:  # renumber to the rows that training created
            m = keep_rows[row]
            ok = m >= 0
            rec, field, row, x = rec[ok], field[ok], m[ok].astype(np.int32), x[ok]
        self.rec, self.field, self.row, self.x = rec, field, row, x
        self.ptr = np.searchsorted(rec, np.arange(self.n + 1)).astype(np.int64)

    def nbytes(self):
        t = sum(a.nbytes for a in (self.labels, self.rec, self.field, self.row, self.x, self.ptr))
        return t + (self.dense.nbytes if self.dense is not None else 0)

    def batch(self, i, j):
        torch = torch_mod()
        a, e = self.ptr[i], self.ptr[j]
        b = dict(n=j - i,
                 rows=torch.from_numpy(self.row[a:e]).long(),
                 x=torch.from_numpy(self.x[a:e]),
                 seg=torch.from_numpy(self.rec[a:e]).long() - i,
                 field=torch.from_numpy(self.field[a:e]).long())
        if self.dense is not None:
            b["dense"] = torch.from_numpy(self.dense[i:j])
        y = torch.from_numpy(self.labels[i:j])
        w = torch.from_numpy(self.weights[i:j]) if self.weights is not None else None
        return b, y, w


def logloss_of(z, y, w):
    z = z.astype(np.float64)
    l = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return float(np.average(l, weights=w))


def cmd_train(args):
    torch = torch_mod()
    from sklearn.metrics import roc_auc_score
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(os.path.join(args.data, "meta.json")) as f:
        meta = json.load(f)
    fields = [tuple(x) for x in meta["fields"]]
    t0 = time.time()
    tr = Split(args.data, "train", fields, args.model, args.max_train_rows)
    # rows: the IDs (and numeric fields) the trained records touch
    used = np.zeros(meta["n_ids"] + len(fields), bool)
    used[tr.row] = True
    n_rows = int(used.sum())
    remap = None
    if not used[:n_rows].all():  # a cap left rows unused: number the used ones
        remap = np.full(len(used), -1, np.int32)
        remap[used] = np.arange(n_rows)
        tr.row = remap[tr.row]
    data_mib = tr.nbytes() / 1048576
    hidden = [int(v) for v in args.hidden.split(",")] if args.hidden else []
    bottom = [int(v) for v in args.bottom.split(",")] if args.bottom else []
    model = build_model(args.model, fields, max(n_rows, 1), args.dim, hidden, bottom, args.init_scale)
    dp = model.dense_params()
    opt = torch.optim.Adam(dp, lr=args.dense_lr) if dp else None
    load_s = time.time() - t0
    B, loss_sum, nb = args.batch, 0.0, 0
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        for i in range(0, tr.n, B):
            b, y, w = tr.batch(i, min(i + B, tr.n))
            loss_sum += train_step(model, opt, b, y, w, args.lr, args.l2, args.eps) * b["n"]
            nb += b["n"]
    train_s = time.perf_counter() - t0
    eps_rate = nb / train_s if train_s > 0 else 0.0
    ntrain = tr.n
    del tr
    te = Split(args.data, "test", fields, args.model, 0, remap)
    model.eval()
    zs = []
    with torch.no_grad():
        for i in range(0, te.n, 16384):
            b, _, _ = te.batch(i, min(i + 16384, te.n))
            zs.append(model(b).numpy())
    z = np.concatenate(zs) if zs else np.zeros(0, np.float32)
    y = te.labels
    auc = float(roc_auc_score(y, z, sample_weight=te.weights)) if len(set(y.tolist())) > 1 else float("nan")
    res = dict(model=args.model, train_records=ntrain, epochs=args.epochs, batch=B,
               threads=args.threads, rows=n_rows, train_seconds=round(train_s, 3),
               examples_per_s=round(eps_rate, 1), train_logloss=round(loss_sum / max(nb, 1), 6),
               auc=round(auc, 6), logloss=round(logloss_of(z, y, te.weights), 6),
               peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               train_data_mib=round(data_mib, 1), base_rss_mib=round(base_rss, 1),
               load_seconds=round(load_s, 2), dense_flops=dense_flops(model))
    print(json.dumps(res))


# ---------------------------------------------------------------------------
# info

def cmd_info(args):
    torch = torch_mod()
    torch.set_num_threads(args.threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    dt = (time.perf_counter() - t0) / 10
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in p.lower() and p.startswith("/"):
                libs.add(os.path.realpath(p))
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(),
                          blas=sorted(libs), matmul_1024_gflops=round(2 * 1024 ** 3 / dt / 1e9, 1))))


# ---------------------------------------------------------------------------
# self-test: the forwards against numpy, the Adagrad step against numpy

def selftest():
    torch = torch_mod()
    torch.manual_seed(0)
    # fields: n0 num, c0 cat, n1 num, c1 list (several values), c2 valued cat
    fields = [("n0", "num", False), ("c0", "cat", False), ("n1", "num", False),
              ("c1", "list", False), ("c2", "cat", True)]
    # records: [(field, row, x)], rows already mapped; x as the loader gives it
    recs = [
        [(0, 9, math.log1p(3.0)), (1, 0, 1.0), (3, 2, 1.0), (3, 3, 1.0), (4, 5, 0.5)],
        [(1, 1, 1.0), (2, 10, -math.log1p(2.0)), (3, 3, 1.0)],
        [(0, 9, math.log1p(0.5)), (3, 2, 1.0), (3, 4, 1.0), (3, 6, 1.0), (4, 7, 2.0)],
        [],
        [(1, 0, 1.0), (1, 8, 1.0), (2, 10, math.log1p(7.0)), (4, 5, 1.0)],
    ]
    labels = np.array([1, 0, 1, 0, 1], np.float32)
    n_rows = 13  # rows 11 and 12 are in no record: they must not move
    isnum = [f[1] == "num" for f in fields]

    def batch_of(kind):
        rec, field, row, x = [], [], [], []
        dense = np.zeros((len(recs), sum(isnum)), np.float32)
        npos = {f: i for i, f in enumerate(i for i, v in enumerate(isnum) if v)}
        for r, feats in enumerate(recs):
            for f, rw, xv in feats:
                if kind == "dlrm" and isnum[f]:
                    dense[r, npos[f]] = xv
                    continue
                rec.append(r), field.append(f), row.append(rw), x.append(xv)
        b = dict(n=len(recs), rows=torch.tensor(row, dtype=torch.long),
                 x=torch.tensor(x, dtype=torch.float32), seg=torch.tensor(rec, dtype=torch.long),
                 field=torch.tensor(field, dtype=torch.long), dense=torch.from_numpy(dense))
        return b, dense

    def lin(seq):
        return [(m.weight.detach().numpy().astype(np.float64), m.bias.detach().numpy().astype(np.float64))
                for m in seq if isinstance(m, torch.nn.Linear)]

    def np_mlp(layers, v, last_relu):
        for i, (Wt, bb) in enumerate(layers):
            v = Wt @ v + bb
            if i < len(layers) - 1 or last_relu:
                v = np.maximum(v, 0)
        return v

    def reference(kind, model, dense):
        W = model.emb.weight.detach().numpy().astype(np.float64)
        out = []
        for r, feats in enumerate(recs):
            if kind in ("lr", "fm"):
                z = float(model.w0.detach()[0])
                for f, rw, xv in feats:
                    z += xv * W[rw, 0]
                if kind == "fm":  # the pairwise sum, spelled out
                    for i in range(len(feats)):
                        for j in range(i + 1, len(feats)):
                            (_, ri, xi), (_, rj, xj) = feats[i], feats[j]
                            z += xi * xj * W[ri, 1:] @ W[rj, 1:]
                out.append(z)
            elif kind == "deepfm":
                k = model.k
                e = np.zeros((len(fields), k))
                z = 0.0
                for f, rw, xv in feats:
                    e[f] += xv * W[rw, 1:]
                    z += xv * W[rw, 0]
                for a in range(len(fields)):  # FM over field vectors, pairwise
                    for c in range(a + 1, len(fields)):
                        z += e[a] @ e[c]
                z += np_mlp(lin(model.mlp), e.reshape(-1), False)[0]
                out.append(z)
            else:
                cats = [i for i, v in enumerate(isnum) if not v]
                e = {f: np.zeros(model.k) for f in cats}
                for f, rw, xv in feats:
                    if not isnum[f]:
                        e[f] += xv * W[rw]
                zs = []
                bv = None
                if model.bottom is not None:
                    bv = np_mlp(lin(model.bottom), dense[r].astype(np.float64), True)
                    zs.append(bv)
                zs += [e[f] for f in cats]
                dots = [zs[a] @ zs[c] for a in range(len(zs)) for c in range(a + 1, len(zs))]
                top_in = np.concatenate([bv, dots]) if bv is not None else np.array(dots)
                out.append(np_mlp(lin(model.top), top_in, False)[0])
        return np.array(out)

    worst = 0.0
    for kind, fl in (("lr", fields), ("fm", fields), ("deepfm", fields), ("dlrm", fields),
                     ("dlrm", [(n, "cat" if k == "num" else k, v) for n, k, v in fields])):
        model = build_model(kind, fl, n_rows, 3, [5, 4], [4], 0.3)
        if kind in ("lr", "fm"):
            with torch.no_grad():
                model.w0.fill_(0.25)
        isnum = [f[1] == "num" for f in fl]
        b, dense = batch_of(kind)
        got = model(b).detach().numpy()
        want = reference(kind, model, dense)
        err = float(np.abs(got - want).max())
        worst = max(worst, err)
        tag = kind if kind != "dlrm" or fl is fields else "dlrm (no numeric fields)"
        print("forward %-26s max |torch - numpy| = %.2e" % (tag, err))
        assert err < 1e-5, (kind, got, want)
        # counted by hand: deepfm 15x5 + 5x4 + 4x1; dlrm bottom 2x4 + 4x3,
        # 6 dots of 3, top 9x5 + 5x4 + 4x1; without numbers 10 dots, top 10x5 ...
        flops = {"lr": 0, "fm": 0, "deepfm": 6 * 99, "dlrm": 6 * 107, "dlrm (no numeric fields)": 6 * 104}
        assert dense_flops(model) == flops[tag], (tag, dense_flops(model))
    isnum = [f[1] == "num" for f in fields]

    # the Adagrad step: lr and fm with gradients computed by hand in numpy,
    # deepfm and dlrm from the dense gradient of autograd
    lr_, l2, eps = 0.05, 1e-3, 1e-7
    for kind in ("lr", "fm", "deepfm", "dlrm"):
        model = build_model(kind, fields, n_rows, 3, [5, 4], [4], 0.3)
        with torch.no_grad():
            model.acc.uniform_(0, 0.1)
        b, dense = batch_of(kind)
        W0 = model.emb.weight.detach().numpy().astype(np.float64).copy()
        A0 = model.acc.numpy().astype(np.float64).copy()
        B = len(recs)
        if kind in ("lr", "fm"):
            w0 = float(model.w0.detach()[0])
            z = reference(kind, model, dense)
            dz = (1 / (1 + np.exp(-z)) - labels) / B
            G = np.zeros_like(W0)
            for r, feats in enumerate(recs):
                s = sum(xv * W0[rw, 1:] for _, rw, xv in feats) if feats else 0
                for f, rw, xv in feats:
                    G[rw, 0] += dz[r] * xv
                    if kind == "fm":
                        G[rw, 1:] += dz[r] * xv * (s - xv * W0[rw, 1:])
            gw0 = dz.sum()
        else:
            Wd = model.emb.weight.detach().clone().requires_grad_(True)
            saved = model.emb.weight
            model.emb.weight = torch.nn.Parameter(Wd)
            model.emb.sparse = False
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(b), torch.from_numpy(labels))
            G = torch.autograd.grad(loss, model.emb.weight)[0].numpy().astype(np.float64)
            model.emb.weight = saved
            model.emb.sparse = True
        touched = sorted(set(b["rows"].tolist()))
        Wn, An = W0.copy(), A0.copy()
        for rw in touched:
            g = G[rw] + l2 * W0[rw]
            An[rw] += np.mean(g * g)
            Wn[rw] = W0[rw] - lr_ * g / (np.sqrt(An[rw]) + eps)
        dp = model.dense_params()
        opt = torch.optim.Adam(dp, lr=0.001) if dp else None
        train_step(model, opt, b, torch.from_numpy(labels), None, lr_, l2, eps)
        errw = float(np.abs(model.emb.weight.detach().numpy() - Wn).max())
        erra = float(np.abs(model.acc.numpy() - An).max())
        msg = "adagrad %-8s rows touched %2d: max |torch - numpy| rows %.2e, acc %.2e" % (
            kind, len(touched), errw, erra)
        if kind in ("lr", "fm"):
            a0 = gw0 * gw0
            w0n = w0 - lr_ * gw0 / (math.sqrt(a0) + eps)
            e0 = abs(float(model.w0.detach()[0]) - w0n)
            msg += ", w0 %.2e" % e0
            assert e0 < 1e-6
        print(msg)
        assert errw < 1e-6 and erra < 1e-6, kind
        untouched = [rw for rw in range(n_rows) if rw not in touched]
        assert np.array_equal(model.emb.weight.detach().numpy()[untouched], W0[untouched].astype(np.float32))
    print("self-test passed")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        selftest()
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prep")
    p.add_argument("--rec-cat", default="rec-cat")
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--model", choices=("lr", "fm", "deepfm", "dlrm"), default="fm")
    t.add_argument("--dim", type=int, default=8)
    t.add_argument("--hidden", default="128,64")
    t.add_argument("--bottom", default="64")
    t.add_argument("--batch", type=int, default=512)
    t.add_argument("--lr", type=float, default=0.05)
    t.add_argument("--dense-lr", type=float, default=0.001)
    t.add_argument("--l2", type=float, default=1e-5)
    t.add_argument("--eps", type=float, default=1e-7)
    t.add_argument("--init-scale", type=float, default=0.01)
    t.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--max-train-rows", type=int, default=0)
    i = sub.add_parser("info")
    i.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    {"prep": cmd_prep, "train": cmd_train, "info": cmd_info}[args.cmd](args)


if __name__ == "__main__":
    main()
