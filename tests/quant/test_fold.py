"""BatchNorm folding keeps the float function."""

from __future__ import annotations

import pytest
import torch
from qhelpers import small_model
from torch import nn

from ohq.errors import OhqError
from ohq.models import list_models
from ohq.quant import fold_bn


@pytest.mark.parametrize("name", list_models())
def test_fold_matches_float_model(name):
    model = small_model(name)
    x = torch.randn(4, 1, 32, 32)
    had_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    gm = fold_bn(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gm.modules())
    with torch.no_grad():
        torch.testing.assert_close(gm(x), model(x), rtol=1e-4, atol=1e-5)
    # the input model is untouched
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == had_bn


def test_bn_without_conv_is_an_error():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.BatchNorm2d(4))
    with pytest.raises(OhqError, match="does not directly follow"):
        fold_bn(model)


def test_linear_bn1d_folds():
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5)).eval()
    model[1].running_mean.normal_()
    model[1].running_var.uniform_(0.5, 2)
    x = torch.randn(3, 6)
    with torch.no_grad():
        torch.testing.assert_close(fold_bn(model)(x), model(x), rtol=1e-5, atol=1e-5)
