"""Motion clips: the loader against hand-made frames, retargeting onto our hinges, mirroring."""

import json
import math

import numpy as np
import pytest

from frozenfit.errors import FrozenfitError
from frozenfit.motion.clips import CLIPS, FRAME_SIZE, load_clip, qmat
from frozenfit.motion.retarget import euler_xyz, euler_yx, joint_angles, retarget

IDENTITY = [1.0, 0.0, 0.0, 0.0]


def _frame(root=(0.0, 0.85, 0.0), dt=1 / 30, **joints):
    """One DeepMimic frame (y up); joints: name -> quaternion (w first) or angle."""
    order = [("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
             ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4),
             ("left_shoulder", 4), ("left_elbow", 1)]
    f = [dt, *root, *IDENTITY]
    for name, n in order:
        v = joints.get(name, IDENTITY if n == 4 else 0.0)
        f += list(v) if n == 4 else [v]
    assert len(f) == FRAME_SIZE
    return f


def _quat(axis, deg):
    a = math.radians(deg) / 2
    return [math.cos(a), *(math.sin(a) * np.asarray(axis, dtype=float))]


def _write(tmp_path, frames, loop="wrap", name="clip.txt"):
    path = tmp_path / name
    path.write_text(json.dumps({"Loop": loop, "Frames": frames}))
    return str(path)


def test_a_known_rotation_maps_to_the_known_hinge_angles(tmp_path):
    """DeepMimic is y-up with z to the right: a chest turn about its x (forward) is our abdomen_x, a
    hip turn about its z (right) is a turn about our -y, its knee angle about z is our -knee."""
    path = _write(tmp_path, [_frame(chest=_quat((1, 0, 0), 20), right_hip=_quat((0, 0, 1), 30),
                                    right_knee=-0.5, left_shoulder=_quat((0, 1, 0), 25))] * 2)
    a = joint_angles(load_clip(path))
    assert math.degrees(a["abdomen_x"][0]) == pytest.approx(20)
    assert math.degrees(a["right_hip_y"][0]) == pytest.approx(-30)
    assert a["right_knee"][0] == pytest.approx(0.5)
    assert math.degrees(a["left_shoulder_z"][0]) == pytest.approx(25)     # dm y (up) is our z
    others = [k for k in a if k not in ("abdomen_x", "right_hip_y", "right_knee", "left_shoulder_z")]
    assert all(abs(a[k][0]) < 1e-9 for k in others)


def test_a_hip_flexed_100_degrees_fits_version_2_but_not_version_1(tmp_path):
    """Version 1's x-y-z puts flexion in the middle of the chain, which spans only +-90 degrees;
    version 2's x-z-y puts it last."""
    from frozenfit.motion.retarget import retarget
    path = _write(tmp_path, [_frame(right_hip=_quat((0, 0, 1), 100))] * 2)   # dm z (right): our -y
    clip = load_clip(path)
    a2 = joint_angles(clip, version=2)
    assert math.degrees(a2["right_hip_y"][0]) == pytest.approx(-100)
    assert all(abs(v[0]) < 1e-9 for k, v in a2.items() if k not in ("right_hip_y",))
    a1 = joint_angles(clip, version=1)
    assert math.degrees(a1["right_hip_y"][0]) == pytest.approx(-80)          # and x, z swung by 180
    assert retarget(clip, version=1).limit_violations > 0 and retarget(clip, version=2).limit_violations == 0


def test_euler_decompositions_invert_our_hinge_chains():
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, y, z = rng.uniform(-1.2, 1.2, 3)
        R = qmat(np.array(_quat((1, 0, 0), math.degrees(x)))) @ qmat(np.array(_quat((0, 1, 0), math.degrees(y)))) \
            @ qmat(np.array(_quat((0, 0, 1), math.degrees(z))))
        assert np.allclose(euler_xyz(R), [x, y, z])
        R2 = qmat(np.array(_quat((0, 1, 0), math.degrees(y)))) @ qmat(np.array(_quat((1, 0, 0), math.degrees(x))))
        assert np.allclose(euler_yx(R2), [y, x])


def test_mirroring_swaps_sides_and_reflects():
    walk = load_clip("walk")
    a, m = retarget(walk), retarget(walk.mirrored())
    names = [n for n, *_ in __import__("frozenfit.humanoid.model", fromlist=["joint_table"]).joint_table()]
    col = {n: 7 + i for i, n in enumerate(names)}
    for joint, sign in (("hip_y", 1), ("hip_x", -1), ("hip_z", -1), ("knee", 1), ("shoulder_x", -1)):
        assert np.allclose(m.qpos[:, col[f"right_{joint}"]], sign * a.qpos[:, col[f"left_{joint}"]], atol=1e-6), joint
    assert np.allclose(m.qpos[:, 1], -a.qpos[:, 1]) and np.allclose(m.qpos[:, 0], a.qpos[:, 0])
    assert np.allclose(m.error_cm.mean(), a.error_cm.mean(), atol=0.05)
    assert walk.mirrored().mirrored().rotations["right_hip"] == pytest.approx(walk.rotations["right_hip"])


def test_walk_retargets_with_its_feet_on_the_floor_and_within_the_joint_ranges():
    r = retarget(load_clip("walk"))
    assert r.limit_violations == 0 and r.error_cm.mean() < 10
    assert r.qpos[:, 0][-1] > 1.1                      # walks forward (x) 1.24 m in the source
    assert 0.85 < r.qpos[:, 2].mean() < 1.0


def test_every_shipped_clip_loads():
    for name in CLIPS:
        c = load_clip(name)
        assert c.frames > 10 and c.seconds > 0.5 and np.isfinite(c.root_pos).all(), name


@pytest.mark.parametrize("frames,match", [
    ("{nope", "invalid JSON"),
    ({"Loop": "wrap"}, "non-empty 'Frames'"),
    ({"Loop": "sometimes", "Frames": [[0.0] * FRAME_SIZE]}, "'Loop' must be"),
    ({"Loop": "wrap", "Frames": [[0.0] * 10]}, "does not hold 44 numbers"),
    ({"Loop": "wrap", "Frames": [[float("nan")] * FRAME_SIZE]}, "NaN"),
    ({"Loop": "wrap", "Frames": [_frame(dt=-1.0), _frame()]}, "duration <= 0"),
    ({"Loop": "wrap", "Frames": [_frame(chest=[0.1, 0, 0, 0])] * 2}, "not a rotation"),
])
def test_malformed_clips_are_refused_with_one_clear_error(tmp_path, frames, match):
    path = tmp_path / "bad.txt"
    path.write_text(frames if isinstance(frames, str) else json.dumps(frames))
    with pytest.raises(FrozenfitError, match=match):
        load_clip(str(path))
    with pytest.raises(FrozenfitError, match="unknown clip"):
        load_clip("moonwalk")
    with pytest.raises(FrozenfitError, match="not found"):
        load_clip(str(tmp_path / "missing.txt"))


def test_a_missing_pybullet_names_the_extra(monkeypatch):
    import builtins

    from frozenfit.motion import clips
    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__",
                        lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name)) if name == "pybullet_data"
                        else real(name, *a, **k))
    with pytest.raises(FrozenfitError, match=r"frozenfit\[motion\]"):
        clips.data_dir()


def test_playback_kinematic_and_under_physics(tmp_path, capsys):
    from frozenfit.cli import main
    from frozenfit.motion.playback import at_control_rate, looped, track
    r = retarget(load_clip("walk"))
    q = looped(r, 3.0)
    assert len(q) == round(3.0 * r.fps) and q[-1, 0] > r.qpos[-1, 0] + 1.0    # looped, moving on
    assert at_control_rate(r.qpos, r.fps).shape[1] == 23
    qpos, summary = track(r, 0.6)
    assert qpos.shape == (20, r.qpos.shape[1]) and np.isfinite(qpos).all()
    assert summary["joint_error_deg"] < 15 and (summary["fell_after_s"] is None or summary["fell_after_s"] > 0.3)
    out = tmp_path / "run.gif"
    assert main(["motion", "render", "--clip", "run", "--physics", "--seconds", "0.3", "--width", "64",
                 "--height", "48", "--out", str(out)]) == 0
    assert out.stat().st_size > 0 and "physics" in capsys.readouterr().out
    out2 = tmp_path / "crawl_v2.gif"    # the version-2 humanoid, kinematic
    assert main(["motion", "render", "--clip", "crawl", "--humanoid-version", "2", "--seconds", "0.3", "--width", "64",
                 "--height", "48", "--out", str(out2)]) == 0 and out2.stat().st_size > 0
    assert main(["motion", "render", "--humanoid-version", "3"]) == 2
    assert main(["motion", "render", "--clip", "moonwalk"]) == 2
    assert main(["motion", "render", "--seconds", "0"]) == 2
