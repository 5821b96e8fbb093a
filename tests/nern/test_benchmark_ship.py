"""experiments/nern_benchmark.py --ship: a finished original goes into the assets with portable paths."""

import pytest
import torch
from experiment_helper import experiment


def test_ship_copies_a_finished_original_with_paths_relative_to_the_repository(tmp_path, monkeypatch):
    from frozenfit.common.results import check_portable
    from frozenfit.nern.original import TrainOriginalConfig, load_original, save_original, train_original

    trained = tmp_path / "resnet20_digits.safetensors"
    train_original(TrainOriginalConfig(epochs=1, out=str(trained), threads=1))
    model, meta = load_original(trained)
    # a file written before the portable-path fix: its training config names this machine's folder
    save_original(trained, model, {**meta, "train_config": {**meta["train_config"], "out": str(trained)}})
    with experiment("nern_benchmark") as m:
        monkeypatch.setattr(m, "ASSETS", tmp_path / "assets")
        (tmp_path / "assets").mkdir()
        with pytest.raises(SystemExit, match="has not finished its 30 epochs"):
            m.ship(trained, 30)
        with pytest.raises(SystemExit, match="is missing"):
            m.ship(tmp_path / "nothing.safetensors", 1)
        m.ship(trained, 1)
    shipped, smeta = load_original(tmp_path / "assets" / trained.name)
    check_portable(smeta)
    assert smeta["train_config"]["out"] == trained.name and smeta["test_acc"] == meta["test_acc"]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), shipped.state_dict().values()))


@pytest.mark.parametrize("model", ["resnet20", "resnet56"])
def test_the_shipped_shapes32_original_is_the_one_benchmark_json_measured(model):
    """frozenfit/assets/<model>_shapes32.safetensors is the network results/nern/benchmark.json
    reports: same test accuracy, same parameter count, its 30 epochs finished."""
    import json
    from pathlib import Path

    from frozenfit.nern.original import load_original

    root = Path(__file__).resolve().parents[2]
    rec = json.loads((root / "results" / "nern" / "benchmark.json").read_text())["models"][model]
    net, meta = load_original(root / "frozenfit" / "assets" / f"{model}_shapes32.safetensors")
    assert meta["test_acc"] == pytest.approx(rec["test_acc"], abs=0.005)
    assert sum(p.numel() for p in net.parameters()) == rec["params"]
    assert meta["train_config"]["dataset"] == "shapes32" and meta["train_config"]["epochs"] == rec["epochs"]
