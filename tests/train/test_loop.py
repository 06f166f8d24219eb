"""The learning-rate schedule: linear warm-up, then a cosine decay to 0 over each stage."""

import math

import pytest

from ohq.errors import OhqError
from ohq.train.loop import TrainConfig, lr_factor


def test_warmup_rises_linearly_then_cosine_decays_to_zero():
    span, warm = 100, 10
    ups = [lr_factor(s, span, warm) for s in range(warm + 1)]
    assert ups == sorted(ups) and ups[0] == pytest.approx(1 / 11) and ups[-1] == 1.0
    downs = [lr_factor(s, span, warm) for s in range(warm, span + 1)]
    assert downs == sorted(downs, reverse=True) and downs[-1] == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(warm + 45, span, warm) == pytest.approx(0.5)


def test_no_warmup_is_the_plain_cosine():
    for s in (0, 7, 50, 100, 130):
        assert lr_factor(s, 100, 0) == pytest.approx(0.5 * (1 + math.cos(math.pi * min(s, 100) / 100)))


@pytest.mark.parametrize("warmup", [-0.1, 1.0])
def test_bad_warmup_is_a_user_error(warmup):
    with pytest.raises(OhqError, match="--warmup"):
        TrainConfig(warmup=warmup)
