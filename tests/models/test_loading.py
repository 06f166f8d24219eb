import pytest
import torch
from torch import nn

from ohq.errors import OhqError
from ohq.models import SHIPPED, create_model, load_model

USER = "tests/user_models.py"


def test_zoo_name():
    loaded = load_model("resnet18")
    assert loaded.input_shape is None and not loaded.model.training


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_names_know_their_input(name):
    loaded = load_model(name)
    assert loaded.input_shape == SHIPPED[name].input_shape
    assert loaded.data == SHIPPED[name].data
    with torch.no_grad():
        assert loaded.model(torch.zeros(loaded.input_shape)).shape == (1, 10)


def test_file_function():
    loaded = load_model(f"{USER}:grouped_concat")
    assert type(loaded.model).__name__ == "GroupedConcat"


def test_package_module_function(tmp_path, monkeypatch):
    pkg = tmp_path / "mynets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "zoo.py").write_text("from torch import nn\ndef tiny():\n    return nn.Linear(4, 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert isinstance(load_model("mynets.zoo:tiny").model, nn.Linear)


def test_weights_are_loaded(tmp_path):
    model = create_model("small_cnn")
    torch.save(model.state_dict(), tmp_path / "w.pt")
    loaded = load_model("small_cnn", weights=tmp_path / "w.pt")
    assert torch.equal(loaded.model.fc.weight, model.fc.weight)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_such_model", "unknown model"),
        ("missing.py:fn", "does not exist"),
        (f"{USER}:nothing_here", "has no function"),
        (f"{USER}:not_a_module", "not an nn.Module"),
        (f"{USER}:broken", "cannot build"),
        ("no.such.package:fn", "cannot import"),
        (f"{USER}:", "expected path/to/file.py:function"),
    ],
)
def test_bad_model_specs(spec, message):
    with pytest.raises(OhqError, match=message):
        load_model(spec)


def test_bad_weights(tmp_path):
    with pytest.raises(OhqError, match="does not exist"):
        load_model("small_cnn", weights=tmp_path / "none.pt")
    torch.save(create_model("small_cnn", num_classes=3).state_dict(), tmp_path / "other.pt")
    with pytest.raises(OhqError, match="does not fit the model"):
        load_model("small_cnn", weights=tmp_path / "other.pt")
    torch.save({"model": nn.Linear(2, 2)}, tmp_path / "pickled.pt")  # a pickled module: refused
    with pytest.raises(OhqError, match="weights_only=True"):
        load_model("small_cnn", weights=tmp_path / "pickled.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(OhqError, match="cannot read"):
        load_model("small_cnn", weights=tmp_path / "junk.pt")


def test_state_dict_mismatch_names_the_keys(tmp_path):
    state = create_model("small_cnn").state_dict()
    renamed = {("body." + k if i == 0 else k): v for i, (k, v) in enumerate(state.items())}
    torch.save(renamed, tmp_path / "renamed.pt")
    first = next(iter(state))
    with pytest.raises(OhqError, match=rf"missing keys {first}; unexpected keys body.{first}"):
        load_model("small_cnn", weights=tmp_path / "renamed.pt")
    torch.save(create_model("small_cnn", num_classes=3).state_dict(), tmp_path / "other.pt")
    with pytest.raises(OhqError, match=r"is \(3,.*\) in the file but \(10,.*\) in the model"):
        load_model("small_cnn", weights=tmp_path / "other.pt")


def test_unknown_model_suggests_the_closest_name():
    with pytest.raises(OhqError, match="did you mean resnet18?"):
        load_model("resnet-18")
    with pytest.raises(OhqError, match="did you mean mnist_cnn?"):
        load_model("mnist_cn")


def test_wrong_input_shape_hints_at_input():
    from ohq.graph import layer_graph

    with pytest.raises(OhqError, match="give the shape it takes with --input N,C,H,W"):
        layer_graph(create_model("small_cnn", in_channels=1), (1, 3, 224, 224))
