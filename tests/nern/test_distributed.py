"""Data-parallel fit under torchrun (2 CPU processes, gloo) equals the single-process step."""

import os
import sys

from frozenfit.common.checkpoint import load_checkpoint
from frozenfit.nern.fit import FitConfig, fit
from torchrun_helper import run_torchrun

ARGS = {"iterations": 1, "warmup": 0, "alpha": 1.0, "beta": 1.0, "lr": 0.05, "batch_size": 32, "kernel_batch": 512,
        "permutation": "none", "hidden": 16, "eval_every": 1, "checkpoint_every": 1}


def _predictor(run_dir):
    return load_checkpoint(run_dir / "state.safetensors").state["predictor"]



def test_two_rank_step_matches_single_process_on_the_same_global_batch(tmp_path, tiny_original):
    path, _ = tiny_original
    single = tmp_path / "single"
    fit(FitConfig(original=str(path), out_dir=str(single), progress=False, **ARGS))

    ddp = tmp_path / "ddp"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in ARGS.items()]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
           "-m", "frozenfit.cli", "nern", "fit", f"--original={path}", f"--out-dir={ddp}", "--no-progress", *flags]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = run_torchrun(cmd, env, 240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "data-parallel fit: 2 ranks (gloo), 16 images per rank" in proc.stdout

    half = tmp_path / "half"  # one process on half the batch: a different step
    fit(FitConfig(original=str(path), out_dir=str(half), progress=False, **{**ARGS, "batch_size": 16}))

    a, b, c = _predictor(single), _predictor(ddp), _predictor(half)
    ddp_diff = max((a[k] - b[k]).abs().max().item() for k in a)
    batch_diff = max((a[k] - c[k]).abs().max().item() for k in a)
    # Equal up to float summation order; a different batch moves the predictor far more.
    assert ddp_diff < 1e-6, ddp_diff
    assert batch_diff > 1000 * max(ddp_diff, 1e-9), (ddp_diff, batch_diff)
