"""`ohq quantize --finetune`: the ILP's mixed model fine-tuned, before and after both reported."""

import pytest

from ohq.errors import OhqError
from ohq.pipeline import Request, run_pipeline
from ohq.rundir import summary


def test_pipeline_finetune_reports_mixed_before_and_after():
    req = Request("digits_cnn", data="digits", size_ratio=0.0, bits=(2, 4, 8), finetune="qat", finetune_epochs=2,
                  samples=8)
    result = run_pipeline(req)
    doc = summary(result)
    assert doc["top1_mixed"] > doc["top1_mixed_ptq"]
    with pytest.raises(OhqError, match="--finetune must be"):
        Request("digits_cnn", data="digits", size_ratio=0.5, finetune="magic")
    with pytest.raises(OhqError, match="give --data"):
        Request("digits_cnn", size_ratio=0.5, finetune="qat")
