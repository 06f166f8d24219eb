"""C headers + the C reference layer: compiled with gcc, bit-exact against ohq's integer engine."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch
from conftest import MNIST_SHAPE, needs_mnist_cnn

from ohq.export import export
from ohq.quant.layers import QuantLayer

pytestmark = [needs_mnist_cnn, pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")]

MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ohq_model.h"
int main(int argc, char **argv) {
    const ohq_layer_t *L = &LAYER;
    long n_in = (long)L->cin * L->h * L->w, n_out = (long)L->cout * L->oh * L->ow;
    int32_t *in = malloc(sizeof(int32_t) * n_in), *out = malloc(sizeof(int32_t) * n_out);
    FILE *f = fopen(argv[1], "rb");
    if (fread(in, sizeof(int32_t), n_in, f) != (size_t)n_in) return 3;
    fclose(f);
    ohq_layer_run(L, in, out);
    f = fopen(argv[2], "wb");
    fwrite(out, sizeof(int32_t), n_out, f);
    fclose(f);
    (void)argc;
    return 0;
}
"""


def _input_codes(qmodel, name: str, x: torch.Tensor) -> torch.Tensor:
    """The codes a layer reads (its `src` quantizer), captured from the fake-quant model."""
    from ohq.quant.dyadic import recover

    layer = qmodel.layers[name]
    seen = {}
    hook = layer.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
    with torch.no_grad():
        qmodel(x)
    hook.remove()
    return recover(seen["x"], layer.src)


@pytest.mark.parametrize("name", ["features.1.0", "features.2.0"])
def test_c_reference_layer_is_bit_exact(q48, mnist, tmp_path, name):
    out = tmp_path / "c"
    export(q48, "c", out, input_shape=MNIST_SHAPE)
    ident = name.replace(".", "_")
    (out / "main.c").write_text(MAIN.replace("LAYER", ident))
    exe = tmp_path / "run"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(exe), str(out / "main.c"), str(out / "ohq_layer.c")],
                   check=True, cwd=out)
    layer: QuantLayer = q48.layers[name]
    q_in = _input_codes(q48, name, mnist[1].x[:1])
    assert layer.src == layer.inp  # no input rescale for these layers
    want = torch.relu(layer.forward_int(q_in).to(torch.int64) - layer.out.zero) + layer.out.zero  # + ReLU
    q_in.numpy().astype(np.int32).tofile(tmp_path / "in.bin")
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    got = np.fromfile(tmp_path / "out.bin", dtype=np.int32).reshape(tuple(want.shape))
    assert np.array_equal(got, want.numpy().astype(np.int32))


def test_headers_hold_every_layer(q8, tmp_path):
    facts = export(q8, "c", tmp_path / "c", input_shape=MNIST_SHAPE)
    assert {"ohq_layer.c", "ohq_layer.h", "ohq_model.h", "fc.h"} <= set(facts["files"])
    fc = (tmp_path / "c" / "fc.h").read_text()
    assert "static const int8_t fc_weight[640]" in fc and "fc_deq_scale" in fc
    conv = (tmp_path / "c" / "features_0_0.h").read_text()
    assert "features_0_0_mult[16]" in conv and "#define FEATURES_0_0_SHIFT" in conv
