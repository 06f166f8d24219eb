"""`ohq eval --engine rtl`: every shipped network, whole, on the simulated chip (one test image)."""

import pytest
import torch

from ohq.data import load_dataset, sample
from ohq.hw.rtl.evaluate import rtl_eval
from ohq.hw.rtl.ops import CHIP_OPS
from ohq.models import list_shipped, load_model
from ohq.models.shipped import SHIPPED
from ohq.quant import Plan, QuantSpec, quantize

from .conftest import needs_verilator

pytestmark = needs_verilator


@pytest.mark.slow
@pytest.mark.parametrize("name", list_shipped())
def test_shipped_network_logits_identical_on_chip(name):
    """Layers on the layer engine, every graph op between them on the post-processing unit; the
    logits equal the integer engine's (cold: one Verilator build of the 16-lane W8A8 chip)."""
    loaded = load_model(name)
    data = SHIPPED[name].data
    test = load_dataset(data, "test", loaded.normalize)
    calib = sample(load_dataset(data, "train", loaded.normalize), 64, seed=0)[0]
    qm = quantize(loaded.model.eval(), Plan(QuantSpec(8, 8)), calib)
    doc = rtl_eval(qm, test.x, test.y, limit=1)
    assert doc["bitexact_rtl"] and doc["identical_logits"] == 1
    ops = [type(getattr(fn, "__self__", fn)).__name__ for _, fn in qm.to_integer()._steps]
    chip = [k for k in ops if k == "QuantLayer" or k in {c.__name__ for c in CHIP_OPS}]
    assert doc["rtl_steps_on_chip"] == len(chip) and "QMul" not in ops  # nothing left on the PS
    assert doc["rtl_cycles_per_image"]["postprocess"] > 0
    assert torch.isfinite(torch.tensor(doc["rtl_cycles_per_second"]))
