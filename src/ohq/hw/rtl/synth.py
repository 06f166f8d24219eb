"""yosys `synth_xilinx` per configuration: LUT, FF, DSP48, RAMB (and LUTRAM) counts.

`synthesize(cfg)` covers `ohq_tree` (the lanes and their adder trees, registered), the part the
analytical model's packing and LUT formulas describe. `synthesize(cfg, whole=True)` runs the whole
accelerator (`ohq_engine`: layer engine, post-processing unit, DMA); its buffers are read by L
lanes per cycle (multi-ported, not BRAM-inferable) and at 8 lanes with tiny buffers it did not
finish within 45 min on this loaded machine (docs/hardware.md § RTL engine). Buffers stay on the
BRAM formulas of `ohq.hw.accelerator` (Algorithm 2).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ohq.hw.rtl.build import SRC, RtlConfig
from ohq.hw.rtl.tools import run_tool, yosys

FAMILY = {"7series": "xc7", "ultrascale": "xcu", "ultrascale+": "xcup"}


def script(cfg: RtlConfig, family: str = "xc7") -> str:
    p = cfg.verilog_params()
    sets = " ".join(f"-set {k} {p[k]}" for k in ("L", "MODE", "WB", "AB", "M1", "M2"))
    # <= 4-bit fixed-point lanes are LUT multipliers by design; yosys ignores use_dsp on the wire
    nodsp = " -nodsp" if cfg.scheme == "uniform" and cfg.w_bits <= 4 else ""
    return (f"read_verilog -sv {SRC / 'ohq_pe.sv'} {SRC / 'ohq_tree.sv'}\n"
            f"chparam {sets} ohq_tree\n"
            f"synth_xilinx -family {family} -top ohq_tree -flatten{nodsp}\n"
            "stat\n")


ENGINE_SOURCES = ("ohq_pe.sv", "ohq_core.sv", "ohq_vec.sv", "ohq_engine.sv")


def engine_script(cfg: RtlConfig, family: str = "xc7") -> str:
    """The whole accelerator (`ohq_engine`: layer engine, post-processing unit, DMA) for `cfg`."""
    p = cfg.verilog_params()
    sets = " ".join(f"-set {k} {p[k]}" for k in ("L", "MODE", "WB", "WC", "AB", "M1", "M2", "FMAX", "KMAX", "PMAX"))
    nodsp = " -nodsp" if cfg.scheme == "uniform" and cfg.w_bits <= 4 else ""
    return (f"read_verilog -sv {' '.join(str(SRC / n) for n in ENGINE_SOURCES)}\n"
            f"chparam {sets} ohq_engine\n"
            f"synth_xilinx -family {family} -top ohq_engine -flatten{nodsp}\n"
            "stat\n")


def parse_stat(log: str) -> dict[str, int]:
    """Cell counts of yosys' last `stat` → lut, ff, dsp, ramb18 (RAMB36 = 2), carry4, lutram (RAM32M…)."""
    last = log[log.rfind("Printing statistics"):]
    cells = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+([A-Z][A-Z0-9_]+)\s*$", last, re.M)}
    return {
        "lut": sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d", k)),
        "ff": sum(v for k, v in cells.items() if re.fullmatch(r"FD[RSCP]E", k)),
        "dsp": sum(v for k, v in cells.items() if k.startswith("DSP48")),
        "ramb18": cells.get("RAMB18E1", 0) + 2 * cells.get("RAMB36E1", 0),
        "carry4": cells.get("CARRY4", 0),
        "lutram": sum(v for k, v in cells.items() if k.startswith("RAM") and not k.startswith("RAMB")),
    }


def synthesize(cfg: RtlConfig, family: str = "xc7", whole: bool = False, timeout: float = 3600) -> dict:
    """Resources of the tree (or with `whole`, the whole engine) for `cfg`, with the yosys
    version and script as their source."""
    exe = yosys()
    text_of = engine_script if whole else script
    with tempfile.TemporaryDirectory(prefix="ohq-yosys-") as tmp:
        ys = Path(tmp) / "tree.ys"
        ys.write_text(text_of(cfg, family))
        log = Path(tmp) / "log.txt"
        run_tool([exe, "-q", "-s", ys.name, "-l", log.name], "yosys synth_xilinx", cwd=Path(tmp), timeout=timeout)
        text = log.read_text()
    version = run_tool([exe, "-V"], "yosys -V").strip()
    res = parse_stat(text)
    res.update(lanes=cfg.lanes, scheme=cfg.scheme, w_bits=cfg.w_bits, a_bits=cfg.a_bits,
               family=family, unit="ohq_engine" if whole else "ohq_tree",
               fmax=cfg.fmax, kmax=cfg.kmax, pmax=cfg.pmax,
               source=f"{version}; {text_of(cfg, family).strip()}".replace("\n", "; "))
    return res
