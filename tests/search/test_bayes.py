"""optuna BO: budgets as constraints, shared storage, resume, bad input."""

from __future__ import annotations

import pytest

from ohq.errors import OhqError
from ohq.search.bayes import bo_search, open_storage

NAMES = ["a", "b", "c"]


def toy(bits, sparsity):
    acc = 1 - sum(1 / b for b in bits.values()) / 10 - sum(sparsity.values()) / 20
    size = sum(bits.values()) * (1 - sum(sparsity.values()) / 6) / 96
    return {"accuracy": acc, "size": size, "violations": [sum(bits.values()) - 16]}


def test_budget_respected_and_resume(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = bo_search(NAMES, (4, 8), (0.0, 0.5), toy, trials=6, storage=url, study_name="t")
    assert sum(first.bits.values()) <= 16 and first.trials_complete == 6
    again = bo_search(NAMES, (4, 8), (0.0, 0.5), toy, trials=8, storage=url, study_name="t")
    assert again.trials_complete == 8 and again.trials_run_here == 2  # resumed, not restarted
    assert again.value >= first.value


def test_journal_file_and_random_sampler(tmp_path):
    r = bo_search(NAMES, (4, 8), (0.0,), toy, trials=4, storage=str(tmp_path / "s.log"), sampler="random")
    assert r.trials_complete == 4 and set(r.sparsity.values()) == {0.0}


def test_max_loss_constraint():
    r = bo_search(NAMES, (4, 8), (0.0, 0.5), toy, trials=12, max_loss=0.1, reference=1.0)
    assert 1.0 - r.metrics["accuracy"] <= 0.1


@pytest.mark.parametrize("trials", [0, -1])
def test_bad_trials(trials):
    with pytest.raises(OhqError, match="--trials"):
        bo_search(NAMES, (4, 8), (0.0,), toy, trials=trials)


def test_bad_storage(tmp_path):
    with pytest.raises(OhqError, match="cannot open|does not exist"):
        open_storage(f"sqlite:///{tmp_path}/missing/dir/x.db")
    with pytest.raises(OhqError, match="does not exist"):
        open_storage(str(tmp_path / "missing" / "x.log"))
