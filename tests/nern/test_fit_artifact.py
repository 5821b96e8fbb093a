import copy

import pytest
import torch

from frozenfit.common.checkpoint import load_checkpoint, save_checkpoint
from frozenfit.errors import FrozenfitError
from frozenfit.nern.artifact import export_artifact, load_artifact
from frozenfit.nern.fit import FitConfig, fit, nern_losses
from frozenfit.nern.layers import discover_convs
from frozenfit.nern.models import CifarResNet, default_fmd_modules
from frozenfit.nern.original import load_original
from frozenfit.nern.representation import NeRNRepresentation


def _rep(mode="cross_filter", hidden=16):
    model = CifarResNet(20, num_classes=10, in_channels=1).eval()
    x = torch.randn(8, 1, 8, 8)
    return NeRNRepresentation(model, discover_convs(model, x), hidden, 3, mode), x


def test_distillation_alone_reaches_every_predictor_parameter():
    rep, x = _rep()
    idx = torch.randperm(rep.table.num_kernels)[:512]
    total, rec, fmd, kl = nern_losses(rep, idx, x, 1.0, 1.0, default_fmd_modules(rep.original), "subset")
    (fmd + kl).backward()  # no reconstruction term at all
    for name, p in rep.predictor.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in rep.original.parameters())


def test_reconstruction_is_the_rmse_over_all_weights_with_gradients_through_the_sample():
    rep, _ = _rep(hidden=8)
    idx = torch.randperm(rep.table.num_kernels)[:256]
    rec = nern_losses(rep, idx, None, 0.0, 0.0, [], "subset")[1]
    with torch.no_grad():
        rows = rep.predict_rows()
        t, m = rep.table.targets, rep.table.masks
        every = (((rows - t) ** 2 * m).sum() / m.sum()).sqrt()
    assert torch.allclose(rec, every, rtol=1e-5)            # all ~4.3k kernels, not the 256 sampled
    rec.backward()
    # the gradient equals that of the sampled kernels' squared errors over the whole weight count
    g = torch.cat([p.grad.flatten() for p in rep.predictor.parameters()])
    rep.predictor.zero_grad()
    pred = rep.predictor(rep.encoded[idx])
    ((((pred - t[idx]) ** 2 * m[idx]).sum() / m.sum()) / (2 * every)).backward()
    ref = torch.cat([p.grad.flatten() for p in rep.predictor.parameters()])
    assert torch.allclose(g, ref, rtol=1e-4, atol=1e-9)


def test_kd_grad_all_matches_subset_when_subset_is_everything():
    rep, x = _rep(hidden=8)
    idx = torch.arange(rep.table.num_kernels)
    names = default_fmd_modules(rep.original)
    grads = []
    for mode in ("subset", "all"):
        rep.predictor.zero_grad()
        nern_losses(rep, idx, x, 1e-2, 1e-2, names, mode)[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in rep.predictor.parameters()]))
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-7)


def test_artifact_round_trip_rebuilds_reconstruction(tmp_path):
    rep, x = _rep("in_filter")
    cfg = {"model": "resnet20", "num_classes": 10, "in_channels": 1, "dataset": "digits", "image_size": 8}
    size = export_artifact(rep, tmp_path / "a.nern", cfg)
    assert size == (tmp_path / "a.nern").stat().st_size
    model, acfg = load_artifact(tmp_path / "a.nern")
    with torch.no_grad():
        assert torch.allclose(model(x), rep.reconstructed_model()(x), atol=1e-6)
    assert acfg["permutation"] == "in_filter" and acfg["hidden"] == 16
    # a custom-module artifact needs the module
    export_artifact(rep, tmp_path / "b.nern", {})
    with pytest.raises(FrozenfitError, match="pass model="):
        load_artifact(tmp_path / "b.nern")
    model2, _ = load_artifact(tmp_path / "b.nern", model=CifarResNet(20, 10, 1))
    with torch.no_grad():
        assert torch.allclose(model2(x), model(x))
    with pytest.raises(FrozenfitError, match="shape"):
        load_artifact(tmp_path / "b.nern", model=CifarResNet(20, 10, 3))


def test_artifact_loader_rejects_other_checkpoints(tiny_original):
    path, _ = tiny_original
    with pytest.raises(FrozenfitError, match="'nern-original' checkpoint, expected 'nern-artifact'"):
        load_artifact(path)


def test_original_loader_rejects_mismatch(tmp_path, tiny_original):
    path, model = tiny_original
    ck = load_checkpoint(path)
    save_checkpoint(tmp_path / "wrong.safetensors", "nern-original", 1, {**ck.config, "model": "resnet56"},
                    ck.tensors)
    with pytest.raises(FrozenfitError, match="not a resnet56 checkpoint"):
        load_original(tmp_path / "wrong.safetensors")
    save_checkpoint(tmp_path / "noconf.safetensors", "nern-original", 1, {}, ck.tensors)
    with pytest.raises(FrozenfitError, match="lacks 'model'"):
        load_original(tmp_path / "noconf.safetensors")


def _cfg(path, out, **kw):
    base = dict(original=str(path), hidden=12, iterations=12, batch_size=32, kernel_batch=256,
                eval_every=6, checkpoint_every=6, out_dir=str(out), progress=False, alpha=1e-2, beta=1e-2)
    base.update(kw)
    return FitConfig(**base)


def test_fit_smoke_keeps_original_frozen_and_resumes_identically(tmp_path, tiny_original):
    path, model = tiny_original
    before = copy.deepcopy(model.state_dict())
    straight = fit(_cfg(path, tmp_path / "a"))
    assert straight.iterations == 12 and 0 <= straight.reconstructed_test_acc <= 100
    assert straight.predictor_params == 3 * 12 * 12 + 253 * 12 + 9
    assert [r["step"] for r in straight.history] == [6, 12]
    for f in ("best.nern", "final.nern", "state.safetensors", "permutation.safetensors", "logs/log.csv"):
        assert (tmp_path / "a" / f).exists(), f
    reloaded, _ = load_original(path)
    for k, v in reloaded.state_dict().items():
        assert torch.equal(v, before[k]), k  # the original checkpoint is untouched

    # a run killed after its checkpoint at iteration 6, then --resume: equal to the straight run
    partial_dir = tmp_path / "b"
    _run_until(path, partial_dir, stop_after=6)
    resumed = fit(_cfg(path, partial_dir, resume=True))
    a = load_checkpoint(tmp_path / "a" / "state.safetensors").state["predictor"]
    b = load_checkpoint(partial_dir / "state.safetensors").state["predictor"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed.reconstructed_test_acc == straight.reconstructed_test_acc


def test_a_resumed_warm_up_takes_the_same_steps(tmp_path, tiny_original):
    """Reconstruction-only steps scale by a checkpointed all-weights RMSE: resuming mid-way (not on
    a refresh) gives the uninterrupted run's predictor bit for bit."""
    import frozenfit.nern.fit as fit_mod

    path, _ = tiny_original
    old = fit_mod.RMSE_REFRESH
    fit_mod.RMSE_REFRESH = 4          # refreshes at 0, 4, 8; the checkpoint at 6 falls between
    try:
        fit(_cfg(path, tmp_path / "a", warmup=12))
        _run_until(path, tmp_path / "b", stop_after=6, warmup=12)
        fit(_cfg(path, tmp_path / "b", warmup=12, resume=True))
    finally:
        fit_mod.RMSE_REFRESH = old
    a = load_checkpoint(tmp_path / "a" / "state.safetensors").state["predictor"]
    b = load_checkpoint(tmp_path / "b" / "state.safetensors").state["predictor"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def _run_until(path, out, stop_after, **kw):
    """Simulate a run killed right after the checkpoint at ``stop_after`` iterations."""
    import frozenfit.nern.fit as fit_mod

    class Stop(Exception):
        pass

    real = fit_mod.save_checkpoint
    def save_then_stop(*a, **k):
        real(*a, **k)
        if k.get("state", {}).get("iteration") == stop_after:
            raise Stop
    fit_mod.save_checkpoint = save_then_stop
    try:
        with pytest.raises(Stop):
            fit(_cfg(path, out, **kw))
    finally:
        fit_mod.save_checkpoint = real


def test_resume_refuses_different_config(tmp_path, tiny_original):
    path, _ = tiny_original
    fit(_cfg(path, tmp_path / "r", iterations=6))
    with pytest.raises(FrozenfitError, match="different configuration"):
        fit(_cfg(path, tmp_path / "r", iterations=6, hidden=14, resume=True))


def test_nan_loss_is_a_clear_error(tmp_path, tiny_original):
    path, model = tiny_original
    ck = load_checkpoint(path)
    ck.tensors["layer1.0.bn1.weight"][0] = float("nan")
    save_checkpoint(tmp_path / "nan.safetensors", ck.kind, 1, ck.config, ck.tensors)
    with pytest.raises(FrozenfitError, match="iteration 0: NeRN loss became nan"):
        fit(_cfg(tmp_path / "nan.safetensors", tmp_path / "n"))


def test_data_free_fit_runs(tmp_path, tiny_original):
    path, _ = tiny_original
    r = fit(_cfg(path, tmp_path / "df", iterations=4, eval_every=4, data_free=True, permutation="none"))
    assert r.iterations == 4


def test_decoupled_distillation_phase_leaves_reconstruction_out_of_the_loss():
    rep, x = _rep()
    idx = torch.randperm(rep.table.num_kernels)[:256]
    names = default_fmd_modules(rep.original)
    joint = nern_losses(rep, idx, x, 0.1, 0.2, names, reconstruct=True)
    dec = nern_losses(rep, idx, x, 0.1, 0.2, names, reconstruct=False)
    assert torch.allclose(joint[0], joint[1] + 0.1 * joint[2] + 0.2 * joint[3])
    assert torch.allclose(dec[0], 0.1 * dec[2] + 0.2 * dec[3])
    assert torch.allclose(dec[1], joint[1])  # still reported


def test_decoupled_fit_runs_and_resets_the_optimizer_at_the_switch(tmp_path, tiny_original):
    path, _ = tiny_original
    r = fit(_cfg(path, tmp_path / "dec", iterations=6, warmup=3, eval_every=3, schedule="decoupled",
                 permutation="none", alpha=1.0, beta=1.0))
    assert r.iterations == 6
    st = load_checkpoint(tmp_path / "dec" / "state.safetensors").state["opt"]
    assert st["steps"] == 3  # Ranger's step count restarted at the switch (iteration 3 of 6)


def test_bf16_cnn_passes_keep_the_losses_close_and_reach_every_predictor_parameter():
    rep, x = _rep(hidden=16)
    names = default_fmd_modules(rep.original)
    idx = torch.randperm(rep.table.num_kernels)[:512]
    fp32 = nern_losses(rep, idx, x, 1.0, 1.0, names)
    rep.predictor.zero_grad()
    bf16 = nern_losses(rep, idx, x, 1.0, 1.0, names, precision="bf16")
    assert torch.equal(fp32[1], bf16[1])                  # the reconstruction term is fp32 either way
    assert bf16[2].dtype == torch.float32 and torch.allclose(fp32[2], bf16[2], rtol=0.1, atol=1e-3)
    (bf16[2] + bf16[3]).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 and p.grad.dtype == torch.float32
               for p in rep.predictor.parameters())


def test_channels_last_images_give_the_same_maps():
    from frozenfit.nern.fit import forward_with_maps

    rep, x = _rep(hidden=8)
    names = default_fmd_modules(rep.original)
    z, maps = forward_with_maps(rep.original, names, x)
    with torch.no_grad():
        ref = rep.original(x.contiguous())
    assert torch.allclose(z, ref, atol=1e-5) and len(maps) == len(names)


def test_a_reconstruction_only_step_with_the_current_rmse_has_the_exact_gradient():
    """The cheap warm-up step (no prediction of the other kernels) has the gradient of the RMSE
    over all weights when given its current value."""
    rep, _ = _rep(hidden=8)
    idx = torch.randperm(rep.table.num_kernels)[:256]
    exact = nern_losses(rep, idx, None, 0.0, 0.0, [], "subset")[0]
    exact.backward()
    g_exact = torch.cat([p.grad.flatten() for p in rep.predictor.parameters()])
    rep.predictor.zero_grad()
    cheap = nern_losses(rep, idx, None, 0.0, 0.0, [], "subset", rmse_all=exact.item())[0]
    cheap.backward()
    g_cheap = torch.cat([p.grad.flatten() for p in rep.predictor.parameters()])
    assert torch.allclose(g_exact, g_cheap, rtol=1e-4, atol=1e-10)
