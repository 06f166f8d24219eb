"""One Verilator build per hardware configuration, cached by a hash of sources and parameters.

The cache lives under $OHQ_CACHE/rtl (default ~/.cache/ohq/rtl); each build is a directory named
by the hash, created atomically (built in a temporary directory, then renamed), so parallel test
runs and CI build each configuration once.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ohq.hw.rtl.tools import RtlToolError, run_tool, verilator
from ohq.io import cache_root

SRC = Path(__file__).parent / "verilog"
SOURCES = ("ohq_ports.svh", "ohq_ram.sv", "ohq_pe.sv", "ohq_lane.sv", "ohq_pack.sv", "ohq_obuf.sv", "ohq_core.sv", "ohq_vec.sv", "ohq_engine.sv", "ohq_tb.sv", "harness.cpp")
MODES = {"uniform": 0, "pot": 1, "sp2": 2}


def container(bits: int) -> int:
    """The power-of-two slot (2 to 32 bits) a code of `bits` bits travels in."""
    c = 2
    while c < bits:
        c *= 2
    return c


@dataclass(frozen=True)
class RtlConfig:
    """Compile-time parameters of one accelerator build (Verilog parameters of ohq_tb)."""

    lanes: int = 16            # L: lanes of the multiply-add tree (x 2 output channels)
    scheme: str = "uniform"    # uniform | pot | sp2
    w_bits: int = 8
    a_bits: int = 8
    fmax: int = 16384          # feature-buffer elements (one band of one group's input rows)
    kmax: int = 8192           # weight-buffer entries per channel and bank (K = cin/g·kh·kw)
    pmax: int = 4096           # accumulator entries per channel (output pixels of one band)
    vec_lanes: int = 16        # VL: post-processing lanes (a job runs min(VL, 64 / code bits))
    bw16: int = 171            # DRAM bytes per cycle x 16 (10.66 B/cycle: xc7z020's DMA rate)
    latency: int = 32          # DRAM read latency in cycles

    @property
    def w_container(self) -> int:
        """Bits one weight code takes in DRAM (2, 4 or 8: codes never straddle a 64-bit word)."""
        return 2 if self.w_bits <= 2 else 4 if self.w_bits <= 4 else 8

    @property
    def a_container(self) -> int:
        """Bits one activation code takes in DRAM and the feature buffer (a power of two, so the
        RTL packs with shifts: 3-bit codes travel in 4-bit slots)."""
        return container(self.a_bits)

    @property
    def pass_words(self) -> int:
        """64-bit words of weight codes per tree pass (L codes in their containers)."""
        return -(-self.lanes * self.w_container // 64)

    @property
    def sp2_split(self) -> tuple[int, int]:
        m = self.w_bits - 1
        return (m + 1) // 2, m // 2

    def verilog_params(self) -> dict[str, int]:
        m1, m2 = self.sp2_split if self.scheme == "sp2" else (2, 1)
        return {"L": self.lanes, "MODE": MODES[self.scheme], "WB": self.w_bits,
                "WC": self.w_container, "AB": self.a_container, "M1": m1, "M2": m2,
                "FMAX": self.fmax, "KMAX": self.kmax, "PMAX": self.pmax, "VL": self.vec_lanes,
                "BW16": self.bw16, "LAT": self.latency}

    def key(self) -> str:
        h = hashlib.sha256()
        for name in SOURCES:
            h.update((SRC / name).read_bytes())
        h.update(repr(sorted(asdict(self).items())).encode())
        return h.hexdigest()[:16]


def cache_dir() -> Path:
    return cache_root() / "rtl"


def simulator(cfg: RtlConfig) -> Path:
    """The harness executable for `cfg`, built on first use (from a copy of the sources it hashed)."""
    out = cache_dir() / cfg.key()
    exe = out / "Vohq_tb"
    if exe.exists():
        return exe
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=out.parent))
    try:
        for name in SOURCES:
            shutil.copy(SRC / name, tmp / name)
        if cfg.key() != out.name:
            raise RtlToolError("the RTL sources changed during the build; run it again")
        params = [f"-G{k}={v}" for k, v in cfg.verilog_params().items()]
        run_tool([verilator(), "--cc", "--exe", "--build", "-j", "2", "-O3", "--output-split", "0", "-Wno-fatal",
                  "-Wno-lint", "-Wno-style", "--top-module", "ohq_tb", *params,
                  "-CFLAGS", "-O1", "-Mdir", str(tmp / "obj"), f"-I{tmp}",
                  *[str(tmp / n) for n in SOURCES if not n.endswith(".svh")]], "Verilator build", cwd=tmp)
        (tmp / "obj" / "Vohq_tb").rename(tmp / "Vohq_tb")
        shutil.rmtree(tmp / "obj", ignore_errors=True)
        try:
            tmp.rename(out)
        except OSError:  # another process built it first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return exe
