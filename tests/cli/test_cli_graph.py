from clitools import assert_one_line_error, run_cli, run_json


def test_graph_json_document():
    doc = run_json("graph", "--model", "resnet18")
    assert set(doc) == {"model", "input", "layers", "total"}
    assert doc["input"] == [1, 3, 224, 224]
    assert set(doc["total"]) == {"params", "macs", "layers", "model_params"}
    assert doc["total"]["model_params"] == 11_689_512
    assert abs(doc["total"]["macs"] / 1.814e9 - 1) < 0.02
    first = doc["layers"][0]
    keys = {"name", "kind", "in_shape", "out_shape", "kernel", "stride", "padding", "groups", "params", "macs"}
    assert keys <= set(first)
    assert first["name"] == "conv1" and first["kernel"] == [7, 7]


def test_graph_table_for_a_shipped_model_needs_no_input():
    out = run_cli("graph", "--model", "digits_cnn").stdout
    assert "features.0.conv" in out or "features.0" in out
    assert "layers" in out


def test_graph_of_a_user_model_with_input():
    doc = run_json("graph", "--model", "tests/user_models.py:grouped_concat", "--input", "1,1,16,16")
    assert [layer["kind"] for layer in doc["layers"]] == ["conv", "gconv", "conv", "conv", "linear"]


def test_graph_warns_about_unsupported_modules():
    proc = run_cli("graph", "--model", "tests/user_models.py:with_unsupported", "--input", "1,1,28,28")
    assert "conv1d (Conv1d)" in proc.stderr


def test_graph_errors_are_one_line():
    assert_one_line_error(run_cli("graph", "--model", "nope", expect=2), "unknown model 'nope'")
    assert_one_line_error(
        run_cli("graph", "--model", "resnet18", "--input", "1,1,28,28", expect=2), "cannot take an input"
    )
    assert_one_line_error(run_cli("graph", "--model", "resnet18", "--input", "1,x", expect=2), "--input")
