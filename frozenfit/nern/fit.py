"""Fit a NeRN predictor to a frozen CNN: reconstruction + feature-map + output distillation.

Per iteration: draw a kernel subset (magnitude-oriented batching) and predict it with gradients;
predict every other kernel without gradients; swap all predictions into a functional forward of
the frozen original; loss = RMSE(subset) + α·FMD + β·KL; Ranger step; cosine LR per iteration.
Model selection uses the held-out validation split (never the test split). Training state is
checkpointed atomically every ``checkpoint_every`` iterations and ``--resume`` continues it.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import torch
from torch import nn
from tqdm import tqdm

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.common.checks import check_numbers
from frozenfit.common.logging import RunLogger, read_csv_log
from frozenfit.common.seeding import seed_everything
from frozenfit.common.timing import PhaseTimer, phase
from frozenfit.errors import FrozenfitError
from frozenfit.nern.artifact import export_artifact, load_artifact, size_warning
from frozenfit.nern.data import DataSplits, InfiniteLoader, load_data, noise_batch
from frozenfit.common.distributed import Shard, average_gradients, barrier, init_from_env, split_batch
from frozenfit.nern.layers import KernelTable, discover_convs
from frozenfit.nern.losses import feature_map_distillation, kl_distillation, reconstruction_rmse
from frozenfit.nern.models import DISTILL_DEFAULTS, FeatureMaps, default_fmd_modules
from frozenfit.nern.original import accuracy, load_original
from frozenfit.nern.permutation import Mode
from frozenfit.nern.ranger import Ranger, cosine_lr
from frozenfit.nern.representation import NeRNRepresentation, load_permutations, save_permutations
from frozenfit.nern.sampling import MagnitudeSampler

STATE_KIND = "nern-fit-state"


@dataclass
class FitConfig:
    """Fit NeRN to a trained CNN (defaults: the shipped ResNet-20 on the embedded digits)."""
    ZERO_OK: ClassVar[tuple[str, ...]] = ("kernel_size", "alpha", "beta", "warmup", "weight_decay", "min_lr")  # see common.checks
    FRACTIONS: ClassVar[tuple[str, ...]] = ("betas", "lookahead_alpha")  # see common.checks

    original: str | None = None
    """Original CNN checkpoint (default: the shipped ResNet-20 trained on digits)."""
    data_root: str | None = None
    """Dataset folder, for originals trained on CIFAR or an image folder."""
    hidden: int = 160
    """Predictor width h (parameters 3h² + 253h + 9)."""
    kernel_size: int = 0
    """Predictor output k×k (0 = the largest square kernel of the network's ungrouped convs)."""
    permutation: Mode = "cross_filter"
    iterations: int = 3000
    batch_size: int = 256
    """Images per distillation step."""
    kernel_batch: int = 4096
    """Kernels receiving gradients per step (65536 for ImageNet in the paper)."""
    p_magnitude: float = 0.2
    """Probability that a step's kernel subset is drawn ∝ kernel norm instead of uniformly."""
    alpha: float | None = None
    """Feature-map distillation weight (None = the paper's per-model value)."""
    beta: float | None = None
    """KL distillation weight (None = the paper's per-model value)."""
    warmup: int | None = None
    """Reconstruction-only iterations before distillation starts (None = per-model default)."""
    schedule: Literal["joint", "decoupled"] = "joint"
    """After the warm-up: "joint" = reconstruction + α·FMD + β·KL; "decoupled" = α·FMD + β·KL only."""
    kd_grad: Literal["subset", "all"] = "subset"
    """Distillation gradients through the sampled kernels only, or through every kernel (slower)."""
    feature_maps: FeatureMaps = "block"
    """Maps distilled per residual block: "block" = (bn1, bn2, post-addition sum); "reference" =
    (bn1, sum, sum), what the reference code's in-place addition makes it distil."""
    data_free: bool = False
    """Distil on random-noise images instead of training data."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """The CNN passes of distillation in fp32, or under bfloat16 autocast (CPUs with AMX or
    AVX-512-BF16); the predictor and every loss stay fp32."""
    lr: float = 5e-3
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 1e-3
    lookahead_k: int = 6
    lookahead_alpha: float = 0.5
    min_lr: float = 1e-6
    eval_every: int = 250
    checkpoint_every: int = 250
    out_dir: str = "runs/nern"
    resume: bool = False
    seed: int = 0
    keep_unsupported: bool = False
    """Copy unsupported convs (grouped, too large) verbatim instead of refusing."""
    threads: int = 0
    progress: bool = True

    def __post_init__(self):
        check_numbers(self)   # the Python API gets the command line's checks


@dataclass
class FitResult:
    """What a fit produced, for reports and results files."""

    original_val_acc: float
    original_test_acc: float
    reconstructed_val_acc: float
    reconstructed_test_acc: float
    final_test_acc: float
    best_iteration: int
    iterations: int
    predictor_params: int
    represented_params: int
    artifact_bytes: int
    original_bytes: int
    permutation_s: float
    wall_s: float
    artifact: str
    history: list[dict[str, float]] = field(default_factory=list)
    """Evaluation rows: step, val_acc, rmse_all."""


def _capture(model: nn.Module, names: list[str], store: list[torch.Tensor]):
    return [model.get_submodule(n).register_forward_hook(lambda m, i, o: store.append(o)) for n in names]


def forward_with_maps(model: nn.Module, names: list[str], x: torch.Tensor,
                      params: dict[str, torch.Tensor] | None = None):
    """Logits and the feature maps of ``names`` (forward hooks), optionally with swapped weights.
    Images go in channels-last (NHWC), the layout oneDNN's CPU convolutions run fastest in; the
    maps and logits are the same up to float rounding."""
    if x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    store: list[torch.Tensor] = []
    handles = _capture(model, names, store)
    try:
        logits = model(x) if params is None else torch.func.functional_call(model, params, (x,))
    finally:
        for h in handles:
            h.remove()
    return logits, store


def nern_losses(rep: NeRNRepresentation, idx: torch.Tensor, x: torch.Tensor | None, alpha: float,
                beta: float, fmd_names: list[str], kd_grad: str = "subset", reconstruct: bool = True,
                timer: PhaseTimer | None = None, shard: Shard = Shard(), precision: str = "fp32",
                rmse_all: float | None = None):
    """(total, rmse, fmd, kl) for one step; distillation terms only when images ``x`` are given.

    Every kernel is predicted; those in ``idx`` carry gradients (all of them if ``kd_grad`` is
    "all"). The reconstruction term is the RMSE over *all* represented weights (the spec's and the
    reference's loss), its gradient reaching the predictor through the kernels that carry one; an
    RMSE over the sampled kernels alone has a gradient larger by about all/sampled (7.9x on
    ResNet-20 at 4,096), which would shrink the distillation weights alpha and beta by as much.
    The predictions are swapped into a functional forward of the frozen original, so FMD and KL
    gradients reach the predictor. ``reconstruct=False`` drops the reconstruction term from the
    total (the distillation phase of the decoupled schedule); it is still reported.
    ``precision="bf16"`` runs the two CNN passes (and their backward) under CPU bfloat16 autocast;
    the predictor, the reconstruction term and the distillation losses stay fp32.

    A reconstruction-only step (no ``x``) given ``rmse_all``, a current value of the RMSE over all
    weights, skips predicting the kernels without gradient: the gradient of the RMSE over all
    weights is that of the sampled squared errors divided by 2·N·RMSE_all, so the surrogate
    SE_sampled / (2·N·rmse_all) has exactly that gradient when ``rmse_all`` is current (`fit`
    refreshes it every RMSE_REFRESH steps; between refreshes only a slowly drifting scalar differs,
    which Ranger's normalised, decoupled-decay updates absorb). The rmse returned is then the
    sampled kernels'.
    """
    if x is None and rmse_all is not None and kd_grad != "all":
        with phase(timer, "predict_subset"):
            t, m = rep.table.targets[idx], rep.table.masks[idx]
            se = ((rep.predictor(rep.encoded[idx]) - t).square() * m).sum()
            surrogate = se / (2 * rep.table.num_weights * rmse_all)
        sampled = (se.detach() / m.sum().clamp_min(1)).sqrt()
        zero = torch.zeros(())
        return surrogate, sampled, zero, zero
    with phase(timer, "predict_subset"):
        pred_sub = None if kd_grad == "all" else rep.predictor(rep.encoded[idx])
    with phase(timer, "predict_rest"):
        rows = rep.predict_rows(grad=True) if pred_sub is None else rep.predict_rows_with(idx, pred_sub, shard)
        rec = reconstruction_rmse(rows, rep.table.targets, rep.table.masks)
    zero = torch.zeros(())
    if x is None:
        return rec, rec, zero, zero
    params = rep.table.assemble(rows)
    bf16 = precision == "bf16"
    with phase(timer, "original_forward"), torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        z_o, maps_o = forward_with_maps(rep.cnn, fmd_names, x)
    with phase(timer, "reconstructed_forward"):
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            z_r, maps_r = forward_with_maps(rep.cnn, fmd_names, x, params)
        fmd = feature_map_distillation([m.float() for m in maps_o], [m.float() for m in maps_r])
        kl = kl_distillation(z_o.float(), z_r.float())
    total = alpha * fmd + beta * kl
    return (rec + total if reconstruct else total), rec, fmd, kl


def train_step(rep: NeRNRepresentation, opt: torch.optim.Optimizer, idx: torch.Tensor,
               x: torch.Tensor | None, alpha: float, beta: float, fmd_names: list[str],
               kd_grad: str = "subset", reconstruct: bool = True, timer: PhaseTimer | None = None,
               shard: Shard = Shard(), precision: str = "fp32", rmse_all: float | None = None):
    """One optimisation step of the predictor; returns (total, rmse, fmd, kl) before the step.

    ``x`` is this rank's slice of the image batch; with several ranks the returned losses are
    the means over ranks and the gradient is all-reduced before the step. Raises
    ``FrozenfitError`` on a non-finite loss before touching the weights."""
    loss, rec, fmd, kl = nern_losses(rep, idx, x, alpha, beta, fmd_names, kd_grad, reconstruct, timer, shard,
                                     precision, rmse_all)
    if shard.world > 1:  # every rank sees the same (mean) losses, so all of them stop on a NaN
        means = torch.stack([loss.detach(), rec.detach(), fmd.detach(), kl.detach()])
        torch.distributed.all_reduce(means)
        loss_grad, (loss, rec, fmd, kl) = loss, (means / shard.world).unbind()
    else:
        loss_grad = loss
    if not torch.isfinite(loss):
        raise FrozenfitError(f"NeRN loss became {loss.item()} (rmse={rec.item()}, fmd={fmd.item()}, "
                             f"kl={kl.item()})")
    with phase(timer, "backward"):
        opt.zero_grad()
        loss_grad.backward()
    with phase(timer, "optimizer"):
        average_gradients(list(rep.predictor.parameters()), shard)
        opt.step()
    return loss, rec, fmd, kl


RMSE_REFRESH = 25   # reconstruction-only steps between two measurements of the all-weights RMSE


def predictor_kernel_size(model: nn.Module, requested: int = 0) -> int:
    """The predictor's k×k output: ``requested``, else the largest square kernel of the convs it
    can represent (ungrouped), so a 5×5 network gets 5×5 outputs and a ResNet with a 7×7 stem 7×7."""
    sizes = [m.kernel_size[0] for m in model.modules()
             if isinstance(m, nn.Conv2d) and m.groups == 1 and m.kernel_size[0] == m.kernel_size[1]]
    return requested or max(sizes, default=3)


def _config_fingerprint(cfg: FitConfig) -> str:
    keys = ("original", "hidden", "kernel_size", "permutation", "iterations", "batch_size",
            "kernel_batch", "alpha", "beta", "warmup", "schedule", "kd_grad", "data_free", "seed",
            "feature_maps", "precision")
    return json.dumps({k: getattr(cfg, k) for k in keys}, sort_keys=True, default=str)


def fit(cfg: FitConfig, model: nn.Module | None = None, data: DataSplits | None = None,
        model_config: dict | None = None) -> FitResult:
    """Run a NeRN fit; pass ``model``/``data`` to represent a custom module instead of a checkpoint."""
    t_start = time.time()
    shard = init_from_env()  # rank 0 of 1 unless launched by torchrun
    if cfg.threads or shard.world > 1:
        torch.set_num_threads(cfg.threads or max(1, torch.get_num_threads() // shard.world))
    if cfg.batch_size % shard.world:
        raise FrozenfitError(f"--batch-size {cfg.batch_size} must be divisible by the {shard.world} ranks")
    show = cfg.progress and shard.is_main
    if shard.world > 1 and shard.is_main:
        print(f"data-parallel fit: {shard.world} ranks (gloo), {cfg.batch_size // shard.world} images "
              f"per rank per step, {torch.get_num_threads()} threads each")
    gen = seed_everything(cfg.seed)
    if model is None:
        model, model_config = load_original(cfg.original)
    model_config = dict(model_config or {})
    model.eval()
    if data is None:
        if "dataset" not in model_config:
            raise FrozenfitError("pass data=DataSplits(...) when fitting a custom model")
        data = load_data(model_config["dataset"], cfg.data_root)
    example = data.val[0][0][None]
    ksize = predictor_kernel_size(model, cfg.kernel_size)
    layers = discover_convs(model, example, max_kernel=ksize, keep_unsupported=cfg.keep_unsupported)
    alpha_d, warm_d = DISTILL_DEFAULTS.get(model_config.get("model", ""), (1e-4, 0))
    alpha = alpha_d if cfg.alpha is None else cfg.alpha
    beta = alpha_d if cfg.beta is None else cfg.beta
    warmup = warm_d if cfg.warmup is None else cfg.warmup

    out = Path(cfg.out_dir)
    if shard.is_main:
        out.mkdir(parents=True, exist_ok=True)
    state_path, perm_path = out / "state.safetensors", out / "permutation.safetensors"

    # Permutations are deterministic but slow on big layers: computed once per run dir, reused
    # on --resume and by `export`.
    table = KernelTable(layers, dict(model.named_parameters()), ksize)
    if not shard.is_main:  # rank 0 computes (or finds) the permutations, the others read them
        barrier(shard)
    perms = load_permutations(perm_path, table, cfg.permutation)
    if perms is None:
        t_perm = time.time()
        rep = NeRNRepresentation(model, layers, cfg.hidden, ksize, cfg.permutation, progress=show,
                                 table=table)
        permutation_s = time.time() - t_perm
        save_permutations(perm_path, rep, permutation_s)
    else:
        permutation_s = perms[1]
        rep = NeRNRepresentation(model, layers, cfg.hidden, ksize, cfg.permutation, perms=perms[0], table=table)
    if shard.is_main:
        barrier(shard)

    def make_optimizer() -> Ranger:
        return Ranger(rep.predictor.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                      k=cfg.lookahead_k, alpha=cfg.lookahead_alpha)

    opt = make_optimizer()
    fmd_names = default_fmd_modules(model, cfg.feature_maps)
    start_it, best_val, best_it, loader_state = 0, -1.0, 0, None
    rmse = {"value": 0.0, "at": None}   # the all-weights RMSE that reconstruction-only steps scale by
    fingerprint = _config_fingerprint(cfg)
    if cfg.resume and state_path.exists():
        st = load_checkpoint(state_path, kind=STATE_KIND, format_version=1)
        if st.extra.get("fingerprint") != fingerprint:
            raise FrozenfitError(f"{state_path} was written by a run with a different configuration; "
                                 f"use another --out-dir or drop --resume")
        rep.predictor.load_state_dict(st.state["predictor"])
        opt.load_state_dict(st.state["opt"])
        gen.set_state(st.state["gen"])
        loader_state = st.state.get("loader")
        start_it, best_val, best_it = st.state["iteration"], st.state["best_val"], st.state["best_it"]
        rmse.update(st.state.get("rmse", {}))
    elif cfg.resume:
        print(f"no state at {state_path}: starting fresh")

    sampler = MagnitudeSampler(rep.table.norms, cfg.kernel_batch, cfg.p_magnitude, gen)
    loader = InfiniteLoader(data.train, cfg.batch_size, gen)
    if loader_state is not None:
        loader.load_state_dict(loader_state)
    logger = RunLogger(out / "logs", resume_from=start_it if cfg.resume else None) if shard.is_main else None
    original_val = accuracy(model, data.val)
    best_path = out / "best.nern"

    def evaluate(it: int) -> tuple[float, float]:
        """Validation accuracy and full-table RMSE from one prediction of every kernel."""
        nonlocal best_val, best_it
        rows = rep.predict_rows()
        val = accuracy(model, data.val, params=rep.reconstructed_params(rows))
        if val >= best_val:
            best_val, best_it = val, it
            if shard.is_main:
                export_artifact(rep, best_path, model_config)
        return val, reconstruction_rmse(rows, rep.table.targets, rep.table.masks).item()

    def checkpoint(it: int) -> None:
        if not shard.is_main:
            return
        save_checkpoint(state_path, STATE_KIND, 1, asdict(cfg), {},
                        state={"predictor": rep.predictor.state_dict(), "opt": opt.state_dict(),
                               "gen": gen.get_state(), "loader": loader.state_dict(), "iteration": it, "best_val": best_val,
                               "best_it": best_it, "rmse": dict(rmse)}, extra={"fingerprint": fingerprint})

    bar = tqdm(range(start_it, cfg.iterations), initial=start_it, total=cfg.iterations,
               desc=f"NeRN {cfg.permutation} h={cfg.hidden}", disable=not show)
    for it in bar:
        if cfg.schedule == "decoupled" and it == warmup > 0:
            # A new objective gets fresh moments: reconstruction-phase second moments are ~250×
            # smaller than distillation gradients and would turn the first step into a jump
            # that diverges without the reconstruction term to pull it back.
            opt = make_optimizer()
        opt.set_lr(cosine_lr(it, cfg.iterations, cfg.lr, cfg.min_lr))
        idx = sampler.sample()
        x = None
        if it >= warmup and (alpha > 0 or beta > 0):
            x = split_batch(noise_batch(cfg.batch_size, data.in_channels, data.image_size, gen)
                            if cfg.data_free else next(loader)[0], shard)
        # refreshed every RMSE_REFRESH reconstruction-only steps (checkpointed: a resumed fit takes
        # the same steps as an uninterrupted one)
        if x is None and (rmse["at"] is None or it - rmse["at"] >= RMSE_REFRESH):
            rmse.update(value=reconstruction_rmse(rep.predict_rows(), rep.table.targets, rep.table.masks).item(), at=it)
        try:
            loss, rec, fmd, kl = train_step(rep, opt, idx, x, alpha, beta, fmd_names, cfg.kd_grad,
                                            reconstruct=cfg.schedule == "joint" or x is None, shard=shard,
                                            precision=cfg.precision, rmse_all=rmse["value"] if x is None else None)
        except FrozenfitError as e:
            raise FrozenfitError(f"iteration {it}: {e}; lower --lr and --resume from the last "
                                 f"checkpoint in {out}") from None
        done = it + 1
        if logger and (done % 25 == 0 or done == cfg.iterations):
            logger.log(done, loss=loss.item(), rmse_batch=rec.item(), fmd=fmd.item(), kl=kl.item(),
                       lr=opt.param_groups[0]["lr"])
        if done % cfg.eval_every == 0 or done == cfg.iterations:
            val, full = evaluate(done)
            if logger:
                logger.log(done, val_acc=val, rmse_all=full)
            bar.set_postfix(val=f"{val:.2f}", rmse=f"{full:.2e}")
        if done % cfg.checkpoint_every == 0 or done == cfg.iterations:
            checkpoint(done)
    if logger:
        logger.close()
    barrier(shard)
    if not best_path.exists():  # resumed a finished run: make sure an artifact exists
        evaluate(cfg.iterations)
    barrier(shard)

    final_test = accuracy(model, data.test, params=rep.reconstructed_params())
    if shard.is_main:
        export_artifact(rep, out / "final.nern", model_config)
    best_model, _ = load_artifact(best_path, model=copy.deepcopy(model))
    best_test = accuracy(best_model, data.test)
    result = FitResult(
        original_val_acc=original_val, original_test_acc=accuracy(model, data.test),
        reconstructed_val_acc=best_val, reconstructed_test_acc=best_test, final_test_acc=final_test,
        best_iteration=best_it, iterations=cfg.iterations, predictor_params=rep.predictor_params,
        represented_params=rep.represented_params, artifact_bytes=best_path.stat().st_size,
        original_bytes=sum(v.numel() * v.element_size() for v in model.state_dict().values()),
        permutation_s=permutation_s, wall_s=time.time() - t_start, artifact=str(best_path),
        history=[r for r in read_csv_log(out / "logs" / "log.csv") if "val_acc" in r])
    if shard.is_main and (warning := size_warning(result.artifact_bytes, model)) is not None:
        print(warning)
    if shard.is_main:
        summary = {k: v for k, v in asdict(result).items() if k != "history"}
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result


def representation_from_run(run_dir: str | Path) -> tuple[NeRNRepresentation, dict]:
    """Rebuild the representation of a fit run from its latest training state (for export)."""
    run_dir = Path(run_dir)
    st = load_checkpoint(run_dir / "state.safetensors", kind=STATE_KIND, format_version=1)
    cfg = st.config
    model, model_config = load_original(cfg["original"])
    ksize = predictor_kernel_size(model, cfg["kernel_size"])
    example = torch.zeros(1, model_config["in_channels"], model_config["image_size"], model_config["image_size"])
    layers = discover_convs(model, example, max_kernel=ksize, keep_unsupported=cfg["keep_unsupported"])
    table = KernelTable(layers, dict(model.named_parameters()), ksize)
    perms = load_permutations(run_dir / "permutation.safetensors", table, cfg["permutation"])
    rep = NeRNRepresentation(model, layers, cfg["hidden"], ksize, cfg["permutation"],
                             perms=perms[0] if perms else None, table=table)
    rep.predictor.load_state_dict(st.state["predictor"])
    return rep, model_config
