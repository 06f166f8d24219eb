"""Zoo tests, driven by `list_models()`: a newly registered model is tested without edits here."""

from __future__ import annotations

import pytest
import torch
from torch import fx, nn

from ohq.errors import OhqError
from ohq.graph import layer_graph
from ohq.models import SHIPPED, create_model, list_models

IMAGENET = ["alexnet", "mobilenet_v2", "mobilenet_v3_large", "resnet18", "resnet50"]

# torchvision's parameter counts at 1000 classes, 3 input channels, default width.
PARAMS = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032,
    "alexnet": 61_100_840,
}
# Published conv + linear MACs at 1x3x224x224.
GMACS = {
    "resnet18": 1.814,
    "resnet50": 4.09,
    "mobilenet_v2": 0.30,
    "mobilenet_v3_large": 0.22,
    "alexnet": 0.714,
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The CI machine has 2 shared cores; at batch 1 a second thread only adds contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_kwargs(name: str) -> dict:
    if name == "small_cnn":
        return {"num_classes": 10, "in_channels": 1}
    return {"num_classes": 10, "in_channels": 1, "small_input": True}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_zoo_lists_every_family():
    assert set(IMAGENET) | {"small_cnn"} <= set(list_models())


@pytest.mark.parametrize("name", list_models())
def test_small_input_builds_traces_and_runs(name):
    model = create_model(name, **small_kwargs(name)).eval()
    traced = fx.symbolic_trace(model)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        out = model(x)
        assert torch.equal(traced(x), out)
    assert out.shape == (2, 10)


@pytest.mark.parametrize("name", list_models())
def test_every_bn_follows_its_conv(name):
    # The quantizer folds BN into the conv whose only user it is; no BN may float free.
    model = create_model(name, **small_kwargs(name))
    graph = layer_graph(model, (1, 1, 28, 28))
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert graph.traced
    assert sum(layer.bn is not None for layer in graph.layers) == n_bn
    assert not graph.unsupported


@pytest.mark.parametrize("name", [n for n in list_models() if n in PARAMS])
def test_imagenet_params_macs_and_forward(name):
    model = create_model(name).eval()
    assert n_params(model) == PARAMS[name]
    graph = layer_graph(model, (1, 3, 224, 224))
    assert graph.total_macs / 1e9 == pytest.approx(GMACS[name], rel=0.02)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


@pytest.mark.parametrize("name", [n for n in list_models() if n != "small_cnn"])
def test_num_classes_and_in_channels_respected(name):
    model = create_model(name, num_classes=7, in_channels=2, small_input=True).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 2, 32, 32)).shape == (1, 7)
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize("name", list_models())
def test_bad_sizes_are_errors(name):
    with pytest.raises(OhqError, match="num_classes"):
        create_model(name, num_classes=0)


@pytest.mark.parametrize("shipped", sorted(SHIPPED))
def test_shipped_configs_are_cheap_and_keep_spatial_size(shipped):
    # The models shipped trained on MNIST must stay cheap enough for a 2-core CPU.
    info = SHIPPED[shipped]
    model = create_model(info.arch, **info.kwargs)
    graph = layer_graph(model, info.input_shape)
    assert n_params(model) < 1_000_000
    assert graph.total_macs < 40_000_000
    if info.arch == "small_cnn":
        return
    last_conv = [layer for layer in graph.layers if layer.kind != "linear"][-1]
    assert last_conv.out_shape[-2:] == (4, 4)  # 28 px downsampled 8x, not to 1x1


def test_width_knobs_scale_channels():
    assert create_model("resnet18", width=16).conv1.out_channels == 16
    assert create_model("resnet50", width=32).fc.in_features == 32 * 8 * 4
    narrow = create_model("mobilenet_v2", width_mult=0.5)
    assert narrow.features[0][0].out_channels == 16
    assert (
        n_params(create_model("mobilenet_v3_large", width_mult=0.75)) < PARAMS["mobilenet_v3_large"]
    )


@pytest.mark.parametrize("size", [8, 28])
def test_small_cnn_handles_digits_and_mnist(size):
    model = create_model("small_cnn").eval()
    with torch.no_grad():
        assert model(torch.randn(3, 1, size, size)).shape == (3, 10)
    assert n_params(model) < 100_000
