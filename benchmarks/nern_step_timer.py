"""Times NeRN fit iterations of whichever frozenfit is first on PYTHONPATH; prints one JSON line.

`nern_throughput.py` runs it once per round for today's code and for an older commit exported
into a scratch folder, so both are timed on one machine in one run, interleaved. It uses only
the API both sides share (``train_step``, ``NeRNRepresentation``, ``MagnitudeSampler``, Ranger).
The setting is issue 26's side-by-side with the reference: a randomly initialised CIFAR ResNet-20
(3x32x32), predictor hidden size 180, image batch 256, 4,096 kernels with gradients, joint loss.

    PYTHONPATH=<code> python benchmarks/nern_step_timer.py --steps 8 [--precision bf16]
"""

from __future__ import annotations

import argparse
import inspect
import json
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=180)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--kernel-batch", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if min(a.depth, a.hidden, a.batch, a.kernel_batch, a.steps, a.threads) <= 0:
        ap.error("every number must be positive")
    import frozenfit
    from frozenfit.nern.fit import train_step
    from frozenfit.nern.layers import discover_convs
    from frozenfit.nern.models import CifarResNet, default_fmd_modules
    from frozenfit.nern.ranger import Ranger
    from frozenfit.nern.representation import NeRNRepresentation
    from frozenfit.nern.sampling import MagnitudeSampler

    torch.set_num_threads(a.threads)
    extra = {}
    if a.precision != "fp32":
        if "precision" not in inspect.signature(train_step).parameters:
            raise SystemExit("this frozenfit has no precision option")
        extra["precision"] = a.precision
    torch.manual_seed(0)
    model = CifarResNet(a.depth, 10, 3).eval()
    x = torch.randn(a.batch, 3, 32, 32)
    rep = NeRNRepresentation(model, discover_convs(model, x[:1]), a.hidden, 3, "none")
    opt = Ranger(rep.predictor.parameters(), lr=1e-3)
    sampler = MagnitudeSampler(rep.table.norms, a.kernel_batch, 0.2, torch.Generator().manual_seed(0))
    names = default_fmd_modules(model)
    for _ in range(2):   # untimed: allocator and oneDNN kernel selection warm up
        train_step(rep, opt, sampler.sample(), x, 1e-4, 1e-4, names, **extra)
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        train_step(rep, opt, sampler.sample(), x, 1e-4, 1e-4, names, **extra)
        times.append(time.perf_counter() - t)
    print(json.dumps({"s_per_it": times, "code": frozenfit.__file__}))


if __name__ == "__main__":
    main()
