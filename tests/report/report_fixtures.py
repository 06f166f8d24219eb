"""A hand-made PipelineResult with plausible numbers, so the report tests run in seconds."""

import pytest

from ohq.pipeline import LayerRow, PipelineResult, Request

MIB = float(1 << 20)


def make_layer(i: int, name: str, kind: str, params: int, bits: int, masked=0.9) -> LayerRow:
    cycles = {}
    for b in (4, 8):
        steps = {"compute": 100 * (i + 1), "transfer": params * b // 8 + 1000,
                 "writeback": 200, "postprocess": 50}
        cycles[b] = {**steps, "total": sum(steps.values())}
    return LayerRow(
        name=name, kind=kind, params=params, macs=params * 16, sensitivity=0.1 * (5 - i),
        omega=0.5 - 0.2 * i, bits=bits, scheme="uniform",
        size_mib_by_bits={b: params * b / 8 / MIB for b in (4, 8)},
        cycles_by_bits=cycles,
        latency_ms_by_bits={b: cycles[b]["total"] / 150e3 for b in (4, 8)},
        energy_mj_by_bits={b: 1e-3 * cycles[b]["total"] / 1e3 for b in (4, 8)},
        bram18k_by_bits={b: max(1, params * b // 18432) for b in (4, 8)},
        masked_top1=masked,
    )


def make_result(masked=True, top1=True) -> PipelineResult:
    specs = [("conv1", "conv", 144, 8), ("conv2", "conv", 4608, 8), ("conv<3>&", "conv", 18432, 4),
             ("conv4", "conv", 36864, 4), ("fc", "linear", 650, 8)]
    layers = [make_layer(i, n, k, p, b, (0.7 + 0.05 * i) if masked else None)
              for i, (n, k, p, b) in enumerate(specs)]
    return PipelineResult(
        request=Request("digits_cnn", data="digits", size_ratio=0.5, samples=16, calib=64),
        model_name="digits_cnn", input_shape=(1, 1, 8, 8), data_source="digits (real, train split)",
        eval_data="digits", layers=layers, budgets={"size_mib": 0.0434}, solve_ms=2.4,
        plan=None, qmodel=None, calib=None,
        top1={"fp32": 0.9916, "int8": 0.9916, "mixed": 0.9944} if top1
        else {"fp32": None, "int8": None, "mixed": None},
        totals={"int8": {"size_mib": 0.0579, "latency_ms": 0.60, "energy_mj": 0.0912},
                "mixed": {"size_mib": 0.0315, "latency_ms": 0.58, "energy_mj": 0.0836}},
        seconds={"graph": 0.8, "data": 0.85, "sensitivity": 2.2, "hardware": 0.04,
                 "search": 0.003, "quantize": 1.36, "evaluate": 15.6},
    )


@pytest.fixture
def result() -> PipelineResult:
    return make_result()
