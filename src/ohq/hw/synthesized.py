"""Device constants derived from yosys counts of the RTL engine (`ohq.hw.rtl`), not hand formulas.

A device data file's `synthesis` block holds what yosys `synth_xilinx` counted for the whole
8-lane engine (`ohq_engine`: layer engine with its tile buffers, post-processing unit, DMA) and
for its multiply-add tree alone (`ohq_tree`), with the yosys version and the exact scripts. Each
constant of kind `synthesized` is `derive(device)[name]`:

- `shell_lut` = engine LUTs - tree LUTs: the LUTs of everything but the multiply-add lanes.

The block's `products` table holds yosys' LUT count of the 8-lane tree (16 products and two adder
trees) for every LUT-lane configuration of `ohq.hw.rtl.synth.PRODUCT_GRID`: `product_luts` gives
the LUTs of one product with its share of the tree, which the analytical model reads in place of
its hand formulas (`ohq.hw.accelerator.product_luts`).

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
    if "engine" not in syn:
        return {}
    return {"shell_lut": syn["engine"]["lut"] - syn["tree"]["lut"]}


def product_key(scheme: str, w_bits: int, a_container: int) -> str:
    """The `products` table's key of one lane configuration, e.g. `pot W4A8`."""
    return f"{scheme} W{w_bits}A{a_container}"


def product_luts(device: Device, scheme: str, w_bits: int, a_container: int) -> float | None:
    """LUT6 of one product and its share of the adder tree, as yosys counted the RTL's tree, or
    None where the device data has no such figure (no synthesis, or outside the grid)."""
    table = device.synthesis.get("products")
    lut = table and table["lut"].get(product_key(scheme, w_bits, a_container))
    return lut / (2 * table["lanes"]) if lut else None
