"""Export a QuantModel to the formats deployment flows read (docs/design.md), one handler per format.

>>> from ohq.export import list_formats
>>> {"c", "hls4ml", "onnx-qdq", "qonnx"} <= set(list_formats())
True
>>> export(qmodel, "onnx-qdq", "model.onnx", input_shape=(1, 1, 28, 28))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ohq.errors import OhqError
from ohq.export import c_header, hls4ml, onnx_qdq, qonnx  # noqa: F401  (registers)
from ohq.export._registry import FORMATS, Format, get_format, list_formats, register_format
from ohq.export._write import write_output
from ohq.export.finn import finn_folding
from ohq.export.hls4ml import hls4ml_config


def export(qmodel: Any, format: str, out: str | Path, *, force: bool = False, **opts: Any) -> dict[str, Any]:
    """Write `qmodel` in `format` to `out` (a file or, for hls4ml and c, a folder); return facts.

    opts: `input_shape` (onnx-qdq, qonnx, hls4ml), `device` (hls4ml folding), per-format extras.
    Refuses an existing `out` unless `force`; writes atomically.
    """
    from ohq.quant import QuantModel

    if not isinstance(qmodel, QuantModel):
        raise OhqError(f"export needs an ohq QuantModel, got {type(qmodel).__name__}")
    handler = get_format(format)
    handler.check_installed()
    handler.check(qmodel)
    facts = write_output(out, handler.kind, force, lambda tmp: handler.write(qmodel, tmp, **opts))
    return {"format": handler.name, "out": str(out), **facts}


__all__ = ["FORMATS", "Format", "export", "finn_folding", "get_format", "hls4ml_config", "list_formats",
           "register_format"]
