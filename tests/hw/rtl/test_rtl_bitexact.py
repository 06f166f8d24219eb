"""The simulated chip computes exactly what ohq's integer engine computes, layer by layer."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from ohq.hw.rtl import RtlConfig, RtlMapError, run_layer
from ohq.hw.rtl.engine import RtlEngine
from ohq.hw.rtl.job import LayerJob, pack
from ohq.quant import Plan, QuantSpec, quantize
from ohq.quant.dyadic import quantize_float

from .conftest import needs_verilator

pytestmark = needs_verilator

# small buffers so that the 8x8 maps need several row bands and every path of the DMA runs
SMALL = dict(lanes=8, fmax=160, kmax=256, pmax=64, latency=8)


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU(),         # stride, padding
        nn.Conv2d(6, 6, 3, padding=1, groups=3), nn.ReLU(),         # grouped
        nn.Conv2d(6, 5, 1), nn.ReLU(),                              # pointwise, odd channel count
        nn.Conv2d(5, 5, 3, padding=1, groups=5), nn.ReLU(),         # depthwise
        nn.Flatten(), nn.Linear(5 * 4 * 4, 7), nn.ReLU(),           # linear, requantized
        nn.Linear(7, 3),                                            # linear feeding the output
    )


CASES = [("uniform", 8, 8), ("uniform", 4, 4), ("pot", 4, 8), ("sp2", 4, 4), ("sp2", 8, 8)]


@pytest.mark.slow
@pytest.mark.parametrize("scheme,w_bits,a_bits", CASES)
def test_network_bitexact(scheme, w_bits, a_bits):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    qm = quantize(_net(), Plan(QuantSpec(w_bits, a_bits, scheme)), x)
    engine = RtlEngine(qm, check=True,
                       config=lambda ql: RtlConfig(scheme=scheme, w_bits=w_bits, a_bits=ql.inp.bits, **SMALL))
    assert torch.equal(engine(x), qm.to_integer()(x))
    assert set(qm.layers) <= set(engine.layer_cycles)  # and the graph ops (ReLUs) between them


def _conv_layer(scheme="uniform", w_bits=8, a_bits=8, **conv):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(conv.pop("cin", 4), conv.pop("cout", 6), 3, **conv), nn.ReLU(), nn.Conv2d(6, 2, 1))
    x = torch.randn(1, 4, 8, 8)
    qm = quantize(net, Plan(QuantSpec(w_bits, a_bits, scheme)), x)
    ql = qm.layers["0"]
    return ql, quantize_float(x, ql.src)


def test_compute_counter_counts_the_tree_passes():
    """compute = K address-table entries + pixels x channel pairs x ceil(K / L) tree passes."""
    ql, q = _conv_layer(padding=1)
    cfg = RtlConfig(**SMALL)
    out, (res,) = run_layer(ql, q, cfg)
    assert torch.equal(out, ql.forward_int(q))
    k = 4 * 9
    assert res.cycles["compute"] == k + 8 * 8 * 3 * math.ceil(k / cfg.lanes)
    assert res.cycles["total"] >= sum(res.cycles[s] for s in ("compute", "transfer", "writeback", "postprocess"))
    assert res.cycles["transfer"] > cfg.latency


def test_layer_that_cannot_map_names_the_buffer():
    ql, q = _conv_layer(padding=1)
    with pytest.raises(RtlMapError, match="weight buffer"):
        run_layer(ql, q, RtlConfig(**(SMALL | {"kmax": 16})))
    with pytest.raises(RtlMapError, match="feature-buffer"):
        run_layer(ql, q, RtlConfig(**(SMALL | {"fmax": 32})))


def test_multiplier_beyond_33_bits_does_not_map():
    """The post-process lanes multiply in 32 x 33 bits; a wider dyadic m is refused, not wrapped."""
    ones = np.ones(2, np.int64)
    job = LayerJob(np.zeros((1, 3, 3), np.int64), np.zeros((2, 1, 1, 1), np.int64), ones << 32,
                   0 * ones, 0 * ones, 8, 0, 0, 255, 8, False)
    with pytest.raises(RtlMapError, match="33-bit multipliers"):
        pack(job, RtlConfig(**SMALL))
    job.m = ones << 31  # the largest m ohq.quant.dyadic gives
    pack(job, RtlConfig(**SMALL))
