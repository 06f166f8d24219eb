"""LHA's progressive stages, and checkpoints: an interrupted run resumes to the same result."""

import pytest
import torch

from ohq.errors import OhqError
from ohq.quant import Plan, QuantSpec
from ohq.train import qat, stage_plans
from ohq.train.progressive import parse_stages


def test_stages_lower_bits_down_to_each_layer_target():
    plan = Plan(QuantSpec(4, 8), {"a": QuantSpec(2, 4, "pot"), "b": QuantSpec(8, 8)})
    plans = stage_plans(plan, [8, 6, 3], ["a", "b", "c"])
    specs = [p.resolve(["a", "b", "c"]) for p in plans]
    assert [s["a"].w_bits for s in specs] == [8, 6, 3, 2]
    assert [s["a"].scheme for s in specs] == ["uniform", "uniform", "pot", "pot"]  # pot stops at 5 bits
    assert [s["b"].w_bits for s in specs] == [8, 8, 8, 8]
    assert [s["c"].w_bits for s in specs] == [8, 6, 4, 4]
    assert plans[-1] is plan


def test_parse_stages():
    assert parse_stages("8,6,4") == [8, 6, 4]
    for bad in ("8,8,4", "4,6", "8,x", "", "8,1"):
        with pytest.raises(OhqError):
            parse_stages(bad)


def test_progressive_trains_every_stage(cnn, digits):
    seen = []
    qat(cnn, Plan.uniform(4, 4), digits[0], epochs=0.4, progressive=[8, 6],
        on_stage=lambda k, n, p: seen.append((k, n, p.default.w_bits)))
    assert seen == [(0, 3, 8), (1, 3, 6), (2, 3, 4)]


@pytest.mark.parametrize("stages", [None, [8, 6]])
def test_interrupted_run_resumes_to_the_same_weights(stages, cnn, digits, tmp_path):
    train, test = digits
    kw = dict(epochs=2, method="lsq", progressive=stages, lr=1e-3)
    plan = Plan.uniform(3, 4)
    whole = qat(cnn, plan, train, **kw)
    ckpt = tmp_path / "run.ckpt"

    def stop(step, total, loss, acc):
        if step == 12:  # past the first epoch's checkpoint (9 steps) and the first stage
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        qat(cnn, plan, train, checkpoint=ckpt, on_step=stop, **kw)
    assert torch.load(ckpt, weights_only=True)["step"] == 9
    resumed = qat(cnn, plan, train, checkpoint=ckpt, resume=True, **kw)
    with torch.no_grad():
        assert torch.equal(resumed.to_integer()(test.x), whole.to_integer()(test.x))


def test_resume_refuses_another_models_checkpoint(cnn, digits, tmp_path):
    train = digits[0]
    ckpt = tmp_path / "run.ckpt"
    qat(cnn, Plan.uniform(4), train, epochs=1, checkpoint=ckpt)
    other = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(144, 10))
    with pytest.raises(OhqError, match="another model"):
        qat(other, Plan.uniform(4), train, epochs=1, checkpoint=ckpt, resume=True)
    with pytest.raises(OhqError, match="other settings: .*method"):
        qat(cnn, Plan.uniform(4), train, epochs=1, checkpoint=ckpt, resume=True, method="lsq")
