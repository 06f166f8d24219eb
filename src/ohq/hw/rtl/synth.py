"""yosys `synth_xilinx` per configuration: LUT, FF, DSP48, RAMB (and LUTRAM) counts.

`synthesize(cfg)` covers `ohq_tree` (the lanes and their adder trees, registered), the part the
analytical model's packing and LUT formulas describe. `synthesize(cfg, whole=True)` runs the whole
accelerator (`ohq_engine`: layer engine with its tile buffers, post-processing unit, DMA): the
buffers are simple-dual-port memories (`ohq_ram.sv`) that yosys maps onto RAMB18/RAMB36 or
distributed RAM. `check_fits(res, device)` names the resource a result overflows on a part.
Results carry the yosys version and the exact script as their source; `resources.json` holds the
measured ones (`python bench/bench_rtl.py --synth`).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from ohq.errors import OhqError
from ohq.hw.rtl.build import SRC, RtlConfig
from ohq.hw.rtl.tools import run_tool, yosys

FAMILY = {"7series": "xc7", "ultrascale": "xcu", "ultrascale+": "xcup"}
RESOURCES = Path(__file__).parent / "resources.json"
ENGINE_SOURCES = ("ohq_ram.sv", "ohq_pe.sv", "ohq_lane.sv", "ohq_pack.sv", "ohq_obuf.sv", "ohq_core.sv", "ohq_vec.sv", "ohq_engine.sv")


def _nodsp(cfg: RtlConfig) -> str:
    # <= 4-bit fixed-point lanes are LUT multipliers by design; yosys ignores use_dsp on the wire
    return " -nodsp" if cfg.scheme == "uniform" and cfg.w_bits <= 4 else ""


def script(cfg: RtlConfig, family: str = "xc7") -> str:
    """The tree alone. `booth` before the coarse step: yosys' radix-4 Booth multipliers for the
    LUT lanes (without it their products are array multipliers, ~30 % more LUTs at 4 x 4 bits);
    DSP-mapped and shift products have no $mul left for it by then."""
    p = cfg.verilog_params()
    sets = " ".join(f"-set {k} {p[k]}" for k in ("L", "MODE", "WB", "AB", "M1", "M2"))
    synth = f"synth_xilinx -family {family} -top ohq_tree -flatten{_nodsp(cfg)}"
    return ("read_verilog -sv -I. ohq_pe.sv ohq_tree.sv\n"
            f"chparam {sets} ohq_tree\n"
            f"{synth} -run begin:coarse\nbooth\n{synth} -run coarse:\n"
            "stat\n")


# the trees whose LUTs the analytical model reads per product (ohq.hw.synthesized): LUT
# multipliers (uniform, <= 4-bit weights), shifts (pot) and shift-adds (sp2) at every weight width
# up to 8 bits, and activations at each container width the lanes use (2, 4, 8 bits: a 3-bit
# activation runs on the 4-bit datapath; 16 for the SVPE's 16-bit activations)
PRODUCT_GRID = tuple(
    [("uniform", w, a) for w in (2, 3, 4) for a in (2, 4, 8)]
    + [(s, w, a) for s in ("pot", "sp2") for w in range(2, 9) for a in (2, 4, 8, 16)]
)
PRODUCT_LANES = 8


# synth_xilinx's `coarse` step without `share`: share's SAT proofs over the post-processing
# lanes (every lane's shifter against every other's, through the output banks' write enables)
# grow with the lanes squared; it merges only mutually exclusive multipliers and shifters, so
# skipping it can only count more cells
COARSE_NO_SHARE = ("techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6\n"
                   "alumacc\nopt\nmemory -nomap\nopt_clean\n")


def engine_script(cfg: RtlConfig, family: str = "xc7", share: bool = False) -> str:
    """The whole accelerator (`ohq_engine`: layer engine, post-processing unit, DMA) for `cfg`.
    No -nodsp here (it would put the post-process multipliers on LUTs): <= 4-bit uniform lanes map
    onto DSPs in this run; `script` gives their LUT cost. `share`: synth_xilinx's full script."""
    p = cfg.verilog_params()
    keys = ("L", "MODE", "WB", "WC", "AB", "M1", "M2", "FMAX", "KMAX", "PMAX", "VL")
    synth = f"synth_xilinx -family {family} -top ohq_engine -flatten"
    steps = f"{synth}\n" if share else f"{synth} -run begin:coarse\n{COARSE_NO_SHARE}{synth} -run map_memory:\n"
    return (f"read_verilog -sv -I. {' '.join(ENGINE_SOURCES)}\n"
            f"chparam {' '.join(f'-set {k} {p[k]}' for k in keys)} ohq_engine\n"
            f"{steps}stat\n{DSP_DUMP}")


# the DSP cells with their `src` attributes (source line of the multiply each one serves)
DSP_DUMP = "tee -q -o dsp.txt dump t:DSP48*\n"


def dsp_by_source(dump: str) -> dict[str, int]:
    """DSP cells per Verilog source line of their multiply (the first `src` entry of each)."""
    counts: dict[str, int] = {}
    for m in re.finditer(r'attribute \\src "([^:|"]+:\d+)', dump):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return dict(sorted(counts.items()))


def parse_stat(log: str) -> dict:
    """Cell counts of yosys' last `stat` → lut, ff, dsp, ramb18 (RAMB36 = 2; 7-series E1 and
    UltraScale E2 cells), carry4 (carry8 on UltraScale), uram (URAM288), lutram (RAM32M…)."""
    last = log[log.rfind("Printing statistics"):]
    cells = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+([A-Z][A-Z0-9_]+)\s*$", last, re.M)}
    return {
        "lut": sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d", k)),
        "ff": sum(v for k, v in cells.items() if re.fullmatch(r"FD[RSCP]E", k)),
        "dsp": sum(v for k, v in cells.items() if k.startswith("DSP48")),
        "ramb18": sum(cells.get(f"RAMB18E{v}", 0) + 2 * cells.get(f"RAMB36E{v}", 0) for v in (1, 2)),
        "carry4": cells.get("CARRY4", 0),
        **({"carry8": cells["CARRY8"]} if "CARRY8" in cells else {}),
        **({"uram": cells["URAM288"]} if "URAM288" in cells else {}),
        "lutram": sum(v for k, v in cells.items() if k.startswith("RAM") and not k.startswith("RAMB")),
    }


def run_script(text: str, timeout: float = 3600) -> tuple[dict, str, float]:
    """(cell counts, yosys version, CPU seconds of yosys) of one script, which names the Verilog
    sources by file name: they are copied next to it, because the yowasp build sees only its
    working directory reliably (it mounts a private folder over the host's /tmp)."""
    exe = yosys()
    with tempfile.TemporaryDirectory(prefix="ohq-yosys-") as tmp:
        for src in SRC.glob("*.sv*"):
            shutil.copy(src, tmp)
        (Path(tmp) / "synth.ys").write_text(text)
        t0 = time.process_time()
        c0 = _child_cpu()
        run_tool([exe, "-q", "-s", "synth.ys", "-l", "log.txt"], "yosys synth_xilinx", cwd=Path(tmp), timeout=timeout)
        cpu = _child_cpu() - c0 + time.process_time() - t0
        counts = parse_stat((Path(tmp) / "log.txt").read_text())
        if (Path(tmp) / "dsp.txt").exists():
            counts["dsp_by_src"] = dsp_by_source((Path(tmp) / "dsp.txt").read_text())
    return counts, run_tool([exe, "-V"], "yosys -V").strip(), cpu


def _child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def source(version: str, text: str) -> str:
    """A result's `source`: the yosys version and the script, one line."""
    return f"{version}; {text.strip()}".replace("\n", "; ")


def synthesize(cfg: RtlConfig, family: str = "xc7", whole: bool = False, timeout: float = 3600) -> dict:
    """Resources of the tree (or with `whole`, the whole engine) for `cfg`, with the yosys
    version and script as their source and the synthesis CPU seconds."""
    text = (engine_script if whole else script)(cfg, family)
    t0 = time.perf_counter()
    res, version, cpu = run_script(text, timeout)
    res.update(lanes=cfg.lanes, scheme=cfg.scheme, w_bits=cfg.w_bits, a_bits=cfg.a_bits,
               family=family, unit="ohq_engine" if whole else "ohq_tree",
               fmax=cfg.fmax, kmax=cfg.kmax, pmax=cfg.pmax, vec_lanes=cfg.vec_lanes,
               wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(cpu, 1),
               source=source(version, text))
    return res


def check_fits(res: dict, device) -> None:
    """Raise (one line) naming each resource a synthesis result needs beyond the part's."""
    have = {"lut": device.lut, "dsp": device.dsp, "ramb18": device.bram18k}
    over = [f"{k.upper()} {res[k]:,} > {have[k]:,}" for k in have if res.get(k, 0) > have[k]]
    if over:
        raise OhqError(f"the {res.get('lanes')}-lane {res.get('unit', 'engine')} does not fit "
                       f"{device.part}: {', '.join(over)}")


def recorded(unit: str | None = None) -> list[dict]:
    """The measured results in resources.json (optionally of one unit)."""
    rows = json.loads(RESOURCES.read_text())["results"]
    return [r for r in rows if unit is None or r.get("unit", "ohq_tree") == unit]


def record(rows: list[dict]) -> None:
    """Append measured results to resources.json (atomically)."""
    from ohq.io import write_atomic

    doc = json.loads(RESOURCES.read_text())
    doc["results"] += [{**r, "kind": "measured"} for r in rows]
    write_atomic(RESOURCES, lambda tmp: tmp.write_text(json.dumps(doc, indent=1) + "\n"))
