"""Shared fixtures: the shipped MNIST models quantized at W8A8 and at mixed 4/8 plans.

`q8`/`q48`: mnist_cnn at W8A8 and at W4A4 with first/last at 8 bits (format details).
`shipped_case(model, plan)`: any shipped MNIST model at one of PLANS, quantized once per session:
  W8A8    Plan(QuantSpec(8, 8))
  W4A4fl8 Plan(QuantSpec(4, 4), first_last_bits=8)
  alt4    Plan(QuantSpec(8, 8), {every other layer: QuantSpec(4, 4)}): a per-layer mix as the OHQ
          pipeline writes it, with 8-bit tensors requantized to 4 bits at a 4-bit layer's input.
"""

from __future__ import annotations

import pytest
import torch

from ohq.models.shipped import weights_dir

MNIST_SHAPE = (1, 1, 28, 28)
MNIST_MODELS = ("mnist_cnn", "mnist_resnet", "mnist_mobilenet_v2")
PLANS = ("W8A8", "W4A4fl8", "alt4")
needs_mnist_cnn = pytest.mark.skipif(not (weights_dir() / "mnist_cnn.pt").exists(),
                                     reason="mnist_cnn not trained")


def shipped_params(models=MNIST_MODELS):
    """pytest params model × plan, each skipped when the model has no shipped weights."""
    return [pytest.param(m, p, id=f"{m}-{p}",
                         marks=pytest.mark.skipif(not (weights_dir() / f"{m}.pt").exists(),
                                                  reason=f"{m} not trained"))
            for m in models for p in PLANS]


@pytest.fixture(scope="session")
def mnist():
    from ohq.data import load_dataset

    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    calib = train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:256]]
    return calib, test


def plan_for(label: str, layer_names: list[str]):
    from ohq.quant import Plan, QuantSpec

    if label == "W8A8":
        return Plan(QuantSpec(8, 8))
    if label == "W4A4fl8":
        return Plan(QuantSpec(4, 4), first_last_bits=8)
    if label == "alt4":
        return Plan(QuantSpec(8, 8), {n: QuantSpec(4, 4) for n in layer_names[1::2]})
    raise ValueError(label)


@pytest.fixture(scope="session")
def shipped_case(mnist):
    """(model, plan label) → QuantModel, cached for the session."""
    from ohq.models import load_model
    from ohq.quant import quantize

    nets: dict[str, tuple] = {}
    cache: dict[tuple[str, str], object] = {}

    def get(model: str, label: str):
        if (model, label) not in cache:
            if model not in nets:
                net = load_model(model).model.eval()
                names = list(quantize(net, plan_for("W8A8", []), mnist[0][:32]).layers)
                nets[model] = (net, names)
            net, names = nets[model]
            cache[model, label] = quantize(net, plan_for(label, names), mnist[0])
        return cache[model, label]

    return get


@pytest.fixture(scope="session")
def q8(shipped_case):
    return shipped_case("mnist_cnn", "W8A8")


@pytest.fixture(scope="session")
def q48(shipped_case):
    """Mixed: 4-bit weights and activations inside, first and last layer at 8 bits."""
    return shipped_case("mnist_cnn", "W4A4fl8")


SHALLOW = {"mnist_cnn"}  # 5 layers: rounding-edge flips do not compound (docs/export.md)


def float_tol_units(layer) -> float:
    """Float32 summation error of the exported last layer, in its output LSB: (n + 4)·2^-24·acc_bound
    for n products per output (the standard γ_n bound, plus the rounding of the dequantized
    operands, the bias and ohq's own float32 logits)."""
    n = layer.codes[0].numel()
    return (n + 4) * 2.0**-24 * layer.acc_bound


def assert_agrees(model: str, qmodel, facts: dict, argmax: float) -> None:
    """The tolerances of docs/export.md ("Tolerances"), for runtime logits vs ohq's.

    1. argmax agreement ≥ `argmax` (≤ 1 % of samples may flip; one on qonnx's 32);
    2. the whole logit difference is explained by the codes of the last layer's input: it equals
       op(Δq, codes) up to float32 summation error (the last layer itself adds nothing);
    3. hence, per sample and logit c, |Δ_c| ≤ max_j|Δq_j|·Σ_j|code_cj| (+ that float error);
    4. shallow models (mnist_cnn): at most one code of difference at the last layer's inputs,
       so |Δ_c| ≤ Σ_j|code_cj| (one code at every input), and ≥ 95 % of samples within 1 LSB;
       deep models: flips from float32-vs-dyadic rounding edges propagate and can grow through
       later layers, so at most 10 % of the last layer's input codes may differ (measured ≤ 6.9 %).
    """
    from ohq.export.check import output_layer

    layer = output_layer(qmodel)
    tol = float_tol_units(layer)
    assert facts["argmax_agreement"] >= argmax, facts
    assert facts["unexplained_units"] <= tol, (facts, tol)
    assert facts["over_bound_units"] <= tol, (facts, tol)
    if model in SHALLOW:
        assert facts["max_input_code_diff"] <= 1, facts
        assert facts["within_1_unit"] >= 0.95, facts
    else:
        assert facts["input_codes_differing"] <= 0.10, facts
