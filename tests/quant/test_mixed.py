"""Mixed plans: a layer reading a wider tensor requantizes it (8 → 4 bits, a dyadic rescale).

The rescaled codes must be those of a 4-bit quantizer calibrated directly on the tensor (same
range), and a plan with an 8-bit default and W4A4 layers must not be much worse than W4A4.
"""

from __future__ import annotations

import torch
from torch import nn

from ohq.data import load_dataset
from ohq.quant import Plan, QuantSpec, quantize
from ohq.quant.dyadic import dequantize, quantize_float, rescale
from ohq.quant.layers import QuantLayer


class _Res(nn.Module):
    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.stem, self.bn0, self.r0 = nn.Conv2d(1, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()
        self.c1, self.b1, self.r1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()
        self.c2, self.b2, self.r2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()
        self.pool, self.flat, self.fc = nn.AdaptiveAvgPool2d(2), nn.Flatten(1), nn.Linear(4 * c, 10)

    def forward(self, x):
        x = self.r0(self.bn0(self.stem(x)))
        x = self.r2(self.b2(self.c2(self.r1(self.b1(self.c1(x))))) + x)
        return self.fc(self.flat(self.pool(x)))


def _trained():
    tr, te = load_dataset("digits", "train"), load_dataset("digits", "test")
    torch.manual_seed(0)
    model = _Res()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        idx = torch.randint(len(tr.x), (64,), generator=g)
        loss = nn.functional.cross_entropy(model(tr.x[idx]), tr.y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), tr.x[:256], te


def _top1(model, te) -> float:
    with torch.no_grad():
        return float((model(te.x).argmax(1) == te.y).float().mean())


def test_requantized_input_matches_direct_quantizer():
    model, calib, te = _trained()
    names = ["stem", "c1", "c2", "fc"]
    uniform = quantize(model, Plan(QuantSpec(4, 4)), calib)
    mixed = quantize(model, Plan(QuantSpec(8, 8), {n: QuantSpec(4, 4) for n in names}), calib)
    c1 = mixed.graph_module.get_submodule("c1")
    assert isinstance(c1, QuantLayer) and c1.src.bits == 8 and c1.inp.bits == 4
    # same range choice as a 4-bit quantizer calibrated directly on the tensor
    assert c1.inp == uniform.graph_module.get_submodule("c1").inp
    q8 = torch.arange(c1.src.qmax + 1, dtype=torch.float32)
    direct = quantize_float(dequantize(q8, c1.src).double(), c1.inp)
    assert torch.equal(rescale(q8, c1.src, c1.inp), direct)
    x = te.x[:64]
    assert torch.equal(mixed.to_integer()(x), mixed(x))
    fp, a44, mix = _top1(model, te), _top1(uniform, te), _top1(mixed, te)
    assert fp > 0.9
    assert mix >= a44 - 0.03, (fp, a44, mix)
