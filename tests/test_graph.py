import pytest
import torch
from torch import nn
from user_models import data_dependent, grouped_concat, with_unsupported

from ohq.errors import OhqError
from ohq.graph import layer_graph
from ohq.models import create_model, list_models

SMALL = {"num_classes": 10, "in_channels": 1}


def small(name: str) -> nn.Module:
    if name == "small_cnn":
        return create_model(name, **SMALL)
    return create_model(name, small_input=True, **SMALL)


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_has_a_graph(name):
    model = small(name)
    g = layer_graph(model, (1, 1, 32, 32))
    assert g.traced
    assert len(g.layers) >= 4
    assert g.layers[-1].kind == "linear"
    assert g.total_params <= g.model_params
    n_quant = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    assert len(g.layers) == n_quant  # every conv and linear, each once
    for layer in g.layers:
        assert layer.macs > 0 and layer.params > 0
        assert layer.out_shape[0] == 1


def test_resnet_graph_names_residual_and_bn():
    g = layer_graph(create_model("resnet18"), (1, 3, 224, 224))
    assert g.names[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert g["conv1"].bn == "bn1"
    assert g["layer2.0.downsample.0"].bn == "layer2.0.downsample.1"
    assert g["layer2.0.downsample.0"].kernel == (1, 1)
    assert g["fc"].bn is None and g["fc"].kind == "linear"
    assert g["conv1"].in_shape == (1, 3, 224, 224) and g["conv1"].out_shape == (1, 64, 112, 112)
    assert g["conv1"].macs == 64 * 112 * 112 * 3 * 7 * 7
    assert g["conv1"].in_fmap == 3 * 224 * 224


def test_mobilenet_graph_has_depthwise():
    g = layer_graph(create_model("mobilenet_v2"), (1, 3, 224, 224))
    kinds = {layer.kind for layer in g.layers}
    assert kinds == {"conv", "dwconv", "linear"}
    dw = next(layer for layer in g.layers if layer.kind == "dwconv")
    assert dw.groups == dw.in_channels == dw.out_channels
    assert dw.macs == dw.out_fmap * dw.kernel[0] * dw.kernel[1]


def test_user_model_with_grouped_conv_and_concat():
    g = layer_graph(grouped_concat(), (2, 1, 16, 16))
    assert g.names == ["stem", "branch_a", "branch_b", "merge", "head"]
    assert g["branch_a"].kind == "gconv" and g["branch_a"].groups == 4
    assert g["merge"].in_shape == (2, 32, 16, 16)
    assert g["stem"].bn == "bn"
    assert g["branch_a"].macs == 16 * 16 * 16 * 4 * 9  # per sample: out elems x (cin/groups) x k²


def test_untraceable_model_falls_back_to_hooks():
    g = layer_graph(data_dependent(), (1, 1, 8, 8))
    assert not g.traced
    assert g.names == ["conv", "fc"]
    assert g["conv"].bn == "bn"


def test_unsupported_modules_are_named_in_a_warning():
    with pytest.warns(UserWarning, match=r"norm \(LayerNorm\).*conv1d \(Conv1d\)"):
        g = layer_graph(with_unsupported(), (1, 1, 28, 28))
    assert g.unsupported == ["norm (LayerNorm)", "conv1d (Conv1d)"]
    assert g.names == ["conv", "fc"]


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(OhqError, match="cannot take an input of shape"):
        layer_graph(create_model("resnet18"), (1, 1, 28, 28))


def test_graph_leaves_training_mode_alone():
    model = small("small_cnn").train()
    layer_graph(model, (1, 1, 28, 28))
    assert model.training
    with torch.no_grad():
        assert torch.isfinite(model.eval()(torch.zeros(1, 1, 28, 28))).all()
