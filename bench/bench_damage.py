"""How well each sensitivity method's per-bit damage predicts real damage (issue 14).

Truth: the test top-1 drop when one layer alone is quantized to b bits (weights and its input
activation at b, `scheme` weights) inside the W8A8 model — what a W/A */* plan does — against the
W8A8 model itself; `calib` train samples calibrate, `test` test samples score. Prediction: each
method's `damage(bits, scheme)` column b, fitted on N = 32 train samples. Prints Spearman and
Kendall over layers for every model (shipped and the fixtures of tests/fixtures/models).

Run: PYTHONPATH=src python bench/bench_damage.py [--models a,b] [--test 2000] [--cache FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from ohq.data import load_dataset
from ohq.models import build_shipped
from ohq.quant import Plan, QuantSpec, quantize
from ohq.report.plots import plot_damage
from ohq.sensitivity import get_method
from ohq.sensitivity.damage import fit_drop_scale, kl_to_drop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "models"))
from recipes import ARCHS, build  # noqa: E402

SHIPPED = ("digits_cnn", "mnist_cnn", "mnist_resnet", "mnist_mobilenet_v2")
MODELS = SHIPPED + tuple(ARCHS)
CASES = ((2, "uniform"), (3, "uniform"), (2, "pot"), (3, "pot"))  # uniform first: 2-bit pot reuses it
METHODS = (  # label, registered name, parameters (qmqe gets the scheme it predicts)
    ("mqe (paper, 1 mask)", "mqe", {"n_masks": 1}),
    ("mqe (4 masks)", "mqe", {"n_masks": 4}),
    ("layerwise (4 bits)", "layerwise", {}),
    ("hessian (4 bits)", "hessian", {}),
    ("qmqe α=1 (default, Jensen–Shannon)", "qmqe", {}),
    ("qmqe α=1, every candidate re-run", "qmqe", {"measure": "all"}),
    ("qmqe α=1, top-1 loss", "qmqe", {"score": "top1"}),
    ("qmqe α=1, reverse KL", "qmqe", {"score": "rkl"}),
    ("qmqe α=1, KL (former default)", "qmqe", {"score": "kl"}),
    ("qmqe α=0.5, 2 masks", "qmqe", {"alpha": 0.5, "n_masks": 2}),
)
PLOTTED = 4  # qmqe α=1, the default


def load(name: str):
    if name in SHIPPED:
        return build_shipped(name).eval(), "digits" if name == "digits_cnn" else "mnist"
    return build(name), "mnist"


@torch.no_grad()
def correct(net, x, y) -> np.ndarray:
    """Per test image: 1 where `net` is right."""
    return np.concatenate([(net(x[i:i + 500]).argmax(1) == y[i:i + 500]).double().numpy() for i in range(0, len(x), 500)])


def top1(net, x, y) -> float:
    return float(correct(net, x, y).mean())


def truth(model, names, calib, x, y, cases=CASES, known: dict | None = None) -> dict[str, list[float]]:
    """Top-1 drop per layer for each (bits, scheme) case, vs the W8A8 model (`known`: cases already measured)."""
    out = dict(known or {})
    ok8 = correct(quantize(model, Plan(QuantSpec(8, 8)), calib).to_integer(), x, y)
    out["int8"] = float(ok8.mean())
    for b, scheme in cases:
        if f"{b}/{scheme}" in out:
            continue
        if f"{b}/uniform" in out and same_plans(model, calib, b, scheme):
            out[f"{b}/{scheme}"], out[f"{b}/{scheme}/halves"] = out[f"{b}/uniform"], out[f"{b}/uniform/halves"]
            print(f"{b}/{scheme}: every layer's W{b}A{b} weights and input quantizer equal uniform's: "
                  "the same plans, the truth copied", flush=True)
            continue
        drops, halves = [], []
        for name in names:
            qm = quantize(model, Plan(QuantSpec(8, 8), {name: QuantSpec(b, b, scheme)}), calib)
            lost = ok8 - correct(qm if qm.integer_problems() else qm.to_integer(), x, y)
            drops.append(float(lost.mean()))
            halves.append([float(lost[0::2].mean()), float(lost[1::2].mean())])
        out[f"{b}/{scheme}"] = drops
        out[f"{b}/{scheme}/halves"] = halves  # even / odd test images: how far the truth ranks itself
    return out


def same_plans(model, calib, b: int, scheme: str) -> bool:
    """Whether W_b A_b `scheme` quantizes every layer exactly as uniform does (2-bit pot: {-1, 0, 1})."""
    u = quantize(model, Plan(QuantSpec(b, b)), calib).layers
    p = quantize(model, Plan(QuantSpec(b, b, scheme)), calib).layers
    return all(torch.equal(u[k].codes * u[k]._shape_w(u[k].step), p[k].codes * p[k]._shape_w(p[k].step))
               and u[k].inp == p[k].inp for k in u)


def split_half(real: dict, case: str) -> float:
    """Spearman between the truth on even and on odd test images (nan where not measured)."""
    halves = np.asarray(real.get(f"{case}/halves", []))
    return correlations(halves[:, 0], halves[:, 1])[0] if len(halves) else float("nan")


def correlations(pred, real) -> tuple[float, float]:
    if np.ptp(pred) == 0 or np.ptp(real) == 0:
        return float("nan"), float("nan")
    return float(spearmanr(pred, real).statistic), float(kendalltau(pred, real).statistic)


def measure(name: str, n_test: int, cache: dict, cases=CASES, methods=METHODS) -> dict:
    model, data = load(name)
    train, test = load_dataset(data, "train"), load_dataset(data, "test")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    x32, calib = train.x[order[:32]], train.x[order[:256]]
    x, y = test.x[:n_test], test.y[:n_test]
    names = get_method("layerwise").fit(model, x32[:2]).layer_names_
    key = f"{name}/{n_test}"  # one entry per model and test size, one list per case
    cache[key] = real = truth(model, names, calib, x, y, cases, cache.get(key))
    rows, points = {}, []
    for label, method, params in methods:
        fits = {}
        for b, scheme in cases:
            if method == "qmqe" and scheme not in fits:
                fits[scheme] = get_method(method, candidate_bits=(2, 3, 4, 8) if scheme == "uniform" else (2, 3, 4),
                                          scheme=scheme, calib=calib,
                                          **params).fit(model, x32)
            est = fits.get(scheme) or fits.setdefault("any", get_method(method, **params).fit(model, x32))
            pred = est.damage((b,), scheme)[:, 0]
            rows.setdefault(label, {})[f"{b}/{scheme}"] = correlations(pred, real[f"{b}/{scheme}"])
            if label == METHODS[PLOTTED][0]:  # calibrated: KL → top-1 drop, scale fitted on the samples
                scale = fit_drop_scale(est.damage_, est.flips_)
                points.append((kl_to_drop(pred, scale), real[f"{b}/{scheme}"], f"{b} bits {scheme}"))
        rows[label]["seconds"] = sum(e.seconds_ for e in {id(e): e for e in fits.values()}.values())
    return {"layers": len(names), "int8": real["int8"], "n_test": len(x), "mean_drop": {c: float(np.mean(real[c])) for c in real if c.count("/") == 1},
            "split_half": {f"{b}/{s}": split_half(real, f"{b}/{s}") for b, s in cases},
            "rows": rows, "points": points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--test", type=int, default=2000, help="test samples for the truth")
    parser.add_argument("--cases", default=",".join(f"{b}/{s}" for b, s in CASES), help="e.g. 2/uniform,3/pot")
    parser.add_argument("--methods", help="row labels to fit, separated by ';' (default: all)")
    parser.add_argument("--cache", type=Path, help="JSON file that keeps the measured truth between runs")
    parser.add_argument("--plot", type=Path, help="folder for predicted-vs-measured PNGs (the default method)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    cases = tuple((int(c.split("/")[0]), c.split("/")[1]) for c in args.cases.split(","))
    cols = [f"{b}/{s}" for b, s in cases]
    for name in args.models.split(","):
        start = time.perf_counter()
        chosen = METHODS if not args.methods else [m for m in METHODS if m[0] in args.methods.split(";")]
        res = measure(name, args.test, cache, cases, chosen)
        if args.cache:
            args.cache.write_text(json.dumps(cache))
        if args.plot:
            pts = res["points"]
            plot_damage(args.plot / f"damage_{name}.png", np.concatenate([p for p, _, _ in pts]),
                        np.concatenate([r for _, r, _ in pts]), [g for p, _, g in pts for _ in p],
                        title=f"{name}: qmqe, calibrated KL → top-1 drop")
        drops = ", ".join(f"{c} {100 * v:.2f}" for c, v in res["mean_drop"].items())
        print(f"\n### {name} ({res['layers']} layers, W8A8 {res['int8']:.2%} on {res['n_test']} test; "
              f"mean drop % {drops}; {time.perf_counter() - start:.0f} s)\n")
        print("| method | " + " | ".join(f"ρ / τ {c}" for c in cols) + " | fit s |")
        print("|---|" + "---|" * (len(cols) + 1))
        print("| truth: even vs odd test images (ρ) | " + " | ".join(f"{res['split_half'][c]:+.2f}" for c in cols) + " | |")
        for label, row in res["rows"].items():
            cells = " | ".join(f"{row[c][0]:+.2f} / {row[c][1]:+.2f}" for c in cols)
            print(f"| {label} | {cells} | {row['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
