"""Turn a `--model` string into a module: zoo name, shipped name, or a user's `file.py:function`.

>>> m = load_model("mnist_cnn")
>>> m.input_shape
(1, 1, 28, 28)
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import pickle
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ohq.errors import FILE_ERRORS, USER_CODE_ERRORS, ModelError, first_line
from ohq.models._registry import create_model, list_models
from ohq.models.shipped import SHIPPED, build_shipped, list_shipped, shipped_normalize


@dataclass
class LoadedModel:
    """A model and what ohq knows about it."""

    model: nn.Module
    name: str
    input_shape: tuple[int, ...] | None = None  # known for shipped models
    data: str | None = None  # the data set a shipped model was trained on
    normalize: Any = None  # ohq.data.Normalize: its input transform; None: the data set's own


def load_model(spec: str, weights: str | Path | None = None, normalize: Any = None) -> LoadedModel:
    """Load a model from a zoo/shipped name or `path/file.py:fn` / `package.module:fn`.
    `normalize` (a Normalize or 'MEAN,STD') sets its input transform; shipped models know theirs."""
    from ohq.data.normalize import Normalize

    if isinstance(normalize, str):
        normalize = Normalize.parse(normalize)
    if spec in SHIPPED:
        info = SHIPPED[spec]
        model = build_shipped(spec, trained=weights is None)
        loaded = LoadedModel(model, spec, info.input_shape, info.data, normalize or shipped_normalize(spec))
    elif spec in list_models():
        loaded = LoadedModel(create_model(spec), spec, normalize=normalize)
    elif ":" in spec:
        loaded = LoadedModel(_from_callable(spec), spec, normalize=normalize)
    else:
        close = difflib.get_close_matches(spec, [*list_models(), *list_shipped()], n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ModelError(
            f"unknown model {spec!r}; {hint}use a zoo model ({', '.join(list_models())}), a shipped model "
            f"({', '.join(list_shipped())}), or path/to/file.py:function"
        )
    if weights is not None:
        load_weights(loaded.model, weights)
    loaded.model.eval()
    return loaded


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a state dict saved by `torch.save(model.state_dict())`, never executing pickled code."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (*FILE_ERRORS, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot read {path} as a state dict (weights_only=True): {first_line(exc)}") from exc
    if not isinstance(state, dict):
        raise ModelError(f"{path} holds a {type(state).__name__}, not a state dict")
    mismatch = state_dict_mismatch(model.state_dict(), state)
    if mismatch:
        raise ModelError(f"{path} does not fit the model: {mismatch}")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"{path} does not fit the model: {first_line(exc)}") from exc


def state_dict_mismatch(expected: dict, given: dict) -> str:
    """'' when `given` fits `expected`; else the first missing, unexpected and wrongly shaped keys."""

    def first(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")

    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [
        f"{k} is {tuple(given[k].shape)} in the file but {tuple(v.shape)} in the model"
        for k, v in expected.items()
        if k in given and hasattr(given[k], "shape") and tuple(given[k].shape) != tuple(v.shape)
    ]
    parts = [f"missing keys {first(missing)}" if missing else "",
             f"unexpected keys {first(unexpected)}" if unexpected else "",
             shapes[0] + (f" (+{len(shapes) - 1} more shapes differ)" if len(shapes) > 1 else "") if shapes else ""]
    return "; ".join(p for p in parts if p)


def _from_callable(spec: str) -> nn.Module:
    target, _, fn_name = spec.rpartition(":")
    if not target or not fn_name.isidentifier():
        raise ModelError(f"--model {spec!r}: expected path/to/file.py:function or package.module:function")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ModelError(f"--model {spec!r}: file {path} does not exist")
        module_name = f"ohq_user_{path.stem}"
        mod_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[module_name] = module
        try:
            mod_spec.loader.exec_module(module)
        except USER_CODE_ERRORS as exc:
            raise ModelError(f"--model {spec!r}: importing {path} failed: {first_line(exc)}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ModelError(f"--model {spec!r}: cannot import {target!r}: {first_line(exc)}") from exc
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise ModelError(f"--model {spec!r}: {target} has no function {fn_name!r}")
    try:
        model = fn()
    except USER_CODE_ERRORS as exc:
        raise ModelError(f"--model {spec!r}: {fn_name}() failed: {first_line(exc)}") from exc
    if not isinstance(model, nn.Module):
        raise ModelError(f"--model {spec!r}: {fn_name}() returned {type(model).__name__}, not an nn.Module")
    return model
