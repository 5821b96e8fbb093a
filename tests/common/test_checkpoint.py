from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError


def _opt_state():
    p = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    return opt.state_dict()


def test_round_trip_with_nested_state(tmp_path: Path):
    state = {"opt": _opt_state(), "iteration": 7, "pair": (1, "a"), "gen": torch.Generator().get_state()}
    tensors = {"w": torch.randn(4, 5), "b": torch.arange(3)}
    path = save_checkpoint(tmp_path / "c.safetensors", "demo", 3, {"h": 4}, tensors, state=state,
                           extra={"note": "x"})
    ck = load_checkpoint(path, kind="demo", format_version=3, required={"w": (4, 5)})
    assert ck.config == {"h": 4} and ck.extra == {"note": "x"}
    assert set(ck.tensors) == {"w", "b"}
    assert torch.equal(ck.tensors["w"], tensors["w"])
    assert ck.state["iteration"] == 7 and ck.state["pair"] == (1, "a")
    assert torch.equal(ck.state["gen"], state["gen"])
    o1, o2 = state["opt"], ck.state["opt"]
    assert o2["param_groups"][0]["lr"] == o1["param_groups"][0]["lr"]
    assert torch.equal(o2["state"][0]["exp_avg"], o1["state"][0]["exp_avg"])
    # the restored optimizer state loads into a fresh optimizer
    p = torch.nn.Parameter(torch.randn(3, 2))
    torch.optim.Adam([p], lr=0.1).load_state_dict(o2)


def test_atomic_write_leaves_no_temp_files(tmp_path: Path):
    for i in range(3):
        save_checkpoint(tmp_path / "c.safetensors", "k", 1, {"i": i}, {"x": torch.ones(2)})
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]
    assert load_checkpoint(tmp_path / "c.safetensors").config == {"i": 2}


def test_failed_write_keeps_previous_checkpoint(tmp_path: Path):
    path = save_checkpoint(tmp_path / "c.safetensors", "k", 1, {"i": 1}, {"x": torch.ones(2)})
    with pytest.raises(TypeError):
        save_checkpoint(path, "k", 1, {"i": 2}, {"x": torch.ones(2)}, state={"bad": object()})
    assert load_checkpoint(path).config == {"i": 1}
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("content,match", [
    (None, "not found"),
    (b"", "not a frozenfit checkpoint"),
    (b"garbage that is not safetensors at all", "not a frozenfit checkpoint"),
])
def test_loader_rejects_bad_files(tmp_path: Path, content, match):
    path = tmp_path / "bad.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FrozenfitError, match=match):
        load_checkpoint(path)


def test_loader_rejects_foreign_safetensors(tmp_path: Path):
    save_file({"x": torch.ones(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(FrozenfitError, match="not a frozenfit checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors")


def test_loader_rejects_wrong_kind_version_and_shapes(tmp_path: Path):
    path = save_checkpoint(tmp_path / "c.safetensors", "teacher", 2, {}, {"w": torch.ones(2, 3)})
    with pytest.raises(FrozenfitError, match="'teacher' checkpoint, expected 'bfm'"):
        load_checkpoint(path, kind="bfm")
    with pytest.raises(FrozenfitError, match="format version 2"):
        load_checkpoint(path, kind="teacher", format_version=1)
    with pytest.raises(FrozenfitError, match="missing tensor 'b'"):
        load_checkpoint(path, required={"b": (1,)})
    with pytest.raises(FrozenfitError, match=r"shape \(2, 3\), expected \(3, 2\)"):
        load_checkpoint(path, required={"w": (3, 2)})


def test_truncated_file_is_a_clear_error(tmp_path: Path):
    path = save_checkpoint(tmp_path / "c.safetensors", "k", 1, {}, {"w": torch.randn(100, 100)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FrozenfitError):
        load_checkpoint(path)


def test_shipped_checkpoints_name_no_folder_of_the_machine_that_made_them():
    """Every file under frozenfit/assets is read on other machines: its config and extra hold no
    absolute path of this one (the shipped BFM named its teacher by /work/... before)."""
    from pathlib import Path

    from frozenfit.common.checkpoint import load_checkpoint
    from frozenfit.common.results import check_portable

    files = sorted((Path(__file__).resolve().parents[2] / "frozenfit" / "assets").rglob("*.safetensors"))
    assert len(files) >= 3
    for f in files:
        c = load_checkpoint(f)
        check_portable({"config": c.config, "extra": c.extra}, f.name)
