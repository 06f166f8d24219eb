"""Which per-sample score should qmqe average, and over how many samples (issue 14)?

One qmqe sweep per model and scheme on the first `--samples` seeded train samples keeps the logits
of the W8A8 model and of every swapped suffix (layer i alone at b bits). Each score below is then
averaged over the first N of those samples (N = 32, 64, …) and ranked against the truth of
bench_damage.py (the test top-1 drop of the real plan with layer i alone at WbAb inside W8A8; its
`--cache` file, measured there). Prints Spearman / Kendall per model, case and N. Scores:
forward KL (qmqe's default), KL at temperature 2 and 4, reverse KL (`score="rkl"`),
Jensen–Shannon, total variation, and the top-1 flip rate (KL breaks its ties).

Run: PYTHONPATH=src python bench/bench_scores.py --cache truth.json [--models a,b] [--samples 256]
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
from bench_damage import MODELS, correlations, load  # noqa: E402

from ohq.data import load_dataset  # noqa: E402
from ohq.sensitivity import get_method  # noqa: E402


def kl(a: np.ndarray, b: np.ndarray, t: float = 1.0) -> np.ndarray:
    la, lb = log_softmax(a / t, -1), log_softmax(b / t, -1)
    return (np.exp(la) * (la - lb)).sum(-1)


def js(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    pa, pb = np.exp(log_softmax(a, -1)), np.exp(log_softmax(b, -1))
    m = np.log((pa + pb) / 2)
    return 0.5 * ((pa * (np.log(pa + 1e-300) - m)).sum(-1) + (pb * (np.log(pb + 1e-300) - m)).sum(-1))


SCORES = {
    "kl (default)": kl,
    "kl, T = 2": lambda a, b: kl(a, b, 2.0),
    "kl, T = 4": lambda a, b: kl(a, b, 4.0),
    "reverse kl (rkl)": lambda a, b: kl(b, a),
    "jensen-shannon": js,
    "total variation": lambda a, b: np.abs(np.exp(log_softmax(a, -1)) - np.exp(log_softmax(b, -1))).sum(-1),
    "flip rate": lambda a, b: (a.argmax(-1) != b.argmax(-1)) + 1e-9 * kl(a, b),
}


def sweep_logits(name: str, scheme: str, n: int, bits: tuple[int, ...]):
    """(W8A8 logits N × C, swapped logits L × len(bits) × N × C) on the first n seeded train samples."""
    model, data = load(name)
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
    return ref, cube


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--cache", type=Path, required=True, help="bench_damage.py's truth file")
    parser.add_argument("--samples", type=int, default=256, help="samples swept (N up to this)")
    parser.add_argument("--test", type=int, default=2000, help="test size the truth was measured on")
    args = parser.parse_args()
    torch.set_num_threads(1)
    truth = json.loads(args.cache.read_text())
    for name in args.models.split(","):
        real = truth.get(f"{name}/{args.test}", {})
        for scheme in ("uniform", "pot"):
            bits = tuple(b for b in (2, 3) if f"{b}/{scheme}" in real)
            if not bits:
                continue
            ref, cube = sweep_logits(name, scheme, args.samples, bits)
            per = {label: fn(ref[None, None], cube) for label, fn in SCORES.items()}
            ns = [n for n in (32, 64, 128, 256, 512) if n <= args.samples]
            print(f"\n### {name}, {scheme} (ρ / τ vs the real top-1 drop on {args.test} test images)\n")
            print("| score | " + " | ".join(f"{b} bits, N = {n}" for b in bits for n in ns) + " |")
            print("|---|" + "---|" * (len(bits) * len(ns)))
            for label, values in per.items():
                cells = [correlations(values[:, j, :n].mean(-1), np.asarray(real[f"{b}/{scheme}"]))
                         for j, b in enumerate(bits) for n in ns]
                print(f"| {label} | " + " | ".join(f"{r:+.2f} / {t:+.2f}" for r, t in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
