"""Agreement of the exported models with ohq on the MNIST test set (prints a table, or --json).

onnx-qdq in onnxruntime vs ohq's integer engine on all 10,000 test images; qonnx in qonnx's
reference executor vs the fake-quant model on the first --qonnx-samples images (it is slow).
Plans: W8A8, W4A4 with first/last layer at 8 bits, and every other layer at W4A4 under a W8A8
default. Besides the logits it compares the codes of the last layer's input (check.drift): how
many differ, by how much, and what of the logit difference they leave unexplained.
--speed: onnx-qdq vs the FP32 ONNX model (torch.onnx of the float model) in onnxruntime, one
intra-op thread, median seconds per batch of 256 and per single image, side by side.
--hls4ml N: hls4ml's C simulation (po2 / float pytorch route, QONNX route) vs ohq on N images.
Run: python bench/bench_export.py [--models mnist_cnn,mnist_resnet] [--qonnx-samples 10000] [--speed]
(qonnx runs in batches of QONNX_CHUNK images, so --qonnx-samples should be a multiple of it above it)
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ohq.data import load_dataset
from ohq.errors import OhqError
from ohq.export._onnx import trace_to_onnx
from ohq.export.check import (
    drift,
    ohq_last_input,
    ort_logits,
    ort_session,
    output_layer,
    qonnx_logits,
)
from ohq.export.onnx_qdq import session_config, to_qdq
from ohq.export.qonnx import to_qonnx
from ohq.io import cache_root
from ohq.models import load_model
from ohq.models.shipped import SHIPPED, weights_dir
from ohq.quant import Plan, QuantSpec, quantize

QONNX_CHUNK = 500  # images per qonnx executor run (it keeps every tensor of the batch in memory)


def plans(layer_names: list[str]) -> dict[str, Plan]:
    """W8A8, W4A4 with first/last at 8, and a per-layer mix: every other layer at W4A4, 8 elsewhere."""
    return {"W8A8": Plan(QuantSpec(8, 8)), "W4A4 fl8": Plan(QuantSpec(4, 4), first_last_bits=8),
            "alt W4A4/W8A8": Plan(QuantSpec(8, 8), {n: QuantSpec(4, 4) for n in layer_names[1::2]})}


def _median_seconds(sess, x, reps: int) -> float:
    name = sess.get_inputs()[0].name
    feed = {name: x.numpy()}
    sess.run(None, feed)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def speed(name: str, net, q, shape, x) -> dict:
    """onnx-qdq vs FP32 ONNX in onnxruntime (1 thread): median s per batch of 256 and per image."""
    sample = torch.zeros((1,) + tuple(shape[1:]))
    fp32, qdq = trace_to_onnx(net, sample, 17), to_qdq(q, shape)
    row = {"model": name, "qdq_config": session_config(q)}
    # qdq: the session config the model carries (exact); u8s8: onnxruntime's x86 default
    for kind, model, config in (("fp32", fp32, {}), ("qdq", qdq, None), ("u8s8", qdq, {})):
        sess = ort_session(model, threads=1, config=config)
        row[f"{kind}_batch256_s"] = _median_seconds(sess, x[:256], 11)
        row[f"{kind}_image_s"] = _median_seconds(sess, x[:1], 201)
    for kind in ("qdq", "u8s8"):
        for size in ("batch256", "image"):
            row[f"{kind}_ratio_{size}"] = row[f"fp32_{size}_s"] / row[f"{kind}_{size}_s"]
    return row


def print_speed(rows: list[dict]) -> None:
    print("| model | size | FP32 ONNX (ms) | QDQ as exported (ms) | FP32/QDQ | QDQ, u8s8 default (ms) "
          "| FP32/u8s8 |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        for size, label in (("batch256", "batch 256"), ("image", "1 image")):
            print(f"| {r['model']} | {label} | {1e3 * r[f'fp32_{size}_s']:.3f} | {1e3 * r[f'qdq_{size}_s']:.3f} | "
                  f"{r[f'qdq_ratio_{size}']:.2f}× | {1e3 * r[f'u8s8_{size}_s']:.3f} | "
                  f"{r[f'u8s8_ratio_{size}']:.2f}× |")


def hls4ml_rows(name: str, net, calib, test, n: int, cache: str, routes: list[str]) -> list[dict]:
    """hls4ml's C simulation vs ohq's integer engine (W8A8) on the first n test images, per route:
    po2 / float: `ohq export --format hls4ml` (convert_from_pytorch_model) with power-of-two or
    fitted scales; qonnx: `ohq export --format qonnx` through convert_from_onnx_model (fitted)."""
    import tempfile

    from ohq.export import export
    from ohq.export.hls_sim import (
        hls4ml_compiled,
        hls4ml_from_qonnx,
        hls4ml_logits,
        hls4ml_qonnx_logits,
    )

    rows = []
    shape = SHIPPED[name].input_shape
    x = test.x[:n]
    for route in routes:
        q = quantize(net, Plan(QuantSpec(8, 8, scale="po2" if route == "po2" else "float")), calib)
        if route == "qonnx":
            hls, compile_s = hls4ml_from_qonnx(to_qonnx(q, shape), cache)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                export(q, "hls4ml", f"{tmp}/hls", input_shape=shape)
                hls, compile_s = hls4ml_compiled(f"{tmp}/hls", cache)
        t0 = time.perf_counter()
        got = hls4ml_qonnx_logits(hls, q, x) if route == "qonnx" else hls4ml_logits(hls, q, x)
        predict_s = time.perf_counter() - t0
        with torch.no_grad():
            ref = q.to_integer()(x).to(torch.float64)
        rows.append({"model": name, "route": route, "samples": n, "compile_s": round(compile_s, 1),
                     "predict_s": round(predict_s, 1), "bit_exact": float((got == ref).all(1).double().mean()),
                     "argmax_agreement": float((got.argmax(1) == ref.argmax(1)).double().mean()),
                     "max_abs_diff": float((got - ref).abs().max()),
                     "ohq_top1": float((ref.argmax(1) == test.y[:n]).double().mean()),
                     "hls4ml_top1": float((got.argmax(1) == test.y[:n]).double().mean())})
        print(f"# hls4ml {name} {route}: {rows[-1]}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mnist_cnn,mnist_resnet,mnist_mobilenet_v2")
    ap.add_argument("--qonnx-samples", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--speed", action="store_true", help="only the onnx-qdq vs FP32 speed table (W8A8)")
    ap.add_argument("--hls4ml", type=int, default=0, metavar="N",
                    help="only hls4ml's C simulation vs ohq on N test images (W8A8, po2 and float scales)")
    ap.add_argument("--hls4ml-routes", default="po2,float,qonnx", help="po2, float (pytorch) and qonnx")
    ap.add_argument("--hls4ml-cache", default=None, help="compiled hls4ml projects (default: ohq's cache)")
    args = ap.parse_args()
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    calib = train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:256]]
    rows = []
    for name in args.models.split(","):
        if not (weights_dir() / f"{name}.pt").exists():
            print(f"# {name}: no shipped weights yet, skipped")
            continue
        net = load_model(name).model.eval()
        shape = SHIPPED[name].input_shape
        if args.hls4ml:
            cache = args.hls4ml_cache or str(cache_root() / "hls4ml")
            rows += hls4ml_rows(name, net, calib, test, args.hls4ml, cache, args.hls4ml_routes.split(","))
            continue
        if args.speed:
            rows.append(speed(name, net, quantize(net, Plan(QuantSpec(8, 8)), calib), shape, test.x))
            continue
        names = list(quantize(net, Plan(QuantSpec(8, 8)), calib[:32]).layers)
        for label, plan in plans(names).items():
            q = quantize(net, plan, calib)
            last = output_layer(q)
            t0 = time.perf_counter()
            with torch.no_grad():
                ref_int = torch.cat([q.to_integer()(test.x[i:i + 1000]) for i in range(0, len(test), 1000)])
            _, q_ref = ohq_last_input(q, test.x)
            got, q_got = ort_logits(to_qdq(q, shape), test.x, last_input=last)
            rows.append({"model": name, "plan": label, "format": "onnx-qdq", "reference": "integer engine",
                         **drift(q, ref_int, got, q_ref, q_got), "seconds": round(time.perf_counter() - t0, 1)})
            n = args.qonnx_samples
            if n <= 0:  # onnx-qdq only
                continue
            t0 = time.perf_counter()
            chunk = min(n, QONNX_CHUNK)
            try:
                model = to_qonnx(q, (chunk,) + tuple(shape[1:]))
            except OhqError as exc:
                print(f"# qonnx {name} {label}: {exc}")
                continue
            ref, q_ref = ohq_last_input(q, test.x[:n])
            runs = [qonnx_logits(model, test.x[i:i + chunk], last_input=last) for i in range(0, n, chunk)]
            got, q_got = torch.cat([r[0] for r in runs]), torch.cat([r[1] for r in runs])
            rows.append({"model": name, "plan": label, "format": "qonnx", "reference": "fake-quant",
                         **drift(q, ref, got, q_ref, q_got), "seconds": round(time.perf_counter() - t0, 1)})
            print(f"# {name} {label} done", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if args.speed:
        print_speed(rows)
        return
    if args.hls4ml:
        print(json.dumps(rows, indent=2))
        return
    print("| model | plan | format | samples | argmax agreement | max |Δ| (LSB) | samples within 1 LSB "
          "| last-layer input codes differing | max |Δq| | unexplained (LSB) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['plan']} | {r['format']} | {r['samples']:,} | "
              f"{100 * r['argmax_agreement']:.2f} % | {r['max_abs_diff_units']:.3g} | "
              f"{100 * r['within_1_unit']:.2f} % | {100 * r['input_codes_differing']:.3f} % | "
              f"{r['max_input_code_diff']} | {r['unexplained_units']:.2f} |")

if __name__ == "__main__":
    main()
