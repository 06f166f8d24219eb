"""Sensitivity benchmarks (issue: distilled data and MQE): prints tables, writes nothing.

  timing    wall time of mqe / layerwise / hessian on mnist_resnet and ResNet-18 at 224x224 (N = 32),
            and MQE's cost as a multiple of one forward pass over the N samples
  spearman  Spearman correlation over layers between each method's score and the real test top-1
            drop when that layer alone is quantized to 2 and 3 bits (shipped MNIST models);
            then the MQE variants (mask seeds, several masks, which samples)
  distill   BN-statistics loss before/after distillation; W8A8 (and W4A4) PTQ top-1 when
            calibrating on distilled vs real vs noise data

Run: python bench/bench_sensitivity.py [--section timing|spearman|distill|all] [--quick]
Timings are single-threaded (torch.set_num_threads(1)): the shared CI machines have two cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from ohq.data import load_dataset
from ohq.data.distill import bn_statistics_loss, distill_data
from ohq.errors import OhqError
from ohq.models import build_shipped, create_model
from ohq.quant import Plan, QuantSpec, quantize
from ohq.sensitivity import MQE, get_method

SHIPPED_MNIST = ("mnist_cnn", "mnist_resnet", "mnist_mobilenet_v2")
METHODS = ("mqe", "layerwise", "hessian")


def shipped(name: str):
    try:
        return build_shipped(name)
    except OhqError as exc:
        print(f"  [skip {name}: {exc}]")
        return None


@torch.no_grad()
def top1(model, x, y, batch: int = 500) -> float:
    hits = sum(int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(x), batch))
    return hits / len(x)


def seconds(fn, repeat: int = 1) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def real_samples(data: str, n: int, seed: int = 0):
    train = load_dataset(data, "train")
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    return train.x[pick], train.y[pick]


# ---------------------------------------------------------------------------------------------
def section_timing(quick: bool) -> None:
    print("\n## Wall time per method (N = 32, one thread)\n")
    cases = []
    model = shipped("mnist_resnet")
    if model is None:
        model = create_model("resnet18", num_classes=10, in_channels=1, small_input=True, width=16).eval()
    cases.append(("mnist_resnet", model, torch.randn(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))))
    if not quick:
        cases.append(("resnet18@224", create_model("resnet18").eval(),
                      torch.randn(32, 3, 224, 224, generator=torch.Generator().manual_seed(0))))
    print("| model | layers | FP fwd (s) | W8A8 fwd (s) | mqe (s) | layerwise (s) | hessian (s) "
          "| mqe / FP fwd | mqe / W8A8 fwd | mqe fwd-equiv (suffix) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, model, x in cases:
        with torch.no_grad():
            fp = seconds(lambda model=model, x=x: model(x))
        qm = quantize(model, Plan(default=QuantSpec(8, 8)), x)
        with torch.no_grad():
            q = seconds(lambda qm=qm, x=x: qm(x))
        times = {}
        for method in METHODS:
            est = get_method(method, batch_size=32 if method != "hessian" else 16).fit(model, x)
            times[method] = est.seconds_
            if method == "mqe":
                equiv = est.forward_equiv_
        print(f"| {name} | {len(est.layer_names_)} | {fp:.2f} | {q:.2f} | {times['mqe']:.1f} | "
              f"{times['layerwise']:.1f} | {times['hessian']:.1f} | {times['mqe'] / fp:.1f}x | "
              f"{times['mqe'] / q:.1f}x | {equiv:.1f} |")
    print("\nmqe includes its one W8A8 quantization (calibration); hessian uses 32 Hutchinson probes.")


# ---------------------------------------------------------------------------------------------
def damage(model, names, x_cal, x_test, y_test, bits) -> np.ndarray:
    """Test top-1 drop when each layer alone has `bits`-bit weights (the rest FP32)."""
    base = top1(model, x_test, y_test)
    out = []
    for name in names:
        qm = quantize(model, Plan(default=None, layers={name: QuantSpec(w_bits=bits, a_bits=None)}), x_cal)
        out.append(base - top1(qm, x_test, y_test))
    return np.array(out)


def rho(a, b) -> float:
    r = spearmanr(a, b).statistic
    return float("nan") if np.isnan(r) else float(r)


def section_spearman(quick: bool, models: tuple[str, ...] = SHIPPED_MNIST) -> None:
    print("\n## How well each method predicts real damage (Spearman over layers)\n")
    test = load_dataset("mnist", "test")
    n_test = 2000 if quick else len(test)
    x_test, y_test = test.x[:n_test], test.y[:n_test]
    x_real, y_real = real_samples("mnist", 32)
    for name in models:
        model = shipped(name)
        if model is None:
            continue
        distilled = distill_data(model, 32, (1, 28, 28), steps=100 if quick else 500, seed=0).x
        names = get_method("layerwise").fit(model, x_real[:2]).layer_names_
        drops = {b: damage(model, names, x_real, x_test, y_test, b) for b in (2, 3)}
        print(f"### {name} ({len(names)} layers; FP top-1 {top1(model, x_test, y_test):.2%} on {n_test} test; "
              f"mean drop 2-bit {drops[2].mean():.2%}, 3-bit {drops[3].mean():.2%})\n")
        print("| method | data | ρ vs 2-bit drop | ρ vs 3-bit drop | seconds |")
        print("|---|---|---|---|---|")
        rows = [(m, "distilled", {}, distilled, None) for m in METHODS]
        rows += [(m, "real", {}, x_real, y_real) for m in METHODS]
        rows += [("layerwise", "real", {"bits": 2}, x_real, y_real), ("layerwise", "real", {"bits": 3}, x_real, y_real)]
        rows += [("hessian", "real", {"bits": 2}, x_real, y_real)]
        for method, source, params, x, y in rows:
            est = get_method(method, **params).fit(model, x, y)
            label = method + "".join(f" {k}={v}" for k, v in params.items())
            print(f"| {label} | {source} | {rho(est.scores_, drops[2]):+.2f} | {rho(est.scores_, drops[3]):+.2f} "
                  f"| {est.seconds_:.1f} |")
        print("\nMQE variants (real data unless noted):\n")
        print("| variant | ρ 2-bit | ρ 3-bit |")
        print("|---|---|---|")
        seeds = [MQE(seed=s).fit(model, x_real).scores_ for s in range(5)]
        r2 = [rho(s, drops[2]) for s in seeds]
        r3 = [rho(s, drops[3]) for s in seeds]
        print(f"| 1 mask, seeds 0-4 (mean ± sd) | {np.mean(r2):+.2f} ± {np.std(r2):.2f} | {np.mean(r3):+.2f} ± {np.std(r3):.2f} |")
        x_big, _ = real_samples("mnist", 256, seed=1)
        variants = [
            ("4 masks", {"n_masks": 4}, x_real),
            ("16 masks", {"n_masks": 16}, x_real),
            ("4 masks, N = 256 real", {"n_masks": 4}, x_big),
            ("4 masks, N = 32 distilled", {"n_masks": 4}, distilled),
            ("4 masks, alpha = 0.25", {"n_masks": 4, "alpha": 0.25}, x_real),
            ("4 masks, alpha = 0.1", {"n_masks": 4, "alpha": 0.1}, x_real),
            ("4 masks, alpha = 0.75", {"n_masks": 4, "alpha": 0.75}, x_real),
            ("4 masks, rescale kept by 1/(1-alpha)", {"n_masks": 4, "rescale": True}, x_real),
            ("4 masks, alpha = 0.25, rescale", {"n_masks": 4, "alpha": 0.25, "rescale": True}, x_real),
        ]
        for label, params, x in variants:
            s = MQE(**params).fit(model, x).scores_
            print(f"| {label} | {rho(s, drops[2]):+.2f} | {rho(s, drops[3]):+.2f} |")
        print()


# ---------------------------------------------------------------------------------------------
def section_distill(quick: bool) -> None:
    print("\n## Distilled data: BN-statistics loss and W8A8 PTQ calibration\n")
    print("Top-1 after PTQ calibrated on 32 real / distilled / N(0,1) samples; W4A4 with the minmax and")
    print("the mse activation observer (distilled inputs have outliers that a minmax range keeps).\n")
    print("| model | BN loss: noise → distilled | BN loss real | seconds | FP top-1 "
          "| W8A8 minmax: real | distilled | noise | W4A4 minmax: real | distilled | noise "
          "| W4A4 mse: real | distilled | noise |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("digits_cnn", *SHIPPED_MNIST):
        model = shipped(name)
        if model is None:
            continue
        data = "digits" if name == "digits_cnn" else "mnist"
        test = load_dataset(data, "test")
        x_test, y_test = (test.x[:2000], test.y[:2000]) if quick else (test.x, test.y)
        x_real, _ = real_samples(data, 32)
        shape = tuple(x_real.shape[1:])
        start = time.perf_counter()
        d = distill_data(model, 32, shape, steps=100 if quick else 500, seed=0)
        secs = time.perf_counter() - start
        noise = torch.randn(32, *shape, generator=torch.Generator().manual_seed(0))
        accs = []
        for bits, obs in ((8, "minmax"), (4, "minmax"), (4, "mse")):
            for calib in (x_real, d.x, noise):
                qm = quantize(model, Plan(default=QuantSpec(bits, bits, a_observer=obs)), calib)
                accs.append(f"{top1(qm, x_test, y_test):.2%}")
        print(f"| {name} | {d.loss_before:.3g} → {d.loss_after:.3g} | {bn_statistics_loss(model, x_real):.3g} | "
              f"{secs:.0f} | {top1(model, x_test, y_test):.2%} | " + " | ".join(accs) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("timing", "spearman", "distill", "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="Skip ResNet-18@224, fewer steps/test samples.")
    parser.add_argument("--models", default=",".join(SHIPPED_MNIST), help="spearman: shipped models.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.section in ("timing", "all"):
        section_timing(args.quick)
    if args.section in ("spearman", "all"):
        section_spearman(args.quick, tuple(args.models.split(",")))
    if args.section in ("distill", "all"):
        section_distill(args.quick)


if __name__ == "__main__":
    main()
