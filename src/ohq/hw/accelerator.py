"""The OHQ accelerator's structure (the OHQ paper appendix B): GEMM shapes, tiling, BRAM, engine throughput.

Img2Col (B.2.1) turns a conv into a GEMM: kernel matrix m x k (m = k_o/groups, k = k_i/groups·k_h·k_w)
times feature matrix k x n (n = o_h·o_w), once per group. A multiply-add tree (B.2.2) computes the
products; sub-matrix slicing (B.2.3, Algorithm 1) picks one square tile side per layer; Algorithm 2
(B.2.4) sizes the weight, feature and output buffers from the BRAM budget.

How bit-width and scheme change throughput, per resource (`ohq.quant.Resource`):

- DSP (fixed-point): one DSP48 does 1 multiply above 8 bits, 2 at <= 8 bits (two products that
  share an operand, Xilinx WP486), 4 at <= 4 bits on DSP48E2 only (WP521; 2 on DSP48E1); at <= 3 bits the LUT PEs add LUT
  multipliers beside the DSPs.
- SHIFT (power-of-two, n-BQ-NN's SVPE): a product is a LUT barrel shift; DSPs only accumulate, k
  products per DSP for a k x k convolver (DSPs per convolver drop from k²+k to k), k = 3.
- SHIFT_ADD (SP2, MSQ): two shifts and an add on LUTs, DSPs accumulate as in the SVPE.
- DSP_LUT (row-wise mix, MSQ): the DSP core and an SP2 LUT core run side by side; rows split in
  the balanced share rho = P_LUT / (P_LUT + P_DSP) so both finish together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ohq.graph import Layer
from ohq.hw import synthesized
from ohq.hw.device import Device
from ohq.quant.resource import Resource

SVPE_PRODUCTS_PER_DSP = 3  # n-BQ-NN: a k x k SVPE convolver uses k DSPs for k² shifts (k = 3)
BRAM36_BYTES = 4096  # 512 x 64 bit: the OHQ paper B.2.4 uses 64 of the 72 bits of each BRAM row
BRAM18_BYTES = 2048
BRAM18_WIDTH_BITS = 32  # data bits of one BRAM18 port (36 incl. parity), UG473
# Algorithm 2's BRAM_coe: BRAM36 per unit of L_max. Weight and feature rows hold L 8-bit elements
# spliced over L/8 64-bit BRAMs (512 deep); output rows hold L 32-bit accumulators (L/2 BRAMs).
BRAM_COE = {"weight": 0.25, "feature": 0.25, "output": 0.5}


@dataclass(frozen=True)
class Gemm:
    """One layer as `groups` independent GEMMs of (m x k) @ (k x n)."""

    m: int
    k: int
    n: int
    groups: int


@dataclass(frozen=True)
class BramPlan:
    """Algorithm 2's result: the largest tile side and the BRAM36 of each buffer."""

    l_max: int
    weight_bram36: int
    feature_bram36: int
    output_bram36: int

    @property
    def l_min(self) -> int:
        """Smallest tile side: a matrix must fill one buffer row, L_min >= sqrt(L_max) (B.2.3)."""
        return 1 << math.ceil(math.log2(math.sqrt(self.l_max)))

    def buffer_bytes(self, which: str) -> int:
        return getattr(self, f"{which}_bram36") * BRAM36_BYTES


def gemm_of(layer: Layer) -> Gemm:
    """Img2Col shape of a layer (the OHQ paper B.2.1); the batch multiplies n."""
    batch = layer.out_shape[0]
    if layer.kind == "linear":
        rows = math.prod(layer.out_shape[1:-1]) if len(layer.out_shape) > 2 else 1
        return Gemm(layer.out_channels, layer.in_channels, rows * batch, 1)
    g = layer.groups
    kh, kw = layer.kernel
    n = math.prod(layer.out_shape[2:]) * batch
    return Gemm(layer.out_channels // g, layer.in_channels // g * kh * kw, n, g)


def bram_plan(device: Device) -> BramPlan:
    """Algorithm 2 (the OHQ paper B.2.4): double L_max from 8 while the three buffers fit the budget."""
    budget = math.floor(device.bram36 * device.bram_util_max)
    per_l = sum(BRAM_COE.values())
    l_max = 8
    while l_max * per_l <= budget and l_max <= device.l_max_cap:
        l_max *= 2
    l_max //= 2
    if l_max < 8:
        raise RuntimeError(f"{device.part}: BRAM budget {budget} cannot hold 8-wide tiles")
    return BramPlan(
        l_max,
        math.ceil(l_max * BRAM_COE["weight"]),
        math.ceil(l_max * BRAM_COE["feature"]),
        math.ceil(l_max * BRAM_COE["output"]),
    )


def tile_side(length: int, l_min: int, l_max: int) -> int:
    """Algorithm 1 (the OHQ paper B.2.3): the slicing length for a matrix whose smallest side is `length`.

    A power of two up to L_max is kept; below L_min the tile is L_min (one buffer row must fill);
    otherwise the nearest power of two; above L_max, L_max or L_max/2 by the remainder.
    """
    if length <= l_max:
        if length & (length - 1) == 0:
            tile = length
        elif length < l_min:
            tile = l_min
        else:
            n = int(math.floor(math.log2(length)))
            tile = 2 ** (n + 1) if length > (2**n + 2 ** (n + 1)) / 2 else 2**n
        return max(tile, l_min)
    return l_max if length % l_max > l_max / 2 else l_max // 2


def dsp_pack(bits: int, dsp_type: str = "DSP48E2") -> int:
    """Multiplies per DSP48 per cycle for operands of `bits` bits.

    2 at <= 8 bits (two products sharing an operand: WP486 on the DSP48E2; on the 25x18 DSP48E1
    the RTL packs them with 16-bit fields, ohq.hw.rtl). 4 at <= 4 bits only on the 27x18 DSP48E2
    (WP521): on the DSP48E1 four 8-bit fields fit only as 2 channels x 2 pixels with no guard
    bits, which neither the paper's IP nor this RTL does, so it stays 2.
    """
    if bits <= 4:
        return 2 if dsp_type == "DSP48E1" else 4
    if bits <= 8:
        return 2
    return 1


def weight_container_bits(w_bits: int) -> int:
    """Bits one weight code occupies in DDR and BRAM: 2, 4, 8 or 16, so no code straddles a 64-bit
    word (the RTL's weight records, ohq.hw.rtl); 3-bit codes move as 4, 5-7-bit codes as 8."""
    return next(c for c in (2, 4, 8, 16, 32) if w_bits <= c)


def lut_mult_luts(w_bits: int, a_bits: int) -> int:
    """LUT6 per LUT multiply-accumulate: array multiplier ~w·a/2 LUTs + two (w+a)-bit adders.

    One adder accumulates, one is the product's share of the adder tree; a carry chain costs one
    LUT per bit (UG474). 4 x 4 bits: 8 + 16 = 24 LUTs.
    """
    return math.ceil(w_bits * a_bits / 2) + 2 * (w_bits + a_bits)


def shift_luts(w_bits: int, a_bits: int) -> int:
    """LUT6 per power-of-two product: a barrel shifter over 2^(w-1)-1 positions plus sign handling.

    One LUT6 is a 4:1 mux per output bit (UG474), so each mux stage resolves 2 shift bits; the
    shifted word is a + 2^(w-1) bits wide, and the sign/negate costs one more LUT per bit.
    """
    width = a_bits + 2 ** (w_bits - 1)
    stages = math.ceil(math.log2(2 ** (w_bits - 1)) / 2) if w_bits > 1 else 0
    return width * max(stages, 1) + width


def shift_add_luts(w_bits: int, a_bits: int) -> int:
    """LUT6 per SP2 product: two barrel shifts (m1, m2 shift bits) and one add (b = 1 + m1 + m2)."""
    m1 = (w_bits - 1 + 1) // 2
    m2 = w_bits - 1 - m1
    width = a_bits + 2**m1
    return width * (math.ceil(m1 / 2) + max(math.ceil(m2 / 2), 1)) + width


# the RTL lane each LUT resource is (ohq.hw.rtl: MODE 0 LUT multipliers, 1 shifts, 2 shift-adds)
_LANE = {Resource.DSP: ("uniform", lut_mult_luts), Resource.SHIFT: ("pot", shift_luts),
         Resource.SHIFT_ADD: ("sp2", shift_add_luts)}


def product_luts(resource: Resource, w_bits: int, a_bits: int, device: Device) -> float:
    """LUT6 per LUT product (a LUT multiplier for Resource.DSP): yosys' count of the RTL tree per
    product, its adder-tree share included, where the device data has it (ohq.hw.synthesized;
    activations travel in the same power-of-two containers as weights), else the hand formula."""
    scheme, formula = _LANE[resource]
    measured = synthesized.product_luts(device, scheme, w_bits, weight_container_bits(a_bits))
    return formula(w_bits, a_bits) if measured is None else measured


def lut_pes(resource: Resource, w_bits: int, a_bits: int, device: Device) -> int:
    """LUT products per cycle the LUT PE budget holds."""
    return int(device.pe_lut // product_luts(resource, w_bits, a_bits, device))


def lut_mult_max_bits(dsp_type: str = "DSP48E2") -> int:
    """Fixed-point operands at or below this width also get LUT multipliers (narrow-operand MACs).

    On a DSP48E2 a DSP already packs 4 products at 4 bits, so LUT multipliers pay off below that
    (a 3 x 3 MAC is ~17 LUT6, a 2 x 2 MAC ~10). A DSP48E1 packs only 2 at 4 bits, so 4-bit MACs
    (~24 LUT6) get LUT multipliers too, as the RTL's <= 4-bit lanes do (ohq.hw.rtl).
    """
    return 4 if dsp_type == "DSP48E1" else 3


def dsp_core_macs_per_cycle(w_bits: int, a_bits: int, device: Device) -> float:
    """MACs/cycle of the fixed-point core: packed DSP48s, plus LUT multipliers for narrow operands."""
    bits = max(w_bits, a_bits)
    macs = device.pe_dsp * dsp_pack(bits, device.dsp_type)
    if bits <= lut_mult_max_bits(device.dsp_type):
        macs += lut_pes(Resource.DSP, w_bits, a_bits, device)
    return float(macs)


def lut_core_macs_per_cycle(resource: Resource, w_bits: int, a_bits: int, device: Device) -> float:
    """MACs/cycle of the LUT shift (PoT) or shift-add (SP2) core, accumulated on DSPs (SVPE, n-BQ-NN)."""
    by_lut = lut_pes(resource, w_bits, a_bits, device)
    by_dsp = device.pe_dsp * SVPE_PRODUCTS_PER_DSP
    return float(min(by_lut, by_dsp))


def vpe_macs_per_cycle(bits: int, device: Device, k: int = SVPE_PRODUCTS_PER_DSP) -> float:
    """MACs/cycle of n-BQ-NN's MAC-based VPE baseline: k² multipliers and k adders per k x k
    convolver, all on DSPs, so (k² + k) DSPs per k² MACs (packed at <= 8 bits)."""
    return device.pe_dsp * k * k / (k * k + k) * dsp_pack(bits, device.dsp_type)


def balanced_sp2_share(device: Device, w_bits: int = 4, a_bits: int = 8) -> float:
    """rho = P_LUT / (P_LUT + P_DSP): the SP2 row share that makes both cores finish together.

    P_DSP is the DSP core alone (its DSPs do not accumulate for the LUT core in the row-wise mix);
    P_LUT is the SP2 shift-add core on the LUT PE budget (MSQ, docs/design.md).
    """
    p_dsp = device.pe_dsp * dsp_pack(max(w_bits, a_bits), device.dsp_type)
    p_lut = lut_pes(Resource.SHIFT_ADD, w_bits, a_bits, device)
    return p_lut / (p_lut + p_dsp)


def macs_per_cycle(resource: Resource, w_bits: int, a_bits: int, device: Device) -> float:
    """Peak MACs per cycle of the engine a scheme's resource runs on."""
    if resource is Resource.DSP:
        return dsp_core_macs_per_cycle(w_bits, a_bits, device)
    if resource in (Resource.SHIFT, Resource.SHIFT_ADD):
        return lut_core_macs_per_cycle(resource, w_bits, a_bits, device)
    if resource is Resource.DSP_LUT:
        p_dsp = device.pe_dsp * dsp_pack(max(w_bits, a_bits), device.dsp_type)
        return float(p_dsp + lut_pes(Resource.SHIFT_ADD, w_bits, a_bits, device))
    raise ValueError(f"no engine for resource {resource!r}")


def engine_resources(resource: Resource, w_bits: int, a_bits: int, device: Device) -> tuple[int, int]:
    """(DSP slices, LUT6) the layer's engine occupies, shell LUTs included."""
    bits = max(w_bits, a_bits)
    if resource is Resource.DSP:
        luts = device.pe_lut if bits <= lut_mult_max_bits(device.dsp_type) else 0
        return device.pe_dsp, device.shell_lut + luts
    if resource in (Resource.SHIFT, Resource.SHIFT_ADD):
        macs = lut_core_macs_per_cycle(resource, w_bits, a_bits, device)
        per = product_luts(resource, w_bits, a_bits, device)
        return math.ceil(macs / SVPE_PRODUCTS_PER_DSP), device.shell_lut + math.ceil(macs * per)
    per = product_luts(Resource.SHIFT_ADD, w_bits, a_bits, device)
    return device.pe_dsp, device.shell_lut + math.ceil(lut_pes(Resource.SHIFT_ADD, w_bits, a_bits, device) * per)
