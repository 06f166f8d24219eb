"""torchrun/DDP: two gloo processes keep identical weights, match one process, and a failing
rank leaves nothing half-written."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent("""
    import sys, torch
    from ohq.data import load_dataset
    from ohq.models import build_shipped
    from ohq.quant import Plan
    from ohq.train import ddp, qat

    ddp.init()
    out, fail = sys.argv[1], sys.argv[2] == "fail"
    if fail and ddp.rank() == 1:
        sys.exit(3)  # a rank that dies: torchrun stops the others
    train = load_dataset("digits", "train")
    qm = qat(build_shipped("digits_cnn"), Plan.uniform(3, 4), train, epochs=0.3, method="lsq",
             batch_size=64, checkpoint=out + ".ckpt")
    torch.save(qm.qat_state_["state"], f"{out}.rank{ddp.rank()}.pt")
    ddp.shutdown()
""")


def _torchrun(tmp_path, nproc: int, mode: str = "ok") -> tuple[subprocess.CompletedProcess, str]:
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    out = str(tmp_path / f"w{nproc}")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           str(script), out, mode]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300), out


@pytest.mark.slow
def test_two_gloo_processes_keep_identical_weights_equal_to_one(tmp_path):
    proc, out = _torchrun(tmp_path, 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0, r1 = (torch.load(f"{out}.rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    single = _one_process()
    # the same global batches: equal up to the order of the gradient all-reduce
    assert all(torch.allclose(r0[k], single[k], atol=1e-5) for k in single)
    assert not os.path.exists(out + ".ckpt.tmp")


def _one_process() -> dict:
    from ohq.data import load_dataset
    from ohq.models import build_shipped
    from ohq.quant import Plan
    from ohq.train import qat

    qm = qat(build_shipped("digits_cnn"), Plan.uniform(3, 4), load_dataset("digits", "train"), epochs=0.3,
             method="lsq", batch_size=64)
    return qm.qat_state_["state"]


@pytest.mark.slow
def test_a_failing_rank_stops_the_world_and_writes_nothing(tmp_path):
    proc, out = _torchrun(tmp_path, 2, "fail")
    assert proc.returncode != 0
    assert not [p for p in os.listdir(tmp_path) if p.startswith("w2")]
