"""Shared pieces of the CLI: the Typer app, consoles, common options, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from ohq.errors import OhqError

app = typer.Typer(
    name="ohq",
    help="Hardware-aware mixed-precision quantization for FPGA and edge deployment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output gets a wide console so tables are not cut to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
console_err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

# Options shared by every command that takes a model.
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Zoo or shipped name (e.g. mnist_resnet), path/to/file.py:function, or package.module:function.",
    ),
]
WeightsOpt = Annotated[
    str | None, typer.Option("--weights", help="State dict to load into the model (weights_only).")
]
InputOpt = Annotated[
    str | None,
    typer.Option("--input", help="Input shape N,C,H,W (shipped models know their own)."),
]
NormalizeOpt = Annotated[
    str | None,
    typer.Option("--normalize", help="Input transform MEAN,STD of pixels in [0,1] (or M1,M2,M3,S1,S2,S3); "
                 "shipped models know theirs, others default to the data set's."),
]
def _threads_callback(value: int | None) -> int | None:
    if value is not None:
        from ohq.threads import set_threads

        set_threads(value)
    return value


ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", callback=_threads_callback,
                 help="CPU threads for torch (default: $OMP_NUM_THREADS, else min(cores, 4))."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def parse_shape(text: str) -> tuple[int, ...]:
    """Parse '1,3,224,224' into a shape tuple."""
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(","))
    except ValueError:
        raise OhqError(f"--input must be comma-separated integers like 1,3,224,224, got {text!r}") from None
    if not shape or any(d <= 0 for d in shape):
        raise OhqError(f"--input must be positive integers like 1,3,224,224, got {text!r}")
    return shape


def print_json(doc: Any) -> None:
    """Write one JSON document to stdout (nothing else goes to stdout under --json)."""
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


DEFAULT_INPUT = (1, 3, 224, 224)


def resolve_model(model: str, weights: str | None, input_shape: str | None, normalize: str | None = None):
    """Load `--model` (+ `--weights`, `--normalize`) and settle its input shape: `--input`, the
    shipped model's own, or ImageNet's 1,3,224,224."""
    from ohq.models import load_model

    loaded = load_model(model, weights, normalize)
    shape = parse_shape(input_shape) if input_shape else (loaded.input_shape or DEFAULT_INPUT)
    return loaded, shape


def progress():
    """A Rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console_err,
        transient=True,  # bars vanish when done: the summary follows, and errors stay one line
    )
