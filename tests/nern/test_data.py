import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from frozenfit.errors import FrozenfitError
from frozenfit.nern.data import InfiniteLoader, augment, load_cifar, load_data, load_digits, load_image_folder


def test_digits_splits_are_disjoint_and_complete():
    d = load_digits()
    assert (len(d.train), len(d.val), len(d.test)) == (1258, 180, 359)
    rows = lambda ds: {tuple(x.flatten().tolist()) + (int(y),) for x, y in zip(*ds.tensors)}
    assert not rows(d.val) & rows(d.test)
    assert d.train.tensors[0].shape[1:] == (1, 8, 8)


def _write_cifar(root: Path, n=20, bad_shape=False):
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072 if not bad_shape else 100), dtype=np.uint8)
        with open(root / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": list(rng.integers(0, 10, n))}, f)


def test_cifar_loader_reads_pickle_folder(tmp_path: Path):
    _write_cifar(tmp_path / "c")
    d = load_cifar(tmp_path / "c", 10)
    assert len(d.train) + len(d.val) == 100 and len(d.test) == 20
    assert d.train.tensors[0].shape[1:] == (3, 32, 32)


def test_cifar_loader_rejects_malformed(tmp_path: Path):
    with pytest.raises(FrozenfitError, match="not found"):
        load_cifar(tmp_path / "missing")
    _write_cifar(tmp_path / "bad", bad_shape=True)
    with pytest.raises(FrozenfitError, match=r"expected \[N, 3072\]"):
        load_cifar(tmp_path / "bad")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(FrozenfitError, match="not a CIFAR python-pickle batch"):
        load_cifar(tmp_path / "junk")
    (tmp_path / "partial").mkdir()
    with pytest.raises(FrozenfitError, match="CIFAR file missing"):
        load_cifar(tmp_path / "partial")


def test_image_folder(tmp_path: Path):
    from PIL import Image
    for split in ("train", "val"):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.full((40, 50, 3), 40 * i, np.uint8)).save(tmp_path / split / c / f"{i}.png")
    (tmp_path / "train" / "cat" / "broken.png").write_bytes(b"xx")
    d = load_image_folder(tmp_path, image_size=32, val_fraction=0.0)
    assert d.num_classes == 2 and len(d.test) == 6
    x, y = d.test[0]
    assert x.shape == (3, 32, 32) and y == 0
    broken = [i for i, f in enumerate(d.train.files) if f.name == "broken.png"][0]
    with pytest.raises(FrozenfitError, match="cannot read image"):
        d.train[broken]
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(FrozenfitError, match="no class sub-folders"):
        load_data("imagefolder", str(tmp_path / "empty"))
    with pytest.raises(FrozenfitError, match="image folder not found"):
        load_data("imagefolder", str(tmp_path / "nowhere"))


def test_dataset_errors():
    with pytest.raises(FrozenfitError, match="needs --data-root"):
        load_data("cifar10")
    with pytest.raises(FrozenfitError, match="unknown dataset"):
        load_data("mnist", "/tmp")


def test_augment_shifts_and_loader_resumes():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(8, 1, 1, 1)
    out = augment(x, 1, flip=False, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    ds = load_digits().train
    a = InfiniteLoader(ds, 100, torch.Generator().manual_seed(0))
    next(a)
    state, gen_state = a.state_dict(), a.gen.get_state()
    want = next(a)[1]
    b = InfiniteLoader(ds, 100, torch.Generator())
    b.load_state_dict(state)
    b.gen.set_state(gen_state)
    assert torch.equal(next(b)[1], want)


def _write_cifar100(root: Path, n=30):
    root.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("train", "test"):
        with open(root / name, "wb") as f:   # the archive's keys: b"fine_labels" and b"coarse_labels"
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"fine_labels": list(rng.integers(0, 100, n)),
                         b"coarse_labels": list(rng.integers(0, 20, n))}, f)
    (root / "meta").write_bytes(pickle.dumps({b"fine_label_names": [b"x"] * 100}))


def test_the_folders_the_official_archives_extract_to_load_by_name(tmp_path: Path):
    _write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_data("cifar10", str(tmp_path))          # the parent of the extracted folder works too
    assert d.num_classes == 10 and len(d.test) == 20
    _write_cifar100(tmp_path / "cifar-100-python")
    d = load_data("cifar100", str(tmp_path / "cifar-100-python"))
    assert d.num_classes == 100 and len(d.test) == 30 and d.train.tensors[0].shape[1:] == (3, 32, 32)
    assert int(d.train.tensors[1].max()) < 100
