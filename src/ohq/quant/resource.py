"""The compute resource a number scheme's multiply maps to on an FPGA (docs/design.md)."""

from enum import StrEnum


class Resource(StrEnum):
    DSP = "dsp"  # fixed-point multiply on DSP48 slices (packed 2x at <=8 bit, 4x at <=4 bit)
    SHIFT = "shift"  # power-of-two weight: one barrel shift (SVPE, n-BQ-NN)
    SHIFT_ADD = "shift-add"  # SP2 weight: two shifts and an add on LUTs (MSQ)
    DSP_LUT = "dsp+lut"  # row-wise mix: a DSP core and a LUT core side by side
