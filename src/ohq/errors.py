"""The exceptions for bad user input, and the rule that tells them from ohq's own bugs.

Anything a user can get wrong (an unknown model, a malformed file, an impossible budget) raises
`OhqError` (or a subclass saying what was wrong) with a one-line message; the CLI prints it and
exits 2, no traceback. Any other exception is a bug in ohq: the CLI names it as one and exits 1.

Code that runs the user's model or reads the user's files catches only the exceptions those can
raise (`MODEL_RUN_ERRORS`, `TRACE_ERRORS`, `FILE_ERRORS`), and `blame_user` re-raises any of them
whose innermost frame is ohq's own code: a TypeError in ohq is a bug, not "your model cannot run".
"""

from __future__ import annotations

import traceback
from pathlib import Path


class OhqError(ValueError):
    """A user-facing error: the message is one line that says what is wrong and how to fix it."""


class ModelError(OhqError):
    """The model (file, builder, weights or forward) cannot be used as given."""


class PlanError(OhqError):
    """A plan, a layer's bits or scheme, or a plan/run file is malformed or impossible."""


class BudgetError(OhqError):
    """A budget is missing, contradictory or cannot be met by any allocation."""


class DataError(OhqError):
    """Input data (a data set name, an .npz, images, labels) is missing or malformed."""


class DeviceError(OhqError):
    """An unknown device, or a device/probe that cannot measure what was asked."""


# What running a user's forward() raises on bad shapes or dtypes (torch reports shape errors as
# RuntimeError; Python-level model code as TypeError/ValueError/IndexError).
MODEL_RUN_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError, ValueError, TypeError, IndexError, KeyError, AttributeError, NotImplementedError,
    ArithmeticError, AssertionError,
)
# What importing or calling a user's model file raises when the file itself is wrong.
USER_CODE_ERRORS: tuple[type[BaseException], ...] = (
    *MODEL_RUN_ERRORS, ImportError, NameError, SyntaxError, OSError, LookupError,
)
# What reading a user's file (npz, checkpoint, JSON) raises when its bytes are wrong.
FILE_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, EOFError, KeyError, RuntimeError, UnicodeDecodeError,
)

_OHQ_DIR = Path(__file__).resolve().parent
_ZOO_DIR = _OHQ_DIR / "models"  # a zoo model's forward on a wrong shape is the user's input error


def raised_in_ohq(exc: BaseException) -> bool:
    """True when the innermost Python frame of `exc`'s traceback is ohq's own source (not the zoo)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    where = Path(frames[-1].filename).resolve()
    return where.is_relative_to(_OHQ_DIR) and not where.is_relative_to(_ZOO_DIR)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def blame_user(exc: BaseException, error: type[OhqError], message: str) -> OhqError:
    """`error(message: <first line of exc>)` to raise `from exc`; re-raises `exc` if ohq raised it."""
    if raised_in_ohq(exc) and not isinstance(exc, OhqError):
        raise exc
    return error(f"{message}: {first_line(exc)}")


__all__ = ["BudgetError", "DataError", "DeviceError", "ModelError", "OhqError", "PlanError"]
