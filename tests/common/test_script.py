"""The shared entry point: bad input ends a program with one line, never a traceback, and every
experiment and benchmark script goes through it."""

import subprocess
import sys
from pathlib import Path

import pytest

from frozenfit.common.script import INTERRUPTED, run_main
from frozenfit.errors import FrozenfitError

ROOT = Path(__file__).resolve().parents[2]
# helpers run by other scripts, not programs of their own (the step timer also runs an old commit's code)
NOT_PROGRAMS = {"nern_runs.py", "nern_step_timer.py"}


def test_error_is_one_line_and_status_2(capsys):
    def main():
        raise FrozenfitError("x.safetensors is not a frozenfit checkpoint")
    assert run_main(main) == 2
    err = capsys.readouterr().err
    assert err == "error: x.safetensors is not a frozenfit checkpoint\n"


def test_interrupt_says_how_to_resume(capsys):
    def main():
        raise KeyboardInterrupt
    assert run_main(main) == 130
    assert capsys.readouterr().err == INTERRUPTED + "\n"


def test_return_value_and_arguments_pass_through():
    assert run_main(lambda a, b: a + b, 2, 3) == 5
    assert run_main(lambda: None) == 0


def test_other_exceptions_are_not_hidden():
    def main():
        raise ValueError("a bug, not bad input")
    with pytest.raises(ValueError):
        run_main(main)


@pytest.mark.parametrize("folder", ["experiments", "benchmarks"])
def test_every_script_runs_through_the_entry_point(folder):
    missing = [p.name for p in sorted((ROOT / folder).glob("*.py"))
               if p.name not in NOT_PROGRAMS and "sys.exit(run_main(" not in p.read_text().split('if __name__ == "__main__":')[-1]]
    assert not missing, f"scripts without the shared entry point: {missing}"


def test_corrupt_checkpoint_given_to_a_script_is_one_line(tmp_path):
    bad = tmp_path / "bfm.safetensors"
    bad.write_bytes(b"not a checkpoint")
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / "bfm_ood.py"), "--bfm", str(bad), "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad} is not a frozenfit checkpoint"), r.stderr
