"""The same flag means the same on every command (loops over every registered command)."""

from __future__ import annotations

from typing import get_type_hints

import typer

from ohq.cli import app


def _options():
    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        hints = get_type_hints(cmd.callback)
        for param in cmd.params:
            if param.param_type_name == "option":
                param.hint = hints[param.name]
                yield name, param


def test_short_flags_mean_one_thing():
    meaning: dict[str, set[str]] = {}
    for _, param in _options():
        long = max(param.opts, key=len)
        for opt in param.opts:
            if len(opt) == 2:
                meaning.setdefault(opt, set()).add(long)
    assert meaning["-d"] == {"--data"}
    assert {k: v for k, v in meaning.items() if len(v) > 1} == {}


def test_bits_is_one_bit_width_and_candidate_bits_a_list():
    for name, param in _options():
        if param.opts[0] == "--bits":
            # one bit-width for every layer: an int, or train's "W/A" pair such as 4/4 — never a list
            assert param.hint in (int, int | None) or "," not in str(param.default), name
        if "--candidate-bits" in param.opts:
            assert param.hint is str, name  # "4,8"


def test_force_has_no_force_everywhere():
    forces = [(name, p) for name, p in _options() if "--force" in p.opts]
    assert {name for name, _ in forces} >= {"train", "distill", "quantize", "demo", "export"}
    for name, param in forces:
        assert param.secondary_opts == ["--no-force"], name
