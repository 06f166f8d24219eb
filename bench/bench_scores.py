"""Which per-sample score should qmqe average, and over how many samples (issue 14)?

One qmqe sweep per model and scheme on the first `--samples` seeded train samples keeps the logits
of the W8A8 model and of every swapped suffix (layer i alone at b bits). Each score below is then
averaged over the first N of those samples (N = 32, 64, …) and ranked against the truth of
bench_damage.py (the test top-1 drop of the real plan with layer i alone at WbAb inside W8A8; its
`--cache` file). A case missing from the file is measured here by `qmqe.measured_drop` on the
even and the odd test images (exact swaps: the same logits as the real plan bit for bit,
tests/sensitivity/test_swap.py; mnist_mobilenet_v2 2/uniform took 324 s on 5,000 images with two
threads, one plan per layer 1,748 s on 3,000 images with one) and added to it. Prints Spearman / Kendall per model, case and N, and the truth's own even-vs-odd Spearman.
Scores: forward KL, KL at temperature 2 and 4, reverse KL (`score="rkl"`), Jensen–Shannon
(`"js"`), JS of the logits rescaled to the reference's spread (`"sjs"`), total variation, and the
top-1 flip rate (KL breaks its ties).

Run: PYTHONPATH=src python bench/bench_scores.py --cache truth.json [--models a,b] [--samples 256]
     [--cases 2/uniform,3/uniform,3/pot] [--test 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.special import log_softmax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_damage import MODELS, correlations, load, split_half  # noqa: E402

from ohq.data import load_dataset  # noqa: E402
from ohq.sensitivity import get_method  # noqa: E402
from ohq.sensitivity.qmqe import rescaled_js  # noqa: E402


def kl(a: np.ndarray, b: np.ndarray, t: float = 1.0) -> np.ndarray:
    la, lb = log_softmax(a / t, -1), log_softmax(b / t, -1)
    return (np.exp(la) * (la - lb)).sum(-1)


def js(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    pa, pb = np.exp(log_softmax(a, -1)), np.exp(log_softmax(b, -1))
    m = np.log((pa + pb) / 2)
    return 0.5 * ((pa * (np.log(pa + 1e-300) - m)).sum(-1) + (pb * (np.log(pb + 1e-300) - m)).sum(-1))


def flat(score, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A qmqe score (rows of logits, torch) over broadcast arrays of logits."""
    a, b = np.broadcast_arrays(a, b)
    rows = score(torch.from_numpy(a.reshape(-1, a.shape[-1])), torch.from_numpy(b.reshape(-1, b.shape[-1])))
    return rows.numpy().reshape(a.shape[:-1])


SCORES = {
    "kl (MQE's)": kl,
    "kl, T = 2": lambda a, b: kl(a, b, 2.0),
    "kl, T = 4": lambda a, b: kl(a, b, 4.0),
    "reverse kl (rkl)": lambda a, b: kl(b, a),
    "jensen-shannon": js,
    "jensen-shannon, rescaled (sjs)": lambda a, b: flat(rescaled_js, a, b),
    "total variation": lambda a, b: np.abs(np.exp(log_softmax(a, -1)) - np.exp(log_softmax(b, -1))).sum(-1),
    "flip rate": lambda a, b: (a.argmax(-1) != b.argmax(-1)) + 1e-9 * kl(a, b),
}


def sweep_logits(model, data: str, scheme: str, n: int, bits: tuple[int, ...]):
    """(W8A8 logits N × C, swapped logits L × len(bits) × N × C, the fitted qmqe) on the first n seeded
    train samples of `data`."""
    train = load_dataset(data, "train")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    est = get_method("qmqe", candidate_bits=bits, scheme=scheme, calib=train.x[order[:256]])
    est.fit(model, train.x[order[:2]])  # builds the swaps; the sweep below runs on all n samples
    x = train.x[order[:n]]
    outs: dict[tuple[int, int], list] = {}
    refs = []
    for _, r, i, col, out in est._sweep(x):
        if i == 0 and col == 0:
            refs.append(r.numpy())
        outs.setdefault((i, col), []).append(out.numpy())
    ref = np.concatenate(refs)
    cube = np.stack([np.stack([np.concatenate(outs[(i, c)]) for c in range(len(bits))])
                     for i in range(len(est.layer_names_))])
    return ref, cube, est


def swap_truth(est, x, y, real: dict, scheme: str, bits: tuple[int, ...]) -> None:
    """Add the missing `b/scheme` truths to `real`: top-1 drop per layer on test images x (labels y),
    from exact swaps, with the even/odd halves bench_damage.py keeps."""
    even, odd = est.measured_drop(x[0::2], y[0::2]), est.measured_drop(x[1::2], y[1::2])
    both = (even * len(x[0::2]) + odd * len(x[1::2])) / len(x)
    for j, b in enumerate(bits):
        real[f"{b}/{scheme}"] = both[:, j].tolist()
        real[f"{b}/{scheme}/halves"] = np.stack([even[:, j], odd[:, j]], axis=1).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--cache", type=Path, required=True, help="bench_damage.py's truth file (extended here)")
    parser.add_argument("--samples", type=int, default=256, help="samples swept (N up to this)")
    parser.add_argument("--test", type=int, default=2000, help="test images of the truth")
    parser.add_argument("--cases", default="2/uniform,3/uniform,3/pot", help="bits/scheme cases")
    args = parser.parse_args()
    torch.set_num_threads(1)
    truth = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    cases = [c.split("/") for c in args.cases.split(",")]
    for name in args.models.split(","):
        model, data = load(name)
        test = load_dataset(data, "test")
        n_test = min(args.test, len(test.x))
        real = truth.setdefault(f"{name}/{n_test}", {})
        for scheme in ("uniform", "pot"):
            bits = tuple(int(b) for b, s in cases if s == scheme)
            if not bits:
                continue
            ref, cube, est = sweep_logits(model, data, scheme, args.samples, bits)
            if any(f"{b}/{scheme}" not in real for b in bits):
                swap_truth(est, test.x[:n_test], test.y[:n_test], real, scheme, bits)  # derived: exact ranges
                args.cache.write_text(json.dumps(truth))
            per = {label: fn(ref[None, None], cube) for label, fn in SCORES.items()}
            ns = [n for n in (32, 64, 128, 256, 512) if n <= args.samples]
            splits = ", ".join(f"{b} bits {split_half(real, f'{b}/{scheme}'):+.2f}" for b in bits)
            print(f"\n### {name}, {scheme} (ρ / τ vs the real top-1 drop on {n_test} test images; "
                  f"the truth's even vs odd: {splits})\n")
            print("| score | " + " | ".join(f"{b} bits, N = {n}" for b in bits for n in ns) + " |")
            print("|---|" + "---|" * (len(bits) * len(ns)))
            for label, values in per.items():
                cells = [correlations(values[:, j, :n].mean(-1), np.asarray(real[f"{b}/{scheme}"]))
                         for j, b in enumerate(bits) for n in ns]
                print(f"| {label} | " + " | ".join(f"{r:+.2f} / {t:+.2f}" for r, t in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
