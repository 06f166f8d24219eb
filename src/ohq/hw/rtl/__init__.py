"""The chip in RTL (docs/design.md §3): a Verilog accelerator simulated with Verilator, synthesized with yosys.

`run_layer` runs one quantized layer on the simulated chip; the `rtl` probe (`ohq.hw.rtl.probe`)
measures the four cycle counters per layer. Sources are in `verilog/`; docs/hardware.md § RTL.
"""

from ohq.hw.rtl.build import RtlConfig, simulator
from ohq.hw.rtl.job import LayerJob, RtlMapError
from ohq.hw.rtl.sim import RtlResult, run_job, run_layer
from ohq.hw.rtl.tools import RtlToolError

__all__ = ["LayerJob", "RtlConfig", "RtlMapError", "RtlResult", "RtlToolError", "run_job",
           "run_layer", "simulator"]
