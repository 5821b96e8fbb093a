"""Image classification data for training originals and distilling NeRN.

Sources: the embedded scikit-learn digits (8×8 grey, shipped in the package, no download),
CIFAR-10/100 from the standard python-pickle folder, ImageNet-style image folders, and random
noise (data-free distillation). Every source gives train / val / test splits; val is carved out
of the training data and is what model selection uses — the test split is only reported.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from frozenfit.errors import FrozenfitError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
IMG_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass
class DataSplits:
    name: str
    train: Dataset
    val: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    flip: bool  # horizontal flips are a valid augmentation (not for digits)
    pad: int  # random-shift augmentation padding in pixels


def _split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    nv = int(round(n * val_fraction))
    return perm[nv:], perm[:nv]


def _normalise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(((x - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32))


def load_digits(val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0) -> DataSplits:
    """scikit-learn's bundled 8×8 digits (1797 images, 10 classes), split train/val/test."""
    with np.load(ASSETS / "digits.npz") as z:
        x = z["images"].astype(np.float32)[:, None] / 16.0
        y = z["labels"].astype(np.int64)
    rest, test = _split(len(x), test_fraction, seed)
    tr_local, va_local = _split(len(rest), val_fraction / (1 - test_fraction), seed + 1)
    train, val = rest[tr_local], rest[va_local]
    mean, std = x[train].mean(keepdims=True).reshape(1), x[train].std().reshape(1)
    t = lambda idx: TensorDataset(_normalise(x[idx], mean, std), torch.from_numpy(y[idx]))
    return DataSplits("digits", t(train), t(val), t(test), 10, 1, 8, flip=False, pad=1)


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise FrozenfitError(f"CIFAR file missing: {path} (expected the python-pickle CIFAR folder)")
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise FrozenfitError(f"{path} is not a CIFAR python-pickle batch ({type(e).__name__}: {e})")
    if not isinstance(d, dict) or b"data" not in d:
        raise FrozenfitError(f"{path} is not a CIFAR batch (no b'data' entry)")
    return d


def _cifar_arrays(files: list[Path], label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for p in files:
        d = _unpickle(p)
        data = np.asarray(d[b"data"])
        if data.ndim != 2 or data.shape[1] != 3072:
            raise FrozenfitError(f"{p}: data has shape {data.shape}, expected [N, 3072] (32×32×3)")
        if label_key not in d or len(d[label_key]) != len(data):
            raise FrozenfitError(f"{p}: missing or mismatched '{label_key.decode()}' labels")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(d[label_key], dtype=np.int64))
    return np.concatenate(xs).astype(np.float32) / 255.0, np.concatenate(ys)


def load_cifar(root: str | Path, num_classes: int = 10, val_fraction: float = 0.1,
               seed: int = 0) -> DataSplits:
    """CIFAR-10 (data_batch_1..5, test_batch) or CIFAR-100 (train, test) python-pickle folder: the
    one the official archive extracts to (cifar-10-batches-py/, cifar-100-python/) or its parent."""
    root = Path(root)
    if not root.is_dir():
        raise FrozenfitError(f"CIFAR folder not found: {root}")
    sub = root / ("cifar-10-batches-py" if num_classes == 10 else "cifar-100-python")
    if sub.is_dir():   # the folder the archive was extracted into
        root = sub
    if num_classes == 10:
        train_files, test_files, key = [root / f"data_batch_{i}" for i in range(1, 6)], [root / "test_batch"], b"labels"
    elif num_classes == 100:
        train_files, test_files, key = [root / "train"], [root / "test"], b"fine_labels"
    else:
        raise FrozenfitError("CIFAR has 10 or 100 classes")
    x, y = _cifar_arrays(train_files, key)
    xt, yt = _cifar_arrays(test_files, key)
    tr, va = _split(len(x), val_fraction, seed)
    mean, std = x[tr].mean(axis=(0, 2, 3)), x[tr].std(axis=(0, 2, 3))
    t = lambda a, b: TensorDataset(_normalise(a, mean, std), torch.from_numpy(b))
    return DataSplits(f"cifar{num_classes}", t(x[tr], y[tr]), t(x[va], y[va]), t(xt, yt),
                      num_classes, 3, 32, flip=True, pad=4)


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class ImageFolder(Dataset):
    """``root/<class>/<image>`` files, resized (shorter side) and centre-cropped to ``size``."""

    def __init__(self, files: list[Path], labels: list[int], size: int):
        self.files, self.labels, self.size = files, labels, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.files[i]) as im:
                im = im.convert("RGB")
                s = self.size * 8 // 7  # the usual 256 → 224 ratio
                w, h = im.size
                r = s / min(w, h)
                im = im.resize((max(s, round(w * r)), max(s, round(h * r))), Image.BILINEAR)
                w, h = im.size
                left, top = (w - self.size) // 2, (h - self.size) // 2
                im = im.crop((left, top, left + self.size, top + self.size))
                a = np.asarray(im, dtype=np.float32) / 255.0
        except (OSError, UnidentifiedImageError) as e:
            raise FrozenfitError(f"cannot read image {self.files[i]}: {e}")
        x = (a.transpose(2, 0, 1) - IMAGENET_MEAN[:, None, None]) / IMAGENET_STD[:, None, None]
        return torch.from_numpy(np.ascontiguousarray(x)), self.labels[i]


def _scan_folder(root: Path, classes: list[str] | None = None) -> tuple[list[Path], list[int], list[str]]:
    if not root.is_dir():
        raise FrozenfitError(f"image folder not found: {root}")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    classes = classes or found
    if not classes:
        raise FrozenfitError(f"{root} has no class sub-folders (expected root/<class>/<image>)")
    files, labels = [], []
    for ci, c in enumerate(classes):
        d = root / c
        if not d.is_dir():
            raise FrozenfitError(f"{root} lacks class folder '{c}' present in the training split")
        for p in sorted(d.iterdir()):
            if p.suffix.lower() in IMG_EXTS:
                files.append(p)
                labels.append(ci)
    if not files:
        raise FrozenfitError(f"{root} holds no images ({', '.join(sorted(IMG_EXTS))})")
    return files, labels, classes


def load_image_folder(root: str | Path, image_size: int = 224, val_fraction: float = 0.02,
                      seed: int = 0) -> DataSplits:
    """ImageNet-style ``root/train/<class>/*`` and ``root/val/<class>/*`` (val = the test split)."""
    root = Path(root)
    files, labels, classes = _scan_folder(root / "train")
    tfiles, tlabels, _ = _scan_folder(root / "val", classes)
    tr, va = _split(len(files), val_fraction, seed)
    sub = lambda idx: ImageFolder([files[i] for i in idx], [labels[i] for i in idx], image_size)
    return DataSplits("imagefolder", sub(tr), sub(va), ImageFolder(tfiles, tlabels, image_size),
                      len(classes), 3, image_size, flip=True, pad=0)


def load_shapes32(val_fraction: float = 0.1, seed: int = 0, difficulty: float | None = None) -> DataSplits:
    """Shapes-32 (frozenfit/nern/shapes.py): 50,000 training images (val carved out of them) and
    10,000 test images, 32×32 RGB, 10 classes, generated in memory from the dataset's own seed
    (``seed`` only splits train/val, so every run sees the same images). ``difficulty`` other
    than the benchmark's is for tuning the benchmark itself."""
    from frozenfit.nern.shapes import ShapesConfig, make_split

    cfg = ShapesConfig() if difficulty is None else ShapesConfig(difficulty=difficulty)
    x, y = make_split(cfg, "train")
    xt, yt = make_split(cfg, "test")
    train, val = _split(len(x), val_fraction, seed)
    mean, std = x[train].mean((0, 2, 3)), x[train].std((0, 2, 3))
    t = lambda a, b: TensorDataset(_normalise(a, mean, std), torch.from_numpy(b))
    return DataSplits("shapes32", t(x[train], y[train]), t(x[val], y[val]), t(xt, yt), 10, 3, 32, flip=True, pad=4)


def load_data(name: str, root: str | None = None, seed: int = 0) -> DataSplits:
    """Data by name: digits | shapes32 | cifar10 | cifar100 | imagefolder (``root`` needed except
    for the two that ship as code)."""
    if name == "digits":
        return load_digits(seed=seed)
    if name == "shapes32":
        return load_shapes32(seed=seed)
    if root is None:
        raise FrozenfitError(f"dataset '{name}' needs --data-root")
    if name in ("cifar10", "cifar100"):
        return load_cifar(root, 10 if name == "cifar10" else 100, seed=seed)
    if name == "imagefolder":
        return load_image_folder(root, seed=seed)
    raise FrozenfitError(f"unknown dataset '{name}'; choose digits, shapes32, cifar10, cifar100 or imagefolder")


def noise_batch(batch: int, in_channels: int, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard-normal images, matching normalised real inputs in scale (data-free distillation)."""
    return torch.randn(batch, in_channels, size, size, generator=generator)


def augment(x: torch.Tensor, pad: int, flip: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random shifts (zero-pad by ``pad``, random crop) and optional horizontal flips, batched."""
    b, c, h, w = x.shape
    if pad > 0:
        xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # [b, 1, h, 1]
        cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # [b, 1, 1, w]
        x = xp[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    if flip:
        m = torch.rand(b, generator=generator) < 0.5
        x = torch.where(m[:, None, None, None], x.flip(3), x)
    return x


class InfiniteLoader:
    """Endless shuffled mini-batches from a dataset (tensor datasets are sliced, not iterated)."""

    def __init__(self, ds: Dataset, batch: int, generator: torch.Generator | None = None):
        self.ds, self.batch, self.gen = ds, batch, generator
        self.tensors = ds.tensors if isinstance(ds, TensorDataset) else None
        self._perm, self._pos = None, 0

    def __iter__(self):
        return self

    def state_dict(self) -> dict:
        return {"perm": self._perm, "pos": self._pos}

    def load_state_dict(self, state: dict) -> None:
        self._perm, self._pos = state["perm"], int(state["pos"])

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.ds)
        if self._perm is None or self._pos + self.batch > n:
            self._perm, self._pos = torch.randperm(n, generator=self.gen), 0
        idx = self._perm[self._pos:self._pos + min(self.batch, n)]
        self._pos += len(idx)
        if self.tensors is not None:
            return self.tensors[0][idx], self.tensors[1][idx]
        items = [self.ds[int(i)] for i in idx]
        return torch.stack([a for a, _ in items]), torch.tensor([b for _, b in items])


def batches(ds: Dataset, batch: int):
    """Ordered mini-batches over a whole dataset (evaluation)."""
    if isinstance(ds, TensorDataset):
        x, y = ds.tensors
        for i in range(0, len(x), batch):
            yield x[i:i + batch], y[i:i + batch]
        return
    for i in range(0, len(ds), batch):
        items = [ds[j] for j in range(i, min(i + batch, len(ds)))]
        yield torch.stack([a for a, _ in items]), torch.tensor([b for _, b in items])
