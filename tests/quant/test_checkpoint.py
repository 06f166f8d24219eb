"""The compact checkpoint: integer codes in small dtypes (nibbles at ≤ 4 bits), loaded back bit-exact."""

from __future__ import annotations

import io

import pytest
import torch

from ohq.data import load_dataset
from ohq.errors import OhqError
from ohq.models import load_model
from ohq.quant import Plan, QuantSpec, quantize
from ohq.quant.checkpoint import load_quantized, pack_nibbles, save_quantized, unpack_nibbles


def test_nibbles_round_trip():
    codes = torch.arange(-8, 8).repeat(3)[:-1].reshape(47)
    packed = pack_nibbles(codes.double())
    assert packed.dtype == torch.uint8 and packed.numel() == 24
    assert torch.equal(unpack_nibbles(packed, 47), codes.to(torch.int8))


@pytest.mark.parametrize("bits", [4, 8])
def test_save_load_is_bit_exact_and_small(bits, tmp_path):
    model = load_model("digits_cnn").model
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    plan = Plan(QuantSpec(bits, bits), {"fc": QuantSpec(8, 8)})
    qmodel = quantize(model, plan, train.x[:128])
    path = save_quantized(qmodel, tmp_path / "q.pt")
    old = io.BytesIO()
    torch.save(qmodel.state_dict(), old)
    assert path.stat().st_size < old.tell() / 4  # codes were float64 beside float32 copies

    fresh = quantize(model, plan, train.x[:128])
    for layer in fresh.layers.values():  # wipe the weights, so only the file can restore them
        layer.codes.zero_()
        layer._prepare_integer()
    assert not torch.equal(fresh(test.x), qmodel(test.x))
    load_quantized(fresh, path)
    assert torch.equal(fresh(test.x), qmodel(test.x))
    assert torch.equal(fresh.to_integer()(test.x), qmodel.to_integer()(test.x))


def test_foreign_file_is_refused(tmp_path):
    model = load_model("digits_cnn").model
    qmodel = quantize(model, Plan(QuantSpec(8, 8)), load_dataset("digits", "train").x[:32])
    torch.save({"a": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(OhqError, match="not an ohq.quantized"):
        load_quantized(qmodel, tmp_path / "other.pt")
