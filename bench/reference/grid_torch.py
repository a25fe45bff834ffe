#!/usr/bin/python3
"""The quickstart grid (examples/quickstart.yaml) written as a researcher would in plain PyTorch, for bench/grid.ts.

Independent of unprune's code: only the data (the same 6,000/1,000 MNIST subset, normalised), the forget sets and
the init weights come from unprune's export (bench/grid.ts writes them to a folder with a manifest.json), so the two
sides' metrics can be compared cell group by cell group. Everything else is here: the MLP, masked SGD (PyTorch's
SGD with momentum and weight decay; gradients masked before the step), OMP with fine-tuning, IMP (rewind to init),
SynFlow, the gold pipeline (retrain on D_r, prune the same way) and its noise floor (the same again in another batch
order), the truncated-retrain estimate and re-pruning, FT and GA, and the evaluation (UA, RA, TA, the confidence SVC
attack, mask IoU against the gold mask).

Shared work is computed once and kept in memory (the dense runs, the pruned models, the gold runs, the estimates),
as a competent script would, and the noise floor's gold run stops once its mask is fixed (only the mask is read).
Batch orders: one seeded permutation of the whole training split per epoch, restricted to the view, so D_r sees its
examples in D's order (the design the tool documents). The permutations come from torch's generator, or with
--orders unprune from the export (unprune's own), for a paired comparison.

    /usr/bin/python3 bench/reference/grid_torch.py --data DIR --seeds 0 --threads 1 --out rows-0.json

Writes one JSON object: {"rows": [...], "seconds": wall, "cpu_seconds": ...}.
"""
import argparse
import json
import os
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.svm import SVC


def load(data_dir):
    with open(os.path.join(data_dir, "manifest.json")) as f:
        man = json.load(f)

    def arr(name, dtype):
        return torch.from_numpy(np.fromfile(os.path.join(data_dir, name), dtype=dtype))

    feats = man["features"]
    data = {
        "x": arr(man["train"]["x"], np.float32).view(-1, feats),
        "y": arr(man["train"]["y"], np.int32).long(),
        "xt": arr(man["test"]["x"], np.float32).view(-1, feats),
        "yt": arr(man["test"]["y"], np.int32).long(),
    }
    return man, data


class Grid:
    def __init__(self, man, data, seed, shared_orders=False):
        self.man = man
        self.shared_orders = shared_orders
        self.spec = man["spec"]
        self.x, self.y, self.xt, self.yt = data["x"], data["y"], data["xt"], data["yt"]
        self.n = self.x.shape[0]
        self.seed = seed
        self.params = man["params"]  # [{name, shape, prunable}], in the MLP's order: fc1.w, fc1.b, ...
        flat = torch.from_numpy(np.fromfile(os.path.join(man["dir"], man["inits"][str(seed)]), dtype=np.float32))
        self.init = []
        off = 0
        for p in self.params:
            size = int(np.prod(p["shape"]))
            self.init.append(flat[off : off + size].view(*p["shape"]).clone())
            off += size
        self.prunable = [i for i, p in enumerate(self.params) if p["prunable"]]
        self.all_idx = torch.arange(self.n)

    # --- the model: dense layers with ReLU between them; weights are [in, out] as in the export ---
    @staticmethod
    def forward(ws, x):
        h = x
        layers = len(ws) // 2
        for i in range(layers):
            h = torch.addmm(ws[2 * i + 1], h, ws[2 * i])
            if i + 1 < layers:
                h = F.relu(h)
        return h

    # --- batch orders ---
    def permutation(self, tag, epoch):
        if self.shared_orders:  # unprune's own permutations, from the export (--orders unprune)
            name = self.man["orders"][tag][epoch]
            return torch.from_numpy(np.fromfile(os.path.join(self.man["dir"], name), dtype=np.int32)).long()
        g = torch.Generator().manual_seed(zlib.crc32(f"{tag}:{epoch}".encode()))
        return torch.randperm(self.n, generator=g)

    def order(self, view, tag, epoch):
        perm = self.permutation(tag, epoch)
        pos = torch.full((self.n,), -1, dtype=torch.long)
        pos[view] = torch.arange(len(view))
        p = pos[perm]
        return view[p[p >= 0]]

    # --- masked SGD ---
    def train(self, ws0, mask, view, tag, epochs, lr, stop_after=None, ascent=False):
        t = self.spec["train"]
        ws = [w.clone().requires_grad_() for w in ws0]
        opt = torch.optim.SGD(ws, lr=lr, momentum=t["momentum"], weight_decay=t["weightDecay"])
        batch = t["batch"]
        for epoch in range(stop_after or epochs):
            idx = self.order(view, tag, epoch)
            for s in range(0, len(idx), batch):
                b = idx[s : s + batch]
                loss = F.cross_entropy(self.forward(ws, self.x[b]), self.y[b])
                opt.zero_grad(set_to_none=False)
                (-loss if ascent else loss).backward()
                if mask is not None:
                    for i, m in mask.items():
                        ws[i].grad.mul_(m)
                opt.step()
                if mask is not None:
                    with torch.no_grad():
                        for i, m in mask.items():
                            ws[i].mul_(m)
        return [w.detach() for w in ws]

    # --- masks: {param index: 0/1 float tensor} ---
    @staticmethod
    def keep_count(n, sparsity):
        return n - round(sparsity * n)

    @staticmethod
    def top(scores, k, eligible=None):
        s = scores.flatten().clone()
        if eligible is not None:
            s[eligible.flatten() == 0] = -float("inf")
        keep = torch.zeros(s.numel())
        keep[torch.topk(s, k).indices] = 1
        return keep.view(scores.shape)

    def magnitude(self, ws, sparsity, within=None):
        return {
            i: self.top(ws[i].abs(), self.keep_count(ws[i].numel(), sparsity), within and within[i])
            for i in self.prunable
        }

    @staticmethod
    def apply(ws, mask):
        return [w * mask[i] if i in mask else w for i, w in enumerate(ws)]

    def synflow(self, sparsity, iterations=100):
        absw = [w.abs() for w in self.init]
        mask = {i: torch.ones_like(self.init[i]) for i in self.prunable}
        ones = torch.ones(1, self.x.shape[1])
        total = sum(self.init[i].numel() for i in self.prunable)
        for j in range(1, iterations + 1):
            ws = [(absw[i] * mask[i] if i in mask else absw[i]).requires_grad_() for i in range(len(absw))]
            grads = torch.autograd.grad(self.forward(ws, ones).sum(), [ws[i] for i in self.prunable])
            scores = torch.cat([(g * ws[i]).abs().flatten() for g, i in zip(grads, self.prunable)]).detach()
            eligible = torch.cat([mask[i].flatten() for i in self.prunable])
            s = 1 - (1 - sparsity) ** (j / iterations)
            keep = self.top(scores, self.keep_count(total, s), eligible)
            off = 0
            for i in self.prunable:
                size = self.init[i].numel()
                mask[i] = keep[off : off + size].view(self.init[i].shape)
                off += size
        return mask

    # --- pruning (also the gold pipeline's, on D_r) ---
    def imp_rounds(self, scored, view, tag, sparsity, rounds, stop_after=None):
        mask = None
        e = self.spec["train"]["epochs"]
        for r in range(1, rounds + 1):
            if r > 1:
                scored = self.train(
                    self.apply(self.init, mask), mask, view, f"{tag}/imp-round:{r - 1}", e, self.lr, stop_after
                )
            mask = self.magnitude(scored, 1 - (1 - sparsity) ** (r / rounds), mask)
        return mask

    def prune(self, p, dense, view, tag, mask_only=False):
        # mask_only (the noise floor, read only for its mask): no training once the mask is fixed.
        e = self.spec["train"]["epochs"]
        if p["method"] == "omp":
            mask = self.magnitude(dense, p["sparsity"])
            ws = self.apply(dense, mask)
            if p.get("finetuneEpochs", 0) > 0 and not mask_only:
                ws = self.train(ws, mask, view, f"{tag}/prune-finetune", p["finetuneEpochs"], self.lr)
            return ws, mask
        if p["method"] == "imp":
            mask = self.imp_rounds(dense, view, tag, p["sparsity"], p["rounds"])
            if mask_only:
                return self.apply(self.init, mask), mask
            ws = self.train(self.apply(self.init, mask), mask, view, f"{tag}/imp-round:{p['rounds']}", e, self.lr)
            return ws, mask
        if p["method"] == "synflow":
            if p["sparsity"] not in self.synflow_masks:  # data-free: one mask per sparsity, the gold's too
                self.synflow_masks[p["sparsity"]] = self.synflow(p["sparsity"])
            mask = self.synflow_masks[p["sparsity"]]
            return self.train(self.apply(self.init, mask), mask, view, f"{tag}/prune-finetune", e, self.lr), mask
        raise ValueError(p["method"])

    # --- evaluation ---
    def probs(self, ws, x):
        with torch.no_grad():
            return F.softmax(self.forward(ws, x), dim=1)

    def evaluate(self, ws, mask, gold_mask, floor_mask, retain, forget):
        pr, pf, pt = self.probs(ws, self.x[retain]), self.probs(ws, self.x[forget]), self.probs(ws, self.xt)
        yr, yf = self.y[retain], self.y[forget]
        acc = lambda p, y: 100.0 * (p.argmax(1) == y).float().mean().item()  # noqa: E731
        shadow = self.spec["miaShadow"]
        conf = lambda p, y: p.gather(1, y[:, None]).numpy().astype(np.float64)  # noqa: E731
        members, non = conf(pr[:shadow], yr[:shadow]), conf(pt[:shadow], self.yt[:shadow])
        svc = SVC(C=3, gamma="auto", kernel="rbf").fit(
            np.concatenate([members, non]), np.r_[np.ones(len(members)), np.zeros(len(non))]
        )
        mia = 100.0 * float((svc.predict(conf(pf, yf)) == 0).mean())

        def iou(a, b):
            inter = sum(float((a[i] * b[i]).sum()) for i in a)
            union = sum(float(((a[i] + b[i]) > 0).sum()) for i in a)
            return 1.0 if union == 0 else inter / union

        return {
            "ua": 100.0 - acc(pf, yf),
            "ra": acc(pr, yr),
            "ta": acc(pt, self.yt),
            "mia_efficacy": mia,
            "iou_gold": iou(mask, gold_mask),
            "iou_floor": iou(gold_mask, floor_mask) if floor_mask is not None else None,
        }

    def run(self):
        spec = self.spec
        t = spec["train"]
        self.lr = t["lr"]
        self.synflow_masks = {}
        tag = str(self.seed)
        e = t["epochs"]
        dense = self.train(self.init, None, self.all_idx, tag, e, self.lr)
        pruned = {json.dumps(p, sort_keys=True): self.prune(p, dense, self.all_idx, tag) for p in spec["prunes"]}
        rows = []
        for size in spec["sizes"]:
            forget = torch.from_numpy(
                np.fromfile(os.path.join(self.man["dir"], self.man["forget"][f"{self.seed}:{size}"]), dtype=np.int32)
            ).long()
            keep = torch.ones(self.n, dtype=torch.bool)
            keep[forget] = False
            retain = self.all_idx[keep]
            floor_tag = f"{tag}/reshuffle:1"
            gold_dense = self.train(self.init, None, retain, tag, e, self.lr)
            floor_dense = self.train(self.init, None, retain, floor_tag, e, self.lr) if spec["floor"] else None
            estimate = None
            for p in spec["prunes"]:
                key = json.dumps(p, sort_keys=True)
                ws, m = pruned[key]
                gold_ws, gold_m = self.prune(p, gold_dense, retain, tag)
                data_dependent = p["method"] != "synflow"
                floor_m = (
                    self.prune(p, floor_dense, retain, floor_tag, mask_only=True)[1]
                    if floor_dense is not None and data_dependent
                    else None
                )
                models = {"none": (ws, m)}
                if "reprune" in spec["unprune"]:
                    if not data_dependent:
                        models["reprune"] = (ws, m)
                    else:
                        if estimate is None:
                            estimate = self.train(self.init, None, retain, tag, e, self.lr, stop_after=max(1, e - 1))
                        if p["method"] == "imp":
                            mu = self.imp_rounds(estimate, retain, tag, p["sparsity"], p["rounds"], max(1, e - 1))
                        else:
                            mu = {i: self.top(estimate[i].abs(), int(m[i].sum().item())) for i in self.prunable}
                        repaired = [
                            torch.where(mu[i] > 0, torch.where(m[i] > 0, w, estimate[i]), torch.zeros_like(w))
                            if i in mu
                            else w
                            for i, w in enumerate(ws)
                        ]
                        models["reprune"] = (repaired, mu)
                for variant, (w0, mask) in models.items():
                    for u in spec["unlearn"]:
                        if u["method"] == "ft":
                            wu = self.train(w0, mask, retain, f"{tag}/unlearn", u["epochs"], u.get("lr", 0.01))
                        elif u["method"] == "ga":
                            wu = self.train(w0, mask, forget, f"{tag}/unlearn", u["epochs"], u["lr"], ascent=True)
                        else:
                            raise ValueError(u["method"])
                        row = self.evaluate(wu, mask, gold_m, floor_m, retain, forget)
                        row.update(
                            seed=self.seed,
                            prune=p["method"],
                            sparsity=p["sparsity"],
                            deletion_size=size,
                            unlearn=u["method"],
                            unprune=variant,
                        )
                        rows.append(row)
                # The reference rows a table shows: the gold model and the pruned model before unlearning.
                for ref, (rw, rm) in (("gold", (gold_ws, gold_m)), ("original", (ws, m))):
                    row = self.evaluate(rw, rm, gold_m, floor_m, retain, forget)
                    row.update(
                        seed=self.seed, prune=p["method"], sparsity=p["sparsity"], deletion_size=size, reference=ref
                    )
                    rows.append(row)
        return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    # torch: this script's own seeded permutations (independent of unprune's); unprune: the export's, so the two
    # sides see the same batches and differ only in their arithmetic (the agreement check's paired mode).
    ap.add_argument("--orders", choices=["torch", "unprune"], default="torch")
    a = ap.parse_args()
    start = time.perf_counter()
    torch.set_num_threads(a.threads)
    man, data = load(a.data)
    man["dir"] = a.data
    rows = []
    for s in [int(x) for x in a.seeds.split(",")]:
        rows += Grid(man, data, s, a.orders == "unprune").run()
    with open(a.out, "w") as f:
        json.dump({"rows": rows, "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time()}, f)


if __name__ == "__main__":
    main()
