"""Reports of a pipeline run: layers.csv, the paper's Fig. 5/6 plots, a Pareto plot and a
self-contained report.html (docs/design.md). See docs/report.md.

>>> paths = write_run_artifacts(result, "runs/demo", pareto_points=result_points(result))  # doctest: +SKIP
"""

from ohq.report.html import write_report_html, write_run_artifacts
from ohq.report.plots import (
    plot_cycles_vs_params,
    plot_energy_vs_params,
    plot_pareto,
    plot_sensitivity,
    result_points,
)
from ohq.report.table import layer_columns, layer_records, write_layers_csv

__all__ = [
    "layer_columns",
    "layer_records",
    "plot_cycles_vs_params",
    "plot_energy_vs_params",
    "plot_pareto",
    "plot_sensitivity",
    "result_points",
    "write_layers_csv",
    "write_report_html",
    "write_run_artifacts",
]
