"""The fixture models (tests/fixtures/models): other training recipes, committed weights, cards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ohq.data import load_dataset
from ohq.models import load_model

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "models"
NAMES = sorted(p.stem for p in HERE.glob("*.json"))


def test_there_are_at_least_three_fixture_recipes():
    assert len(NAMES) >= 3


@pytest.mark.parametrize("name", NAMES)
def test_fixture_loads_as_a_user_model_and_matches_its_card(name):
    card = json.loads((HERE / f"{name}.json").read_text())
    assert (HERE / f"{name}.pt").stat().st_size < 200_000
    assert "train.py" in card["command"]
    model = load_model(f"{HERE / 'recipes.py'}:{name}").model
    test = load_dataset("mnist", "test")
    with torch.no_grad():
        acc = float((model(test.x[:1000]).argmax(1) == test.y[:1000]).float().mean())
    assert acc > 0.9 and abs(acc - card["test_top1"]) < 0.03
