"""A plan that overrides every layer to one spec: same logits as the uniform plan, when the
default (which sets the tensors between layers: residual adds, pools) is that spec too."""

from __future__ import annotations

import torch

from ohq.models import create_model
from ohq.quant import Plan, QuantSpec, quantize


def _resnet():
    torch.manual_seed(0)
    return create_model("resnet18", num_classes=10, in_channels=1, small_input=True, width=8).eval()


def test_overriding_every_layer_equals_the_uniform_plan():
    model, x = _resnet(), torch.randn(8, 1, 16, 16)
    uniform = quantize(model, Plan(QuantSpec(4, 4)), x)
    names = list(uniform.layers)
    override = quantize(model, Plan(QuantSpec(4, 4), {n: QuantSpec(4, 4) for n in names}), x)
    with torch.no_grad():
        assert torch.equal(uniform(x), override(x))


def test_under_another_default_the_tensors_between_layers_follow_the_default():
    model, x = _resnet(), torch.randn(8, 1, 16, 16)
    names = list(quantize(model, Plan(QuantSpec(8, 8)), x).layers)
    override = quantize(model, Plan(QuantSpec(8, 8), {n: QuantSpec(4, 4) for n in names}), x)
    # every layer reads 4-bit codes, but a conv feeding a residual add writes the add's 8-bit codes
    assert all(layer.inp.bits == 4 for layer in override.layers.values())
    assert override.layers["layer1.0.conv2"].out.bits == 8
    with torch.no_grad():
        assert not torch.equal(override(x), quantize(model, Plan(QuantSpec(4, 4)), x)(x))
