from frozenfit.cli import main


def test_usage_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for cmd in ("train-original", "fit", "eval", "export", "demo"):
        assert f"frozenfit nern {cmd}" in out


def test_unknown_command_exits_2(capsys):
    assert main(["nern", "bogus"]) == 2
    assert "unknown command 'bogus'" in capsys.readouterr().err


def test_missing_file_is_one_clear_line(capsys, tmp_path):
    assert main(["nern", "eval", "--artifact", str(tmp_path / "nope.nern")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no artifact at") and "Traceback" not in err


def test_wrong_checkpoint_kind_is_refused(capsys):
    from frozenfit.nern.original import SHIPPED_ORIGINAL
    assert main(["nern", "eval", "--artifact", str(SHIPPED_ORIGINAL)]) == 2
    assert "expected 'nern-artifact'" in capsys.readouterr().err


def test_shipped_original_is_self_describing():
    from frozenfit.nern.original import load_original
    model, cfg = load_original()
    assert cfg["model"] == "resnet20" and cfg["dataset"] == "digits" and cfg["test_acc"] > 98


def test_fit_export_eval_end_to_end(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["nern", "fit", "--hidden", "8", "--iterations", "4", "--eval-every", "2",
                 "--kernel-batch", "128", "--batch-size", "16", "--out-dir", str(run),
                 "--permutation", "in_filter", "--no-progress"]) == 0
    assert "reconstructed test" in capsys.readouterr().out
    out = tmp_path / "m.nern"
    assert main(["nern", "export", "--run-dir", str(run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out.stat().st_size} bytes" in printed and "permutation tables" in printed
    assert main(["nern", "eval", "--artifact", str(out)]) == 0
    assert "reconstructed_acc" in capsys.readouterr().out


def test_humanoid_and_teacher_commands_fail_cleanly(capsys, tmp_path):
    assert main(["humanoid", "render", "--recording", str(tmp_path / "none.npz"), "--out",
                 str(tmp_path / "x.gif")]) == 2
    assert "recording not found" in capsys.readouterr().err
    assert main(["teacher", "eval", "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["teacher", "train", "--run-dir", str(tmp_path / "r"), "--resume", "--no-progress"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_every_system_answers_help_and_an_unknown_system_says_so(capsys):
    for system in ("nern", "humanoid", "teacher", "bfm", "tasktokens"):
        assert main([system, "--help"]) == 0
        assert f"frozenfit {system} " in capsys.readouterr().out
    assert main(["foo"]) == 2
    assert "unknown system 'foo'" in capsys.readouterr().err


def test_exports_refuse_the_shipped_assets_unless_asked(tmp_path, capsys):
    from frozenfit.common.assets import ASSETS, export_target
    assert export_target(None, tmp_path / "runs" / "x.safetensors", ASSETS / "x.safetensors", False) == \
        tmp_path / "runs" / "x.safetensors"
    assert export_target(None, "runs/x", ASSETS / "x.safetensors", True) == ASSETS / "x.safetensors"
    for system, shipped in (("teacher", "teacher.safetensors"), ("bfm", "bfm.safetensors"),
                            ("tasktokens", "tasktokens/direction.safetensors")):
        before = (ASSETS / shipped).read_bytes()
        assert main([system, "export", "--run-checkpoint", str(tmp_path / "none.safetensors"),
                     "--out", str(ASSETS / shipped)]) == 2
        assert "inside the package's shipped assets" in capsys.readouterr().err
        assert (ASSETS / shipped).read_bytes() == before


def test_task_and_method_options_list_their_values_and_bad_numbers_are_one_line(capsys):
    import pytest
    with pytest.raises(SystemExit):
        main(["tasktokens", "train", "--help"])
    out = capsys.readouterr().out
    assert "direction,steering,reach" in out and "task_tokens,task_tokens_prior" in out
    assert "Intra-op threads of torch" in out and "Show a progress bar" in out
    for args, msg in ((["tasktokens", "eval", "--eval.episodes", "0"], "--eval.episodes must be positive"),
                      (["tasktokens", "train", "--eval-episodes", "-5"], "--eval-episodes must be positive"),
                      (["teacher", "render", "--seconds", "0"], "--seconds must be positive"),
                      (["humanoid", "render", "--width", "0"], "--width must be positive"),
                      (["tasktokens", "render", "--frame-every", "0"], "--frame-every must be positive"),
                      (["bfm", "play", "--seconds", "0"], "--seconds must be positive"),
                      (["nern", "fit", "--iterations", "0"], "--iterations must be positive"),
                      (["nern", "fit", "--hidden", "-4"], "--hidden must be positive")):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err


def test_nern_eval_without_artifact_names_the_ones_there(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["nern", "eval", "--artifact", "runs/nern/best.nern"]) == 2
    assert "`frozenfit nern fit` writes one" in capsys.readouterr().err
    (tmp_path / "runs" / "nern-demo").mkdir(parents=True)
    (tmp_path / "runs" / "nern-demo" / "best.nern").write_bytes(b"")
    assert main(["nern", "eval", "--artifact", "runs/nern/best.nern"]) == 2
    assert "runs/nern-demo/best.nern" in capsys.readouterr().err
