"""Hardware awareness (OQA, docs/design.md): device profiles, the accelerator model, energy, probes.

>>> from ohq.hw import get_device, balanced_sp2_share
>>> 0 < balanced_sp2_share(get_device("zcu102")) < 1
True
"""

from ohq.hw.accelerator import balanced_sp2_share as _rho
from ohq.hw.cost import STEPS, LayerCost, layer_cost
from ohq.hw.device import Device, get_device, list_devices
from ohq.hw.plan import resolve_plan, scheme_resource
from ohq.hw.pr import PrSchedule, pr_schedule
from ohq.hw.probes import PROBES, get_probe, list_probes, register_probe
from ohq.hw.report import HwReport, cost_table, estimate


def balanced_sp2_share(device: str | Device, w_bits: int = 4, a_bits: int = 8) -> float:
    """rho = P_LUT / (P_LUT + P_DSP) on a device (name, alias or profile)."""
    return _rho(get_device(device), w_bits, a_bits)


__all__ = [
    "PROBES",
    "STEPS",
    "Device",
    "HwReport",
    "LayerCost",
    "PrSchedule",
    "balanced_sp2_share",
    "cost_table",
    "estimate",
    "get_device",
    "get_probe",
    "layer_cost",
    "list_devices",
    "list_probes",
    "pr_schedule",
    "register_probe",
    "resolve_plan",
    "scheme_resource",
]
