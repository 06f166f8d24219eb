"""Device constants derived from yosys counts of the RTL engine (`ohq.hw.rtl`), not hand formulas.

A device data file's `synthesis` block holds what yosys `synth_xilinx` counted for the whole
8-lane engine (`ohq_engine`: layer engine with its tile buffers, post-processing unit, DMA) and
for its multiply-add tree alone (`ohq_tree`), with the yosys version and the exact scripts. Each
constant of kind `synthesized` is `derive(device)[name]`:

- `shell_lut` = engine LUTs - tree LUTs: the LUTs of everything but the multiply-add lanes.

Not derived (kept `assumed`, docs/hardware.md says why): `pe_dsp`, because the synthesized engine
puts most of its DSP48s outside the tree (post-process multipliers, address arithmetic), and
`pe_lut`, because the tree's own adders grow with the lanes (the 8-lane tree's LUTs per lane
times the device's lanes would leave the LUT PEs a quarter of today's budget).
"""

from __future__ import annotations

from ohq.hw.device import Device


def derive(device: Device) -> dict[str, int]:
    """The constants the device's `synthesis` figures give (empty without them)."""
    syn = device.synthesis
    if not syn:
        return {}
    return {"shell_lut": syn["engine"]["lut"] - syn["tree"]["lut"]}

