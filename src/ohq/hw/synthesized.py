"""Device constants derived from yosys counts of the RTL engine (`ohq.hw.rtl`), not hand formulas.

A device data file's `synthesis` block holds what yosys `synth_xilinx` counted for the whole
8-lane engine (`ohq_engine`: layer engine with its tile buffers, post-processing unit, DMA) and
for its multiply-add tree alone (`ohq_tree`), with the yosys version and the exact scripts. Each
constant of kind `synthesized` is `derive(device)[name]`:

- `shell_lut` = engine LUTs - tree LUTs: the LUTs of everything but the multiply-add lanes.

Not derived (kept `assumed`, docs/hardware.md says why with the figures): `pe_dsp`, because the
engine's 80 DSP48s outside the tree are post-process multipliers per post-process lane (they
follow a build's activation bits and VL, not the part) and 118 would undo the paper fit made at
192; `pe_lut`, because the shell grows by 173 LUT per lane (8- and 16-lane engines), so at the
model's 192 lanes shell and tree alone would overflow the part's LUT budget.
"""

from __future__ import annotations

from ohq.hw.device import Device


def derive(device: Device) -> dict[str, int]:
    """The constants the device's `synthesis` figures give (empty without them)."""
    syn = device.synthesis
    if not syn:
        return {}
    return {"shell_lut": syn["engine"]["lut"] - syn["tree"]["lut"]}

