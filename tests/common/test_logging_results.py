import json
from pathlib import Path

from frozenfit.common.logging import RunLogger, read_csv_log
from frozenfit.common.results import markdown_table_in, sync_markdown_table, write_result


def test_csv_logger_widens_header_and_resumes(tmp_path: Path):
    log = RunLogger(tmp_path, tensorboard=False)
    log.log(1, loss=0.5)
    log.log(2, loss=0.4, val_acc=90.0)
    log.close()
    log = RunLogger(tmp_path, tensorboard=False)  # a resumed run appends
    log.log(3, loss=0.3)
    rows = read_csv_log(tmp_path / "log.csv")
    assert rows == [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.4, "val_acc": 90.0},
                    {"step": 3, "loss": 0.3}]


def test_tensorboard_events_written(tmp_path: Path):
    log = RunLogger(tmp_path)
    log.log(1, loss=1.0)
    log.close()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_result_has_provenance(tmp_path: Path):
    path = write_result(tmp_path / "r.json", {"x": 1}, wall_s=1.234)
    data = json.loads(path.read_text())
    assert data["x"] == 1 and data["wall_s"] == 1.23
    for key in ("command", "commit", "machine"):
        assert isinstance(data[key], str) and data[key]


def test_commit_is_dirty_for_code_changes_but_not_for_results_or_prose(tmp_path):
    import subprocess
    from frozenfit.common.results import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "results").mkdir()
    (tmp_path / "runs").mkdir()
    for name in ("code.py", "README.md", "results/r.json", "runs/checkpoint.bin"):
        (tmp_path / name).write_text("0\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    sha = git_commit(tmp_path)
    assert len(sha) == 40
    (tmp_path / "results" / "r.json").write_text("1\n")
    (tmp_path / "README.md").write_text("1\n")
    (tmp_path / "runs" / "checkpoint.bin").write_text("1\n")      # a long run's committed checkpoint moving on
    assert git_commit(tmp_path) == sha
    (tmp_path / "code.py").write_text("1\n")
    assert git_commit(tmp_path) == sha + "-dirty"


def test_sync_markdown_table_replaces_only_the_matching_table(tmp_path: Path):
    doc = tmp_path / "README.md"
    doc.write_text("# t\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n\n| x |\n|---|\n| 9 |\n")
    new = "| a | b |\n|---|---|\n| 3 | 4 |\n| 5 | 6 |\n"
    assert sync_markdown_table(doc, new)
    text = doc.read_text()
    assert markdown_table_in(text, "| a | b |") == new
    assert text.startswith("# t\n\n") and text.endswith("\n\nafter\n\n| x |\n|---|\n| 9 |\n")
    assert not sync_markdown_table(doc, "| c |\n|---|\n| 0 |\n")  # no such table: untouched
    assert doc.read_text() == text


def test_a_resumed_logger_drops_rows_past_the_checkpoint(tmp_path):
    from frozenfit.common.logging import RunLogger, read_csv_log

    log = RunLogger(tmp_path, tensorboard=False)
    for step in (10, 20, 30):          # the run was killed after logging 30; its checkpoint is at 20
        log.log(step, loss=step / 10)
    log.close()
    log = RunLogger(tmp_path, tensorboard=False, resume_from=20)
    log.log(30, loss=9.0)
    log.close()
    assert [(r["step"], r["loss"]) for r in read_csv_log(tmp_path / "log.csv")] == [(10, 1.0), (20, 2.0), (30, 9.0)]


def test_results_refuse_absolute_machine_paths(tmp_path):
    import pytest

    from frozenfit.common.results import portable_path, write_result

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(ValueError, match="absolute machine path"):
        write_result(tmp_path / "r.json", {"file": str(root / "frozenfit" / "assets" / "teacher.safetensors")})
    with pytest.raises(ValueError, match="absolute machine path"):
        write_result(tmp_path / "r.json", {"runs": [{"file": "/tmp/x.safetensors"}]})
    assert portable_path(root / "frozenfit" / "assets" / "teacher.safetensors") == "frozenfit/assets/teacher.safetensors"
    assert portable_path("/somewhere/else/teacher_40M.safetensors") == "teacher_40M.safetensors"
    write_result(tmp_path / "r.json", {"file": portable_path(root / "README.md")})


def test_the_recorded_command_names_scripts_from_the_repository_root(monkeypatch):
    import sys
    from pathlib import Path
    from frozenfit.common.results import current_command
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root / "experiments")
    monkeypatch.setattr(sys, "argv", ["motion_realism.py", "--episodes", "4", str(root / "results")])
    assert current_command() == "python experiments/motion_realism.py --episodes 4 results"
