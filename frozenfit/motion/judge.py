"""The realism judge: can a classifier tell a motion from held-out human motion capture?

Our automatic stand-in for the Task Tokens paper's human study. A motion is a qpos trajectory of
our humanoid at the control rate; it is cut into windows of about 1 s of pose and velocity features
in the heading frame (joint angles and velocities, pelvis height, tilt, planar velocity and yaw
rate). A fresh two-sample classifier (a small MLP) is trained, per evaluation, to tell the motion's
windows from the windows of the judge's mocap clips. Cross-validation is over *groups*, never over
windows: every window of one clip (with its mirror image) or of one episode is in one fold, so a
verdict rests on what tells the motion from mocap on clips and episodes the classifier never saw,
not on recognising a clip it was trained on (windows of a looped 1 s clip are near-copies of one
another: split at random, any classifier tells any two clips apart). Its out-of-fold scores give
- ``auc``: ROC-AUC of the classifier (0.5: it cannot tell the motion from mocap, 1: always can);
- ``judged_human``: the fraction of the motion's windows scored more human than the median mocap
  window (0.5 for mocap itself, 0 for a motion the judge always tells apart).
`pairwise` compares two motions (the paper's study): the rate at which the judge scores the first's
windows as more human than the second's. The judge's clips (`JUDGE_CLIPS`, DeepMimic's five
"walker" clips and their mirror images) are held out: no motion prior or policy trains on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import CONTROL_DT
from frozenfit.motion.features import motion_features
from frozenfit.motion.playback import clip_trajectory

JUDGE_CLIPS = ("walker_0walk_forward", "walker_turn_left0", "walker_turn_left1", "walker_turn_right0",
               "walker_turn_right1")


@dataclass
class JudgeConfig:
    window_seconds: float = 1.0
    window_frames: int = 11          # frames kept per window (evenly spaced over window_seconds)
    stride: int = 3                  # control steps between window starts
    folds: int = 5
    hidden: int = 64
    epochs: int = 300
    weight_decay: float = 1e-3
    seed: int = 0


def frame_features(qpos: np.ndarray, dt: float = CONTROL_DT) -> np.ndarray:
    """Per-frame features (T - 1, F) of a qpos trajectory (T, nq), in the heading frame
    (`frozenfit.motion.features`: the same features an adversarial motion prior reads)."""
    return motion_features(torch.as_tensor(np.asarray(qpos, dtype=float)), dt).numpy()


def windows(qpos: np.ndarray, cfg: JudgeConfig = JudgeConfig()) -> np.ndarray:
    """Windows (W, window_frames * F) of one trajectory at the control rate."""
    f = frame_features(qpos)
    span = int(round(cfg.window_seconds / CONTROL_DT))
    pick = np.linspace(0, span - 1, cfg.window_frames).round().astype(int)
    starts = range(0, len(f) - span + 1, cfg.stride)
    return np.array([f[s + pick].ravel() for s in starts]).reshape(-1, cfg.window_frames * f.shape[1])


@dataclass
class WindowSet:
    """Windows (W, D) and the group (W,) each came from: a clip with its mirror, or an episode."""

    x: np.ndarray
    groups: np.ndarray

    @staticmethod
    def of(trajs: list[np.ndarray], cfg: "JudgeConfig", groups: list[int] | None = None) -> "WindowSet":
        """The windows of trajectories, one group per trajectory unless ``groups`` names them."""
        groups = list(range(len(trajs))) if groups is None else groups
        ws = [windows(t, cfg) for t in trajs]
        return WindowSet(np.concatenate(ws), np.concatenate([np.full(len(w), g) for w, g in zip(ws, groups)]))

    @property
    def num_groups(self) -> int:
        return len(np.unique(self.groups))

    def __len__(self) -> int:
        return len(self.x)


def mocap_windows(cfg: JudgeConfig = JudgeConfig(), clips=JUDGE_CLIPS, version: int = 1) -> WindowSet:
    """The judge's held-out human windows: every judge clip and its mirror image retargeted onto
    humanoid ``version`` (a motion is judged against the clips on its own humanoid), one group
    per clip."""
    return WindowSet.of([clip_trajectory(c, mirror=m, version=version) for c in clips for m in (False, True)], cfg,
                        [i for i in range(len(clips)) for _ in (False, True)])


def _group_folds(groups: np.ndarray, labels: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold per window: each class's groups dealt over the folds in random order."""
    out = np.empty(len(groups), dtype=int)
    for c in np.unique(labels):
        sel = labels == c
        for i, g in enumerate(rng.permutation(np.unique(groups[sel]))):
            out[sel & (groups == g)] = i % folds
    return out


def _fit_scores(x: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: JudgeConfig) -> np.ndarray:
    """Out-of-fold scores (probability of 'mocap') of a fresh MLP per fold, folds over groups
    (``groups`` unique across classes); as many folds as the class with fewest groups allows."""
    per_class = min(len(np.unique(groups[y == c])) for c in (0, 1))
    if per_class < 2:
        raise FrozenfitError("the judge needs at least 2 groups (clips or episodes) on each side, "
                             f"got {per_class}")
    rng = np.random.default_rng(cfg.seed)
    k = min(cfg.folds, per_class)
    folds = _group_folds(groups, y, k, rng)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # a small MLP: intra-op threads only add synchronisation (10x slower on a busy machine)
    try:
        return _fold_scores(x, y, folds, k, cfg)
    finally:
        torch.set_num_threads(threads)


def _fold_scores(x: np.ndarray, y: np.ndarray, folds: np.ndarray, k: int, cfg: JudgeConfig) -> np.ndarray:
    scores = np.zeros(len(x))
    torch.manual_seed(cfg.seed)
    for f in range(k):
        tr, te = folds != f, folds == f
        mean, std = x[tr].mean(0), x[tr].std(0) + 1e-6
        xt = torch.tensor((x[tr] - mean) / std, dtype=torch.float32)
        yt = torch.tensor(y[tr], dtype=torch.float32)
        net = (nn.Sequential(nn.Linear(x.shape[1], cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 1)) if cfg.hidden
               else nn.Linear(x.shape[1], 1))                           # hidden 0: logistic regression
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=cfg.weight_decay)
        pos_weight = torch.tensor((1 - y[tr]).sum() / max(y[tr].sum(), 1), dtype=torch.float32)
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)       # balanced classes
        for _ in range(cfg.epochs):
            opt.zero_grad()
            loss_fn(net(xt).squeeze(1), yt).backward()
            opt.step()
        with torch.no_grad():
            scores[te] = torch.sigmoid(net(torch.tensor((x[te] - mean) / std, dtype=torch.float32))).squeeze(1).numpy()
    return scores


def _subsample(ws: WindowSet, n: int, rng: np.random.Generator) -> WindowSet:
    if len(ws) <= n:
        return ws
    keep = np.sort(rng.choice(len(ws), n, replace=False))
    return WindowSet(ws.x[keep], ws.groups[keep])


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half (the ROC-AUC)."""
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    # average ranks over ties
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def judge(motion: WindowSet, mocap: WindowSet, cfg: JudgeConfig = JudgeConfig()) -> dict:
    """The judge's verdict on ``motion`` against ``mocap`` (a motion with more windows than the
    mocap is subsampled to as many, at random)."""
    motion = _subsample(motion, len(mocap), np.random.default_rng(cfg.seed))
    x = np.concatenate([mocap.x, motion.x])
    y = np.concatenate([np.ones(len(mocap)), np.zeros(len(motion))])
    groups = np.concatenate([mocap.groups, motion.groups + mocap.groups.max() + 1])
    s = _fit_scores(x, y, groups, cfg)
    s_mocap, s_motion = s[: len(mocap)], s[len(mocap):]
    return {"auc": auc(s_mocap, s_motion), "judged_human": float((s_motion > np.median(s_mocap)).mean()),
            "windows": int(len(motion)), "mocap_windows": int(len(mocap)),
            "groups": int(motion.num_groups), "mocap_groups": int(mocap.num_groups)}


def pairwise(a: WindowSet, b: WindowSet, mocap: WindowSet, cfg: JudgeConfig = JudgeConfig()) -> float:
    """The rate at which one judge (mocap against a and b together) scores a window of ``a`` as more
    human than a window of ``b``."""
    x = np.concatenate([mocap.x, a.x, b.x])
    y = np.concatenate([np.ones(len(mocap)), np.zeros(len(a) + len(b))])
    off_a = mocap.groups.max() + 1
    off_b = off_a + a.groups.max() + 1
    s = _fit_scores(x, y, np.concatenate([mocap.groups, a.groups + off_a, b.groups + off_b]), cfg)
    return auc(s[len(mocap): len(mocap) + len(a)], s[len(mocap) + len(a):])
