"""`ohq quantize --finetune`: the ILP's mixed model fine-tuned, before and after both reported."""

import pytest
import torch

from ohq.errors import OhqError
from ohq.pipeline import Request, run_pipeline
from ohq.report import write_report_html
from ohq.report.html import pct
from ohq.rundir import load_run, summary, write_run


def test_pipeline_finetune_reports_mixed_before_and_after(tmp_path, capsys):
    req = Request("digits_cnn", data="digits", size_ratio=0.0, bits=(2, 4, 8), finetune="qat", finetune_epochs=2,
                  samples=8)
    result = run_pipeline(req)
    doc = summary(result)
    assert doc["top1_mixed"] > doc["top1_mixed_ptq"]
    run = load_run(write_run(result, tmp_path / "run"))  # what `ohq export --run` reads: the fine-tuned model
    x = result.calib[:16]
    assert torch.equal(run.qmodel(x), result.qmodel(x))
    page = write_report_html(result, tmp_path).read_text()  # the report's summary: before and after
    assert f"<td>mixed (OHQ), PTQ</td><td class=\"num\">{pct(doc['top1_mixed_ptq'])}</td>" in page
    assert f"<td>mixed (OHQ), fine-tuned (qat)</td><td class=\"num\">{pct(doc['top1_mixed'])}</td>" in page
    from ohq.cli.quantize import print_result

    print_result(result, tmp_path)
    printed = capsys.readouterr().out
    assert "OHQ mixed, PTQ" in printed and "OHQ mixed, qat" in printed
    with pytest.raises(OhqError, match="--finetune must be"):
        Request("digits_cnn", data="digits", size_ratio=0.5, finetune="magic")
    with pytest.raises(OhqError, match="give --data"):
        Request("digits_cnn", size_ratio=0.5, finetune="qat")
