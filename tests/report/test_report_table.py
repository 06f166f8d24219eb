import csv

from report_fixtures import make_result

from ohq.report import layer_columns, write_layers_csv


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_csv_columns_and_rows(result, tmp_path):
    path = write_layers_csv(result, tmp_path / "layers.csv")
    assert path == tmp_path / "layers.csv"
    rows = read(path)
    assert len(rows) == len(result.layers)
    header = list(rows[0])
    assert header == layer_columns((4, 8))
    assert header[:9] == ["name", "kind", "params", "macs", "sensitivity", "omega", "bits",
                          "scheme", "masked_top1"]
    for b in (4, 8):
        for key in ("size_mib", "latency_ms", "energy_mj", "cycles_compute", "cycles_transfer",
                    "cycles_writeback", "cycles_postprocess", "cycles_total", "bram18k"):
            assert f"{key}_{b}" in header
    assert [r["name"] for r in rows] == [layer.name for layer in result.layers]


def test_csv_values_round_trip(result, tmp_path):
    rows = read(write_layers_csv(result, tmp_path / "layers.csv"))
    for row, layer in zip(rows, result.layers, strict=True):
        assert int(row["bits"]) == layer.bits
        assert float(row["sensitivity"]) == layer.sensitivity
        assert int(row["cycles_total_8"]) == layer.cycles_by_bits[8]["total"]
        assert float(row["energy_mj_4"]) == layer.energy_mj_by_bits[4]
        assert float(row["masked_top1"]) == layer.masked_top1


def test_csv_unmeasured_is_empty(tmp_path):
    rows = read(write_layers_csv(make_result(masked=False), tmp_path / "layers.csv"))
    assert all(r["masked_top1"] == "" for r in rows)


def test_csv_atomic_leaves_no_temp_files(result, tmp_path):
    write_layers_csv(result, tmp_path / "layers.csv")
    write_layers_csv(result, tmp_path / "layers.csv")  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers.csv"]
