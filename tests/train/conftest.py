import pytest

from ohq.data import load_dataset
from ohq.models import build_shipped


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits", "train"), load_dataset("digits", "test")


@pytest.fixture()
def cnn():
    return build_shipped("digits_cnn")
