"""QAT of a pruned model: pruned weights stay exactly zero, the density the plan reports is
unchanged, and the integer engine stays bit-exact (`qat(masks=...)`, `ohq quantize --finetune
--sparsity`)."""

import pytest
import torch

from ohq.codesign import CodesignOptions
from ohq.errors import OhqError
from ohq.models import build_shipped
from ohq.pipeline import Request, run_pipeline
from ohq.quant import Plan
from ohq.quant.prune import layer_masks, prune_model
from ohq.train import list_methods, qat


def _zeros_kept(qm, masks) -> None:
    for name, layer in qm.layers.items():
        if name not in masks:
            continue
        dropped = ~masks[name]
        assert torch.all(layer.weight[dropped] == 0) and torch.all(layer.codes[dropped] == 0)
        assert int((layer.weight != 0).sum()) == int(masks[name].sum())  # kept weights did not vanish


@pytest.mark.parametrize("method", list_methods())
def test_qat_keeps_pruned_zeros_and_stays_bit_exact(method, cnn, digits):
    train, test = digits
    names = [n for n, m in cnn.named_modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    _, info = prune_model(cnn, dict.fromkeys(names, 0.5))
    masks = {n: m.mask for n, m in info.items()}
    qm = qat(cnn, Plan.uniform(4, 8), train, epochs=0.3, method=method, lr=1e-3, masks=masks)
    _zeros_kept(qm, masks)
    with torch.no_grad():
        assert torch.equal(qm(test.x), qm.to_integer()(test.x))


def test_pipeline_finetune_of_a_pruned_plan(digits):
    req = Request("digits_cnn", data="digits", size_ratio=0.5, bits=(4, 8), samples=8,
                  codesign=CodesignOptions(sparsity=0.5), finetune="qat", finetune_epochs=1)
    result = run_pipeline(req)
    sparsity = result.extra["codesign"]["sparsity"]
    assert set(sparsity.values()) == {0.5}
    info = layer_masks(build_shipped("digits_cnn"), sparsity)  # the masks PTQ pruned with
    _zeros_kept(result.qmodel, {n: m.mask for n, m in info.items()})
    assert result.top1["mixed"] > result.top1["mixed_ptq"]
    with torch.no_grad():
        assert torch.equal(result.qmodel(digits[1].x), result.qmodel.to_integer()(digits[1].x))


def test_masks_must_fit_the_model(cnn, digits):
    train, _ = digits
    with pytest.raises(OhqError, match="does not have: nope"):
        qat(cnn, Plan.uniform(4), train, epochs=0.1, masks={"nope": torch.ones(1, dtype=torch.bool)})
