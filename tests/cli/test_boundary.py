"""The CLI's error boundary and start-up: user errors exit 2, ohq's bugs exit 1 with a saved
traceback, help does not import torch, quantization does not need the [export] extra."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import assert_one_line_error

from ohq.errors import ModelError
from ohq.graph import residual_ties

USER_MODELS = Path(__file__).resolve().parents[1] / "user_models.py"


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_a_bug_in_ohq_is_named_as_one_with_its_traceback_saved():
    code = ("import ohq.graph\n"
            "def broken(*a, **k):\n    return {}['no such key']\n"
            "ohq.graph.layer_graph = broken\n"
            "from ohq.cli import main; main()")
    proc = _python(code, "graph", "--model", "mnist_cnn")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    match = re.fullmatch(r"ohq bug: KeyError: 'no such key' \(traceback saved to (.+)\)", lines[0])
    assert match, lines[0]
    saved = Path(match.group(1))
    assert "Traceback" in saved.read_text() and "broken" in saved.read_text()
    saved.unlink()


def test_a_user_error_is_one_line_and_exit_2():
    proc = _python("from ohq.cli import main; main()", "graph", "--model", "no_such_model")
    assert_one_line_error(proc, "unknown model 'no_such_model'")


@pytest.mark.parametrize("args", [("--help",), ("quantize", "--help"), ("quantize", "--no-such-flag")])
def test_help_and_bad_flags_do_not_import_torch(args):
    code = ("import sys\nfrom ohq.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    print('torch' in sys.modules, e.code)")
    proc = _python(code, *args)
    assert proc.stdout.strip().splitlines()[-1] in ("False 0", "False 2"), proc.stdout + proc.stderr


def test_quantization_and_run_directories_do_not_import_onnx():
    proc = _python("import sys, ohq.pipeline, ohq.rundir, ohq.export, ohq.cli.quantize\n"
                   "print('onnx' in sys.modules)")
    assert proc.stdout.strip() == "False", proc.stderr


def test_a_missing_export_extra_is_one_line_with_the_pip_command(tmp_path):
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import torch\nfrom ohq.export import export\nfrom ohq.quant import Plan, quantize\n"
            "net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))\n"
            "q = quantize(net, Plan.uniform(8), torch.randn(8, 1, 2, 2))\n"
            f"export(q, 'onnx-qdq', {str(tmp_path / 'm.onnx')!r}, input_shape=(1, 1, 2, 2))")
    proc = _python(code)
    assert proc.returncode == 1
    assert "OhqError: export format 'onnx-qdq' needs onnx: pip install 'ohq[export]'" in proc.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_tie_residual_on_an_untraceable_model_is_an_error():
    sys.path.insert(0, str(USER_MODELS.parent))
    try:
        from user_models import data_dependent
    finally:
        sys.path.pop(0)
    from ohq.graph import layer_graph

    model = data_dependent()
    with pytest.raises(ModelError, match="--tie-residual needs an fx-traceable model"):
        residual_ties(model, layer_graph(model, (1, 1, 28, 28)))
