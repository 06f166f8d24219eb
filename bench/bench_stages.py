"""Stage times of a data-free run and the cost of sensitivity, as the speed goals state them.

  pipeline     `ohq quantize --model resnet18 --input 1,3,224,224 --size-ratio 0.25` (32 distilled
               images) through `run_pipeline`: wall and CPU seconds of every stage, the Adam steps
               distillation took (plateau criterion), then the same request again (distilled batch
               from the disk cache). Goal: at most 300 s on the 2-core machine.
  sensitivity  the default method (qmqe) and hessian on a model, in W8A8 forward passes over the N
               samples (wall time ratio, and qmqe's suffix work `forward_equiv_` in passes' worth of
               graph nodes), and beyond what the pipeline's PTQ reuses from it (the BN fold and
               float calibration pass, the W8A8 model). Goal: qmqe at most 0.6 × L passes.
  observers    top-1 with each observer named explicitly, per weight and per activation bit-width
               (the other tensor at 8 bits min-max), and W4A4 for every pair (docs/quant.md).
  override     a plan setting every layer to one spec under a W8A8 default vs the uniform plan
               of that spec, per observer (mnist_resnet; docs/quant.md, Plans).
  distill      BN loss and W8A8 / W4A4 top-1 (calibrated on the distilled batch) after k Adam steps,
               and the step the plateau criterion stops at, on shipped MNIST models.

Run: OMP_NUM_THREADS=2 python bench/bench_stages.py [--section pipeline|sensitivity|distill|all]
[--repeat K: sensitivity rounds, interleaved, medians printed]
The machine's load average is printed beside every timing: shared machines make wall times noisy,
CPU seconds (user + system of this process) much less so.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import torch

from ohq.data import load_dataset, sample
from ohq.data.distill import DEFAULT_PLATEAU, distill_data
from ohq.graph import layer_graph
from ohq.models import load_model
from ohq.quant import Plan, QuantSpec, quantize


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def section_pipeline(model: str = "resnet18", shape=(1, 3, 224, 224), ratio: float = 0.25) -> None:
    from ohq.pipeline import Request, run_pipeline

    print(f"\n## Data-free pipeline, {model} at {shape}, size ratio {ratio}, {torch.get_num_threads()} threads\n")
    with tempfile.TemporaryDirectory() as cache:  # a cold cache first, then the warm one
        os.environ["OHQ_CACHE"] = cache
        for label in ("cold cache", "warm cache"):
            print(f"{label}: start {load()}")
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            result = run_pipeline(Request(model, input_shape=tuple(shape), size_ratio=ratio))
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            print(f"  data source: {result.data_source}")
            for k, v in result.seconds.items():
                print(f"  {k:12s} {v:7.1f} s")
            print(f"  total        {wall:7.1f} s wall, {cpu:7.1f} s CPU; end {load()}")
        os.environ.pop("OHQ_CACHE")


SENSITIVITY_ROWS = {  # --rows: name -> (method, parameters besides calib)
    "4-8": ("qmqe", {"candidate_bits": (4, 8)}),
    "all": ("qmqe", {"candidate_bits": (2, 3, 4, 8), "measure": "all"}),
    "lowest": ("qmqe", {"candidate_bits": (2, 3, 4, 8), "measure": "lowest"}),
    "hessian": ("hessian", {}),
}


SHARED_WITH_PTQ = ("calibration", "8-bit model")  # qmqe stages run_pipeline reuses (fold + float pass, W8A8)


def section_sensitivity(name: str = "mnist_resnet", rows=tuple(SENSITIVITY_ROWS), save: str | None = None,
                        against: str | None = None, repeat: int = 1) -> None:
    """`save`: every row's damage_ (npz); `against`: such a file (another build's) compared with these;
    `repeat`: rounds, each timing one W8A8 pass and then every row once (interleaved, so slow spells of
    a shared machine hit all of them); the table gives each figure's median over the rounds."""
    import numpy as np

    from ohq.sensitivity import get_method

    print(f"\n## Sensitivity cost on {name} (N = 32 train samples), {torch.get_num_threads()} threads, {load()}\n")
    loaded = load_model(name)
    train = load_dataset(loaded.data, "train", loaded.normalize)
    x, _ = sample(train, 32, 0)
    calib, _ = sample(train, 256, 0)
    net = quantize(loaded.model, Plan(QuantSpec(8, 8)), x)
    n_layers, names = len(net.layers), layer_graph(loaded.model, tuple(loaded.input_shape)).names
    get_method("qmqe", candidate_bits=(4, 8), calib=calib[:8]).fit(loaded.model, x[:4])  # one-time costs
    passes, runs, found = [], {row: [] for row in rows}, {}
    with torch.no_grad():
        net(x)
    for _ in range(repeat):
        with torch.no_grad():
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            for _ in range(5):
                net(x)
            passes.append(((time.perf_counter() - t0) / 5, (cpu_seconds() - cpu0) / 5))
        for row in rows:
            method, kw = SENSITIVITY_ROWS[row]
            kw = {**kw, "calib": calib} if method == "qmqe" else kw
            cpu0 = cpu_seconds()
            est = get_method(method, **kw).fit(loaded.model, x, layers=names)  # traced once, as the pipeline does
            runs[row].append((est, cpu_seconds() - cpu0))
    one, one_cpu = np.median(passes, axis=0)
    print(f"one W8A8 pass over N: {one:.3f} s wall, {one_cpu:.3f} s CPU (median of {repeat}); L = {n_layers}, "
          f"goal 0.6 L = {0.6 * n_layers:.1f} passes\n")
    print("| method | seconds | CPU s | passes (wall) | passes (CPU) | passes (suffix nodes) | "
          "passes beyond PTQ (wall) | stages (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        method, kw = SENSITIVITY_ROWS[row]
        est = runs[row][0][0]
        wall = float(np.median([e.seconds_ for e, _ in runs[row]]))
        cpu = float(np.median([c for _, c in runs[row]]))
        stages = {k: float(np.median([e.stage_seconds_[k] for e, _ in runs[row]]))
                  for k in getattr(est, "stage_seconds_", {})}
        beyond = float(np.median([e.seconds_ - sum(getattr(e, "stage_seconds_", {}).get(k, 0.0) for k in SHARED_WITH_PTQ)
                                  for e, _ in runs[row]]))  # the pipeline's PTQ reuses the shared stages
        equiv = getattr(est, "forward_equiv_", None)
        found[row] = getattr(est, "damage_", est.scores_)
        label = method + (f" {kw['candidate_bits']}" if "candidate_bits" in kw else "")
        label += f" measure={kw['measure']}" if "measure" in kw else ""
        print(f"| {label} | {wall:.2f} | {cpu:.2f} | {wall / one:.1f} | {cpu / one_cpu:.1f} | "
              f"{'—' if equiv is None else f'{equiv:.1f}'} | {beyond / one:.1f} | "
              + (", ".join(f"{k} {v:.3f}" for k, v in stages.items()) or "—") + " |", flush=True)
    print(f"\n{load()}")
    if save:
        np.savez(save, **found)
    if against:
        other = np.load(against)
        for row, values in found.items():
            same = row in other and np.array_equal(other[row], values)
            diff = float(np.abs(other[row] - values).max()) if row in other else float("nan")
            print(f"{row}: {'identical to' if same else f'max |diff| {diff:.3g} against'} {against}")


def section_distill(names=("mnist_resnet", "mnist_mobilenet_v2"), n_test: int = 2000) -> None:
    print(f"\n## Distillation steps vs calibration quality (32 images; top-1 on {n_test} test images)\n")
    print(f"plateau criterion: {DEFAULT_PLATEAU}")
    print("| model | steps | BN loss | W8A8 top-1 | W4A4 top-1 |")
    print("|---|---|---|---|---|")
    for name in names:
        loaded = load_model(name)
        test = load_dataset(loaded.data, "test", loaded.normalize)
        x, y = test.x[:n_test], test.y[:n_test]
        shape = tuple(loaded.input_shape[1:])
        stop = distill_data(loaded.model, 32, shape, steps=500, seed=0, plateau=DEFAULT_PLATEAU).steps
        for steps in sorted({0, 25, 50, 100, 200, 500, stop}):
            d = distill_data(loaded.model, 32, shape, steps=steps, seed=0)
            accs = []
            for b in (8, 4):
                net = quantize(loaded.model, Plan(QuantSpec(b, b)), d.x).fastest()
                with torch.no_grad():
                    accs.append(100 * float((net(x).argmax(1) == y).float().mean()))
            mark = " (plateau stop)" if steps == stop else ""
            print(f"| {name} | {steps}{mark} | {d.loss_after:.4g} | {accs[0]:.2f} | {accs[1]:.2f} |")


def section_observers(names=("mnist_resnet", "mnist_cnn", "mnist_mobilenet_v2"), n_test: int = 2000) -> None:
    obs = ("minmax", "mse", "percentile")
    print(f"\n## Observers (256 calibration images, top-1 on {n_test} test images)\n")
    print("| model | bits | " + " | ".join(obs) + " |")
    print("|---|---|" + "---|" * len(obs))
    for name in names:
        loaded = load_model(name)
        train, test = (load_dataset(loaded.data, s, loaded.normalize) for s in ("train", "test"))
        calib, _ = sample(train, 256, 0)
        x, y = test.x[:n_test], test.y[:n_test]

        def top1(spec: QuantSpec, loaded=loaded, calib=calib, x=x, y=y) -> float:
            net = quantize(loaded.model, Plan(spec), calib).fastest()
            with torch.no_grad():
                return 100 * float((net(x).argmax(1) == y).float().mean())

        for label, make in [(f"W{b}A8", lambda o, b=b: QuantSpec(b, 8, w_observer=o, a_observer="minmax")) for b in (2, 3, 4, 8)] + \
                           [(f"W8A{b}", lambda o, b=b: QuantSpec(8, b, w_observer="minmax", a_observer=o)) for b in (3, 4, 6)]:
            print(f"| {name} | {label} | " + " | ".join(f"{top1(make(o)):.2f}" for o in obs) + " |", flush=True)
        pairs = ", ".join(f"{w}/{a} {top1(QuantSpec(4, 4, w_observer=w, a_observer=a)):.2f}" for w in obs for a in obs)
        print(f"| {name} | W4A4 (weight/act) | {pairs} |||", flush=True)


def section_override(name: str = "mnist_resnet", n_test: int = 1000) -> None:
    loaded = load_model(name)
    train, test = (load_dataset(loaded.data, s, loaded.normalize) for s in ("train", "test"))
    x, y = test.x[:n_test], test.y[:n_test]
    print(f"\n## Every layer overridden under a W8A8 default vs the uniform plan ({name}, {n_test} test images)\n")
    print("| layers | observer | calib seed | uniform | under W8A8 default |")
    print("|---|---|---|---|---|")
    for w, a, obs, seed in [(None, 4, "minmax", 0), (8, 4, "minmax", 0), (4, 3, "minmax", 0), (4, 4, "minmax", 0),
                            (4, 4, "minmax", 1), (4, 4, "minmax", 2), (4, 4, "mse", 0), (4, 3, "mse", 0),
                            (4, 4, "percentile", 0), (4, 4, "auto", 0), (4, 4, "auto", 1), (4, 4, "auto", 2)]:
        calib, _ = sample(train, 256, seed)
        spec = QuantSpec(w, a, w_observer=obs, a_observer=obs)
        names = list(quantize(loaded.model, Plan(spec), calib[:8]).layers)
        accs = []
        for plan in (Plan(spec), Plan(QuantSpec(w, 8, w_observer=obs, a_observer=obs), dict.fromkeys(names, spec))):
            net = quantize(loaded.model, plan, calib)
            with torch.no_grad():
                accs.append(100 * float((net(x).argmax(1) == y).float().mean()))
        print(f"| W{w or 'fp'}A{a} | {obs} | {seed} | {accs[0]:.1f} | {accs[1]:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--section", default="all", choices=("pipeline", "sensitivity", "distill", "observers", "override", "all"))
    parser.add_argument("--model", default="mnist_resnet", help="the sensitivity section's model")
    parser.add_argument("--rows", default=",".join(SENSITIVITY_ROWS),
                        help=f"the sensitivity section's rows, comma-separated, of {list(SENSITIVITY_ROWS)}")
    parser.add_argument("--save", help="sensitivity: write every row's damage to this .npz")
    parser.add_argument("--against", help="sensitivity: compare every row's damage with this .npz")
    parser.add_argument("--repeat", type=int, default=1, help="sensitivity: rounds; medians are printed")
    args = parser.parse_args()
    if args.section in ("distill", "all"):
        section_distill()
    if args.section in ("override", "all"):
        section_override()
    if args.section in ("observers", "all"):
        section_observers()
    if args.section in ("sensitivity", "all"):
        section_sensitivity(args.model, args.rows.split(","), args.save, args.against, args.repeat)
    if args.section in ("pipeline", "all"):
        section_pipeline()


if __name__ == "__main__":
    main()
