"""The post-processing unit (ohq_vec): the graph ops between layers, bit-exact on the chip."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ohq.hw.rtl import RtlConfig, RtlMapError
from ohq.hw.rtl.engine import RtlEngine
from ohq.hw.rtl.ops import run_op
from ohq.hw.rtl.vec import VecJob, run_vec
from ohq.quant import Plan, QuantSpec, quantize
from ohq.quant.dyadic import QParams
from ohq.quant.qmodules import QLut, QRelu

from .conftest import needs_verilator

pytestmark = needs_verilator

SMALL = dict(lanes=8, fmax=160, kmax=256, pmax=64, latency=8)  # the build test_rtl_bitexact uses
CFG = RtlConfig(**SMALL)


class _Net(nn.Module):
    """Residual add, ReLU6/hardswish/hardsigmoid tables, max pooling (padding, ceil mode), cat,
    global average pooling and mean: every graph op the unit runs."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 6, 3, padding=1), nn.Conv2d(6, 6, 3, padding=1)
        self.c3, self.c4, self.c5 = nn.Conv2d(6, 6, 1), nn.Conv2d(12, 4, 1), nn.Conv2d(6, 6, 1)
        self.pool = nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        y = torch.relu(self.c1(x))
        y = y + F.hardswish(self.c3(F.relu6(self.c2(y))))
        y = F.hardsigmoid(self.pool(y))
        y = self.c4(torch.cat([y, self.c5(y)], 1))
        y = torch.cat([F.adaptive_avg_pool2d(y, 1).flatten(1), y.mean((2, 3))], 1)
        return self.fc(y)


@pytest.mark.parametrize("first_last", [None, 8])
def test_network_ops_bitexact_on_chip(first_last):
    """Every step runs on the chip (first_last=8 adds the rescale between 8- and 4-bit layers)."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 8, 8)
    plan = Plan(QuantSpec(8 if first_last is None else 4, 8 if first_last is None else 4),
                first_last_bits=first_last)
    qm = quantize(_Net(), plan, torch.randn(8, 3, 8, 8))
    eng = RtlEngine(qm, check=True, config=lambda ql: RtlConfig(w_bits=ql.w_bits, a_bits=ql.inp.bits, **SMALL))
    assert torch.equal(eng(x), qm.to_integer()(x))
    kinds = {type(fn.__self__).__name__ for _, fn in qm.to_integer()._steps if hasattr(fn, "__self__")}
    assert {"QAdd", "QLut", "QMaxPool", "QCat", "QAvgPool"} <= kinds
    assert len(eng.on_chip) >= len(qm.layers) + 8


def test_relu_with_a_zero_point_and_tables():
    torch.manual_seed(0)
    p = QParams(0.05, 7, 8)
    q = torch.randint(0, 256, (2, 3, 5, 5)).float()
    for mod in (QRelu(p), QLut(F.hardswish, p, QParams(0.03, 9, 6))):
        out, res = run_op(mod, [q], CFG)
        assert torch.equal(out, mod.forward_int(q)) and len(res) == 2


def test_postprocess_throughput_follows_word_width():
    """One input word per cycle: 16 four-bit lanes, 8 eight-bit, 4 sixteen-bit."""
    x = torch.randint(0, 16, (4, 8, 8)).numpy()
    post = {}
    for bits in (4, 8, 16):
        r = run_vec(VecJob(x, bits, bits, hi=(1 << bits) - 1), CFG)
        assert (r.out == x).all()
        post[bits] = r.cycles["postprocess"]
    assert post[4] * 2 == post[8] and post[8] * 2 == post[16]


def test_ops_the_unit_cannot_map_name_the_limit():
    x = torch.randint(0, 16, (4, 8, 8)).numpy()
    with pytest.raises(RtlMapError, match="table"):
        run_vec(VecJob(x, 12, 8, table=x.reshape(-1)), CFG)
    with pytest.raises(RtlMapError, match="post-processing buffer"):
        run_vec(VecJob(torch.zeros(1, 16, 16, dtype=torch.int64).numpy(), 8, 8, kernel=(2, 2), stride=2), CFG)
    with pytest.raises(RtlMapError, match="output plane overflows"):  # 12x12 in, 13x13 out > 160
        run_vec(VecJob(torch.zeros(1, 12, 12, dtype=torch.int64).numpy(), 8, 8, kernel=(2, 2), pad=1,
                       pool="max"), CFG)
    with pytest.raises(RtlMapError, match="m1 = -8589934593 overflows the unit's 33-bit"):
        run_vec(VecJob(x, 8, 8, b=x, m1=-(1 << 33) - 1), CFG)
    qm = quantize(nn.Sequential(nn.Conv2d(1, 2, 1), nn.AvgPool2d(2)), Plan(QuantSpec(8, 8)), torch.randn(2, 1, 4, 4))
    with pytest.raises(RtlMapError, match="global mean"):
        RtlEngine(qm, config=lambda ql: CFG)(torch.randn(1, 1, 4, 4))
