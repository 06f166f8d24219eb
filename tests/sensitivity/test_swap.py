"""qmqe's swapped layer is the plan it predicts: the same logits as the real single-layer plan."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ohq.models import create_model
from ohq.quant import Plan, QuantSpec, quantize
from ohq.sensitivity import QuantMQE


class _Inverted(nn.Module):
    """A MobileNetV2-like net: ReLU6 tables feeding convs, a depthwise conv, a residual add
    whose output feeds both a conv and the next add, global pooling into the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6())
        self.expand = nn.Sequential(nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU6())
        self.project = nn.Conv2d(16, 8, 1)
        self.mix = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.project(self.dw(self.expand(x)))
        x = x + self.mix(x)
        return self.fc(x.mean(dim=(2, 3)))


def _small():
    return create_model("small_cnn", num_classes=10, in_channels=1), (12, 1, 8, 8)


def _resnet():
    return create_model("resnet18", num_classes=10, in_channels=1, small_input=True, width=8), (6, 1, 16, 16)


# sole readers behind ReLU / max-pool / flatten, LUT and add producers, tensors shared by two
# layers (downsample) or by a layer and an add (residual)
MODELS = {"small_cnn": (_small, ("uniform", "pot")), "inverted": (lambda: (_Inverted(), (8, 1, 8, 8)), ("uniform", "pot")),
          "resnet18": (_resnet, ("uniform",))}


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    build, schemes = MODELS[request.param]
    torch.manual_seed(0)
    model, shape = build()
    return model.eval(), torch.randn(*shape), schemes


def _swapped_logits(est: QuantMQE, x: torch.Tensor) -> dict[int, torch.Tensor]:
    out: dict[int, list[torch.Tensor]] = {}
    for _, _, i, _, logits in est._sweep(x):  # batches in order
        out.setdefault(i, []).append(logits)
    return {i: torch.cat(parts) for i, parts in out.items()}


def test_swap_gives_the_single_layer_plans_logits_bit_for_bit(case):
    model, x, schemes = case
    calib = x.flip(0) * 1.5  # calibration differs from the scored samples, as in the pipeline
    for scheme in schemes:
        est = QuantMQE(candidate_bits=(2,), scheme=scheme, calib=calib).fit(model, x)
        got, names = _swapped_logits(est, x), est.layer_names_
        picked = [n for j, n in enumerate(names) if len(names) <= 6 or j < 3 or "downsample" in n or j == len(names) - 1]
        for name in picked:
            plan = quantize(model, Plan(QuantSpec(8, 8), {name: QuantSpec(2, 2, scheme)}), calib)
            assert torch.equal(got[names.index(name)], plan(x)), (scheme, name)
        runner = est._runner  # the sweep put every cached module back
        assert torch.equal(runner.output(runner.run_all(x)), quantize(model, Plan(QuantSpec(8, 8)), calib)(x))
