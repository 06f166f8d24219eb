import pytest

from ohq.hw.rtl.tools import RtlToolError, verilator


def _have_verilator() -> bool:
    try:
        verilator()
    except RtlToolError:
        return False
    return True


needs_verilator = pytest.mark.skipif(not _have_verilator(), reason="Verilator (ohq[rtl]) not installed")
