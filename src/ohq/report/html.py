"""report.html: one self-contained page per run (inline CSS, PNGs as base64 data URIs, no
external assets), so it can be mailed or archived alone.

>>> write_report_html(result, "runs/demo", pareto_points=result_points(result))   # doctest: +SKIP

Sections: header (model, device, probe, data, budgets, objective, solve time), summary
(FP32 / INT8 / mixed), per-layer table, stage wall times, figures, then any extra tables
(e.g. baseline comparisons) given as `(title, header, rows)`. Every piece of text is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ohq.errors import OhqError
from ohq.io import write_atomic
from ohq.report import plots
from ohq.report.advice import fp32_size_mib, objective_text

REPORT = "report.html"
ExtraTable = tuple[str, Sequence[str], Sequence[Sequence[Any]]]
BUDGET_UNITS = {"size_mib": "MiB", "latency_ms": "ms", "energy_mj": "mJ", "bram18k": "BRAM18K"}
FIGURES = (  # file name, caption
    ("sensitivity.png", "Per-layer sensitivity (bars, coloured by the chosen bits) and masked top-1"),
    ("cycles_vs_params.png", "Cycles per layer at the chosen bits and at the reference bits; parameters"),
    ("energy_vs_params.png", "Energy per layer at the chosen bits and at the reference bits; parameters"),
    ("pareto.png", "Accuracy vs size; latency as marker colour and size"),
    ("damage.png", "Predicted vs measured top-1 drop of quantizing each layer alone to each candidate "
                   "bit-width (prediction: the sensitivity's damage, calibrated on its samples)"),
)
CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f2f2f2; text-align: left; } td.num { text-align: right;
     font-variant-numeric: tabular-nums; }
table.meta th { width: 12em; }
tr.low td { background: #fff6e6; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
"""


def fmt(value: Any) -> str:
    """A cell as text: None → '—', ints with thousands separators, floats to 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # NaN
        return "—"
    return f"{value:.4g}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _cell(value: Any, tag: str = "td") -> str:
    num = (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.endswith(" %"))
    cls = ' class="num"' if num and tag == "td" else ""
    return f"<{tag}{cls}>{html.escape(fmt(value))}</{tag}>"


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]],
               row_classes: Sequence[str] | None = None) -> str:
    """An escaped HTML table; every row must have as many cells as the header."""
    out = ["<table>", "<tr>" + "".join(_cell(h, "th") for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise OhqError(f"table row {i} has {len(row)} cells, the header has {len(header)}")
        cls = f' class="{html.escape(row_classes[i])}"' if row_classes and row_classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(_cell(v) for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _meta(result) -> list[tuple[str, Any]]:
    req = result.request
    probe = req.probe if req.probe_file is None else f"{req.probe} ({req.probe_file})"
    budgets = ", ".join(f"{k} ≤ {fmt(v)} {BUDGET_UNITS.get(k, '')}".rstrip()
                        for k, v in result.budgets.items()) or "—"
    if req.size_ratio is not None:
        budgets += f" (size ratio {fmt(req.size_ratio)})"
    return [
        ("model", result.model_name),
        ("input shape", "×".join(str(d) for d in result.input_shape)),
        ("device", req.device),
        ("probe", probe),
        ("data source", result.data_source),
        ("evaluation data", result.eval_data),
        ("candidate bits", ", ".join(f"W{b}" for b in req.bits) + (
            " (activations at the weight bits)" if req.a_bits is None
            else f" (activations {req.a_bits} bit)")),
        ("scheme", req.scheme if getattr(req, "candidates", None) is None
         else "chosen per layer from " + ", ".join(c.label for c in req.candidates)),
        ("sensitivity", f"{req.sensitivity} ({req.samples} samples)"),
        ("objective", objective_text(req)),
        ("budgets", budgets),
        ("ILP solve time", f"{fmt(result.solve_ms)} ms"),
    ]


def _summary(result) -> tuple[list[str], list[list[Any]]]:
    header = ["model", "top-1", "size (MiB)", "latency (ms)", "energy (mJ)"]
    fp32_mib = fp32_size_mib(result)
    rows: list[list[Any]] = [["FP32", pct(result.top1.get("fp32")), fp32_mib, None, None]]
    a_bits = result.request.a_bits
    int8 = f"INT8 (W8A{8 if a_bits is None else a_bits})"  # None: activations at the weight bits
    rungs = [("int8", int8), ("mixed", "mixed (OHQ)")]
    how = getattr(result.request, "finetune", None)
    if "mixed_ptq" in result.top1:  # `--finetune`: the same mixed model before and after training
        rungs[1:] = [("mixed_ptq", "mixed (OHQ), PTQ"), ("mixed", f"mixed (OHQ), fine-tuned ({how})")]
    for key, label in rungs:
        t = result.totals.get("mixed" if key == "mixed_ptq" else key) or {}
        rows.append([label, pct(result.top1.get(key)), t.get("size_mib"), t.get("latency_ms"),
                     t.get("energy_mj")])
    return header, rows


def _layers(result) -> tuple[list[str], list[list[Any]], list[str]]:
    header = ["#", "name", "kind", "params", "MACs", "sensitivity", "Ω", "bits", "masked top-1",
              "cycles", "latency (ms)", "energy (mJ)"]
    rows, classes = [], []
    low = min(result.request.bits)
    for i, r in enumerate(result.layers):
        rows.append([i, r.name, r.kind, r.params, r.macs, r.sensitivity, r.omega, r.bits,
                     None if r.masked_top1 is None else pct(r.masked_top1),
                     r.cycles_by_bits[r.key]["total"], r.latency_ms_by_bits[r.key],
                     r.energy_mj_by_bits[r.key]])
        classes.append("low" if r.bits == low and len(result.request.bits) > 1 else "")
    return header, rows, classes


def _stages(result) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = [[name, s] for name, s in result.seconds.items()]
    rows.append(["total", sum(result.seconds.values())])
    return ["stage", "wall time (s)"], rows


def render_figures(result, pareto_points: Sequence[dict[str, Any]] | None = None) -> dict[str, bytes]:
    """The run's figures as PNG bytes, keyed by file name (pareto.png only with points)."""
    images = {
        "sensitivity.png": plots.png_bytes(plots.sensitivity_figure(result)),
        "cycles_vs_params.png": plots.png_bytes(plots.cost_figure(result, "cycles")),
        "energy_vs_params.png": plots.png_bytes(plots.cost_figure(result, "energy")),
    }
    if result.extra.get("damage"):  # measured by the pipeline (qmqe's suffix re-runs on test images)
        from ohq.report.plots import damage_check_figure

        images["damage.png"] = plots.png_bytes(damage_check_figure(result.extra["damage"], result.model_name))
    if pareto_points is not None:
        images["pareto.png"] = plots.png_bytes(plots.pareto_figure(pareto_points))
    return images


def report_html(result, images: Mapping[str, bytes],
                extra_tables: Sequence[ExtraTable] | None = None) -> str:
    """The report page as a string; `images` maps figure file names to PNG bytes."""
    esc = html.escape
    title = f"ohq report: {result.model_name}"
    meta = "\n".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in _meta(result))
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>{esc(title)}</h1>",
        f'<table class="meta">{meta}</table>',
        "<h2>Summary</h2>", table_html(*_summary(result)),
        "<h2>Layers</h2>",
        f"<p>Cycles, latency and energy at the chosen bits; highlighted rows got "
        f"{esc(str(min(result.request.bits)))} bit.</p>",
        table_html(*_layers(result)),
        "<h2>Stage wall times</h2>", table_html(*_stages(result)),
    ]
    known = [(name, caption) for name, caption in FIGURES if name in images]
    others = [(name, name) for name in images if name not in dict(FIGURES)]
    if known or others:
        parts.append("<h2>Figures</h2>")
    for name, caption in known + others:
        data = base64.b64encode(images[name]).decode("ascii")
        parts.append(f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{esc(caption)}</figcaption></figure>")
    for i, extra in enumerate(extra_tables or ()):
        if len(extra) != 3:
            raise OhqError(f"extra table {i} must be (title, header, rows), got {len(extra)} items")
        name, header, rows = extra
        parts += [f"<h2>{esc(str(name))}</h2>", table_html(header, rows)]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _run_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise OhqError(f"run directory {run_dir} does not exist")
    return run_dir


def write_report_html(result, run_dir: str | Path,
                      pareto_points: Sequence[dict[str, Any]] | None = None,
                      extra_tables: Sequence[ExtraTable] | None = None) -> Path:
    """Write `run_dir/report.html` (self-contained; figures rendered in memory) and return it."""
    run_dir = _run_dir(run_dir)
    page = report_html(result, render_figures(result, pareto_points), extra_tables)
    return write_atomic(run_dir / REPORT, lambda p: p.write_text(page, encoding="utf-8"))


def write_run_artifacts(result, run_dir: str | Path,
                        pareto_points: Sequence[dict[str, Any]] | None = None,
                        extra_tables: Sequence[ExtraTable] | None = None) -> dict[str, Path]:
    """Write layers.csv, the figures (pareto.png only with points) and report.html into the
    existing `run_dir`; return {file name: path}. Each figure is rendered once, for both."""
    from ohq.report.table import write_layers_csv

    run_dir = _run_dir(run_dir)
    images = render_figures(result, pareto_points)
    page = report_html(result, images, extra_tables)  # before writing: a bad table writes nothing
    paths = {"layers.csv": write_layers_csv(result, run_dir / "layers.csv")}
    for name, data in images.items():
        paths[name] = write_atomic(run_dir / name, lambda p, data=data: p.write_bytes(data))
    paths[REPORT] = write_atomic(run_dir / REPORT, lambda p: p.write_text(page, encoding="utf-8"))
    return paths
