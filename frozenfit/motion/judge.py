"""The realism judge: can a classifier tell a motion from held-out human motion capture?

Our automatic stand-in for the Task Tokens paper's human study. A motion is a qpos trajectory of
our humanoid at the control rate; it is cut into windows of about 1 s of pose and velocity features
in the heading frame (joint angles and velocities, pelvis height, tilt, planar velocity and yaw
rate). A fresh two-sample classifier (a small MLP) is trained, per evaluation, to tell the motion's
windows from the windows of the judge's mocap clips, with k-fold cross-validation; its out-of-fold
scores give
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

from frozenfit.humanoid.model import CONTROL_DT, JOINT_QPOS
from frozenfit.motion.clips import load_clip, qconj, qmat, qmul
from frozenfit.motion.playback import looped
from frozenfit.motion.retarget import retarget

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


def _yaw(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.arctan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z))


def frame_features(qpos: np.ndarray, dt: float = CONTROL_DT) -> np.ndarray:
    """Per-frame features (T - 1, F) of a qpos trajectory (T, nq), in the heading frame."""
    q = np.asarray(qpos, dtype=float)
    yaw = _yaw(q[:, 3:7])
    c, s = np.cos(yaw), np.sin(yaw)
    heading = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], -1)
    local = qmul(qconj(heading), q[:, 3:7])                     # the pelvis rotation without its yaw
    R = qmat(local)
    tilt = np.concatenate([R[:, :, 0], R[:, :, 2]], 1)          # its x and z axes (continuous, 6 numbers)
    v = np.diff(q[:, :3], axis=0) / dt
    v_local = np.stack([c[:-1] * v[:, 0] + s[:-1] * v[:, 1], -s[:-1] * v[:, 0] + c[:-1] * v[:, 1], v[:, 2]], 1)
    yaw_rate = np.angle(np.exp(1j * np.diff(yaw))) / dt
    joints = q[:, JOINT_QPOS]
    joint_vel = np.diff(joints, axis=0) / dt
    return np.concatenate([joints[:-1], q[:-1, 2:3], tilt[:-1], v_local, yaw_rate[:, None], joint_vel], 1)


def windows(qpos: np.ndarray, cfg: JudgeConfig = JudgeConfig()) -> np.ndarray:
    """Windows (W, window_frames * F) of one trajectory at the control rate."""
    f = frame_features(qpos)
    span = int(round(cfg.window_seconds / CONTROL_DT))
    pick = np.linspace(0, span - 1, cfg.window_frames).round().astype(int)
    starts = range(0, len(f) - span + 1, cfg.stride)
    return np.array([f[s + pick].ravel() for s in starts]).reshape(-1, cfg.window_frames * f.shape[1])


def clip_trajectory(name: str, seconds: float = 3.0, mirror: bool = False) -> np.ndarray:
    """A retargeted clip as a qpos trajectory at the control rate (looped to ``seconds``)."""
    clip = load_clip(name)
    r = retarget(clip.mirrored() if mirror else clip)
    q = looped(r, seconds)
    t_src = np.arange(len(q)) / r.fps
    t = np.arange(0.0, t_src[-1] + 1e-9, CONTROL_DT)
    out = np.stack([np.interp(t, t_src, q[:, c]) for c in range(q.shape[1])], 1)   # joints included
    quat = out[:, 3:7]
    out[:, 3:7] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    return out


def mocap_windows(cfg: JudgeConfig = JudgeConfig(), clips=JUDGE_CLIPS) -> np.ndarray:
    """The judge's held-out human windows: every judge clip and its mirror image."""
    return np.concatenate([windows(clip_trajectory(c, mirror=m), cfg) for c in clips for m in (False, True)])


def _fit_scores(x: np.ndarray, y: np.ndarray, cfg: JudgeConfig) -> np.ndarray:
    """Out-of-fold scores (probability of 'mocap') of a fresh MLP per fold."""
    rng = np.random.default_rng(cfg.seed)
    folds = rng.permutation(len(x)) % cfg.folds
    scores = np.zeros(len(x))
    torch.manual_seed(cfg.seed)
    for k in range(cfg.folds):
        tr, te = folds != k, folds == k
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


def judge(motion: np.ndarray, mocap: np.ndarray, cfg: JudgeConfig = JudgeConfig()) -> dict:
    """The judge's verdict on ``motion`` windows (W, D) against ``mocap`` windows (a motion with more
    windows than the mocap is subsampled to as many, at random)."""
    if len(motion) > len(mocap):
        motion = motion[np.random.default_rng(cfg.seed).choice(len(motion), len(mocap), replace=False)]
    x = np.concatenate([mocap, motion])
    y = np.concatenate([np.ones(len(mocap)), np.zeros(len(motion))])
    s = _fit_scores(x, y, cfg)
    s_mocap, s_motion = s[: len(mocap)], s[len(mocap):]
    return {"auc": auc(s_mocap, s_motion), "judged_human": float((s_motion > np.median(s_mocap)).mean()),
            "windows": int(len(motion)), "mocap_windows": int(len(mocap))}


def pairwise(a: np.ndarray, b: np.ndarray, mocap: np.ndarray, cfg: JudgeConfig = JudgeConfig()) -> float:
    """The rate at which one judge (mocap against a and b together) scores a window of ``a`` as more
    human than a window of ``b``."""
    x = np.concatenate([mocap, a, b])
    y = np.concatenate([np.ones(len(mocap)), np.zeros(len(a) + len(b))])
    s = _fit_scores(x, y, cfg)
    return auc(s[len(mocap): len(mocap) + len(a)], s[len(mocap) + len(a):])
