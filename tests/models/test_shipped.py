import json

import pytest

from ohq.data import load_dataset
from ohq.models import SHIPPED, load_model
from ohq.models.shipped import weights_dir
from ohq.train import top1

REQUIRED = {"digits": 0.97, "mnist": 0.99}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_reaches_its_card(name):
    card = json.loads((weights_dir() / f"{name}.json").read_text())
    assert {"data", "epochs", "seed", "test_top1", "command"} <= set(card)
    assert card["command"].startswith(f"ohq train --model {name} --data {card['data']}")
    loaded = load_model(name)
    acc = top1(loaded.model, load_dataset(loaded.data, "test"))
    assert acc >= REQUIRED[loaded.data]
    assert acc == pytest.approx(card["test_top1"], abs=2e-4)  # the card's figure is what the weights give
