"""Shapes-32: deterministic, balanced, label-bearing, and only the main shape's outline decides."""

import numpy as np
import pytest

from frozenfit.nern.shapes import CLASSES, ShapesConfig, make_split, render


def test_a_split_is_a_pure_function_of_the_seed_and_splits_differ():
    cfg = ShapesConfig(train=300, test=200)
    a, ya = make_split(cfg, "train")
    b, yb = make_split(cfg, "train")
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    t, _ = make_split(cfg, "test")
    assert not np.array_equal(a[:200], t)
    c, _ = make_split(ShapesConfig(train=300, test=200, seed=1), "train")
    assert not np.array_equal(a, c)
    assert a.shape == (300, 3, 32, 32) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert np.bincount(ya, minlength=len(CLASSES)).tolist() == [30] * 10


def test_the_benchmark_defaults_are_cifar_sized():
    cfg = ShapesConfig()
    assert len(CLASSES) >= 10 and cfg.test >= 10_000 and cfg.train == 50_000


def _nearest_centroid_accuracy(x, y, xt, yt):
    f = lambda z: z.reshape(len(z), -1)
    cent = np.stack([f(x)[y == k].mean(0) for k in range(len(CLASSES))])
    pred = ((f(xt)[:, None] - cent[None]) ** 2).sum(-1).argmin(1)
    return (pred == yt).mean()


def test_pixel_statistics_do_not_give_the_label_away():
    """Nearest class centroid on raw pixels is near chance (10 %): colour, position and clutter
    carry no label, so a network must learn shape (its accuracy is results/nern/benchmark.json)."""
    rng = np.random.default_rng(0)
    y, yt = np.arange(600) % 10, np.arange(400) % 10
    assert _nearest_centroid_accuracy(render(y, rng), y, render(yt, rng), yt) < 0.2


@pytest.mark.parametrize("k", range(len(CLASSES)))
def test_every_class_draws_a_shape_of_sensible_area(k):
    """With no clutter and a uniform background, each class covers between 5 % and 60 % of the image."""
    from frozenfit.nern import shapes

    rng = np.random.default_rng(k)
    u, v = shapes._place(rng, 16, (0.5, 0.5), 0.0)
    area = shapes._masks(np.full(16, k), u, v, soft=0.01).mean((1, 2))
    assert 0.05 < area.mean() < 0.6
