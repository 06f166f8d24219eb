"""`ohq quantize --finetune`: the ILP's mixed model fine-tuned, before and after both reported."""

import pytest

from ohq.errors import OhqError
from ohq.pipeline import Request, run_pipeline
from ohq.report import write_report_html
from ohq.report.html import pct
from ohq.rundir import summary


def test_pipeline_finetune_reports_mixed_before_and_after(tmp_path, capsys):
    req = Request("digits_cnn", data="digits", size_ratio=0.0, bits=(2, 4, 8), finetune="qat", finetune_epochs=2,
                  samples=8)
    result = run_pipeline(req)
    doc = summary(result)
    assert doc["top1_mixed"] > doc["top1_mixed_ptq"]
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
