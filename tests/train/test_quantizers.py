"""The gradients each QAT method promises: STE, LSQ's scaled step gradient, n-BQ's α·∂L/∂W̃."""

import math

import torch

from ohq.quant import QuantSpec
from ohq.quant.dyadic import QParams
from ohq.train.quantizers import (
    ActQuant,
    LsqActQuant,
    LsqWeight,
    ReconstructedWeight,
    SteWeight,
    grad_scale,
    round_ste,
)


def test_round_ste_rounds_forward_and_passes_gradient():
    x = torch.tensor([0.2, 1.6, -2.5], requires_grad=True)
    y = round_ste(x)
    y.sum().backward()
    assert y.tolist() == [0.0, 2.0, -2.0]
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_grad_scale_scales_only_the_gradient():
    s = torch.tensor(2.0, requires_grad=True)
    y = grad_scale(s, 0.25)
    (3 * y).backward()
    assert float(y.detach()) == 2.0 and float(s.grad) == 0.75


def test_fixed_activation_quantizer_clips_gradient_outside_its_range():
    q = ActQuant(QParams(0.5, 0, 4))  # range [0, 7.5]
    x = torch.tensor([0.3, 2.0, 9.0, -1.0], requires_grad=True)
    y = q(x)
    y.sum().backward()
    assert y.tolist() == [0.5, 2.0, 7.5, 0.0]
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_fixed_quantizer_is_the_autograd_chain_with_a_constant_step():
    torch.manual_seed(0)
    for zero in (0, 5):
        q = ActQuant(QParams(0.0371, zero, 4))
        x = (torch.randn(4, 3, 9, 9) * 0.4).requires_grad_()
        x.data[0, 0, 0, :3] = torch.tensor([-zero, 15 - zero, 2.5]) * 0.0371  # both ends and a tie
        ref = x.detach().clone().requires_grad_()
        chain = (torch.clamp(round_ste(ref / q.scale) + q.zero, 0, q.qmax) - q.zero) * q.scale
        g = torch.randn_like(chain)
        q(x).backward(g)
        chain.backward(g)
        assert torch.equal(q(x), chain)
        assert torch.equal(x.grad != 0, ref.grad != 0)
        assert torch.allclose(x.grad, ref.grad, rtol=1e-6, atol=0)  # the chain's (g·s)/s rounding


def test_lsq_step_gradient_has_the_lsq_scale():
    q = LsqActQuant(QParams(0.5, 0, 4))
    x = torch.full((1, 16), 9.0)  # all clipped at Qp: ∂v̂/∂s = Qp
    q(x).sum().backward()
    g = 1 / math.sqrt(16 * 15)
    assert math.isclose(float(q.scale.grad), 16 * 15 * g, rel_tol=1e-6)


def test_lsq_weight_exports_the_codes_it_trains_with():
    w = torch.randn(4, 3, 3, 3)
    wq = LsqWeight(QuantSpec(3, 8), w)
    codes, step = wq.export(w)
    assert codes.abs().max() <= 4 and torch.equal(codes, codes.round())
    assert torch.allclose(wq(w).double(), codes * step.reshape(-1, 1, 1, 1), atol=1e-6)


def test_ste_weight_is_the_ptq_projection_for_every_scheme():
    from ohq.quant import list_schemes, quantize_weight

    w = torch.randn(6, 10)
    for scheme in list_schemes():
        spec = QuantSpec(3, 8, scheme)
        assert torch.equal(SteWeight(spec, w)(w), quantize_weight(w, spec))


def test_reconstructed_gradient_is_alpha_times_the_upstream_gradient():
    w = torch.randn(5, 7, requires_grad=True)
    rq = ReconstructedWeight(QuantSpec(3, 8, "pot"), w)
    rq.alpha.fill_(0.3)
    y = rq(w)
    q = SteWeight(QuantSpec(3, 8, "pot"), w).quantized(w)
    assert torch.allclose(y, 0.7 * q + 0.3 * w)
    y.sum().backward()
    assert torch.allclose(w.grad, torch.full_like(w, 0.3))
    rq.alpha.fill_(0.0)
    assert torch.equal(rq(w), q)  # α = 0: inference uses Q(W) alone
