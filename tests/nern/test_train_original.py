"""Training the original CNN: both precisions train and save a loadable best-on-val checkpoint,
a finished run resumes without retraining, and a bad precision is refused."""

import dataclasses

import pytest
import torch

from frozenfit.errors import FrozenfitError
from frozenfit.nern.original import TrainOriginalConfig, load_original, train_original


def _small(digits):
    cut = lambda ds, n: torch.utils.data.TensorDataset(*(t[:n] for t in ds.tensors))
    return dataclasses.replace(digits, train=cut(digits.train, 256), val=cut(digits.val, 128), test=cut(digits.test, 128))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_train_original_saves_the_best_checkpoint(tmp_path, digits, precision):
    out = tmp_path / f"{precision}.safetensors"
    cfg = TrainOriginalConfig(epochs=2, batch_size=64, out=str(out), precision=precision)
    r = train_original(cfg, _small(digits))
    model, meta = load_original(out)
    assert meta["epoch"] in (1, 2) and meta["test_acc"] == r["test_acc"]
    assert meta["train_config"]["precision"] == precision
    assert meta["train_config"]["out"] == out.name   # outside the repository: the file name, no machine path
    assert all(p.dtype == torch.float32 for p in model.parameters())
    # a finished run resumes to the same checkpoint without another epoch
    again = train_original(dataclasses.replace(cfg, resume=True), _small(digits))
    assert again["val_acc"] == r["val_acc"] and again["test_acc"] == r["test_acc"]


def test_train_original_refuses_an_unknown_precision(tmp_path, digits):
    with pytest.raises(FrozenfitError, match="precision"):
        train_original(TrainOriginalConfig(epochs=1, out=str(tmp_path / "x.safetensors"), precision="fp16"),
                       _small(digits))
