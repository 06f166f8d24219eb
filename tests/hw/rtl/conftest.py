import pytest

from ohq.hw.rtl.tools import RtlToolError, verilator, yosys


def _have(tool) -> bool:
    try:
        tool()
    except RtlToolError:
        return False
    return True


needs_verilator = pytest.mark.skipif(not _have(verilator), reason="Verilator (ohq[rtl]) not installed")
needs_yosys = pytest.mark.skipif(not _have(yosys), reason="yosys (ohq[rtl]) not installed")
