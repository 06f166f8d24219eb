"""The trainer registry: `@register_trainer("name")` on a class with `fit(...)` (QAT, progressive…).

Starts empty; training methods register themselves here (one class, one place).
"""

from __future__ import annotations

from typing import Any

from ohq.registry import Registry

TRAINERS: Registry[Any] = Registry("trainer")
register_trainer = TRAINERS.register
