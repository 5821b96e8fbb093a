import numpy as np
import pytest

from frozenfit.errors import FrozenfitError
from frozenfit.humanoid.model import build_model, nominal_qpos
from frozenfit.humanoid.render import Marker, Recording, render_rollout, write_video


def test_render_a_recording_to_gif(tmp_path):
    m = build_model()
    q = np.repeat(nominal_qpos(m)[None], 3, 0)
    q[:, 0] = [0.0, 0.3, 0.6]
    q[2, 7 + 4] = -1.5  # right shoulder raised in the last frame
    rec = Recording(q, fps=10.0, markers=[[Marker(np.array([0.5, 0, 1.0]), (1, 0, 0, 1))], [], []])
    rec.save(tmp_path / "r.npz")
    back = Recording.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(back.qpos, q)
    frames = render_rollout(back, 64, 48)
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3)
    assert frames[0].std() > 5  # not a blank image
    assert np.abs(frames[2].astype(int) - frames[1].astype(int)).sum() > 0
    path = write_video(frames, tmp_path / "v.gif", rec.fps)
    assert path.stat().st_size > 1000


def test_render_rejects_bad_input(tmp_path):
    with pytest.raises(FrozenfitError, match="not found"):
        Recording.load(tmp_path / "none.npz")
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(FrozenfitError, match="not a frozenfit recording"):
        Recording.load(tmp_path / "bad.npz")
    with pytest.raises(FrozenfitError, match="qpos of shape"):
        render_rollout(Recording(np.zeros((2, 5)), fps=10.0), 32, 24)
    with pytest.raises(FrozenfitError, match="unknown video format"):
        write_video([np.zeros((4, 4, 3), np.uint8)], tmp_path / "v.avi", 10)


def test_mp4_captions_legend_and_tiling(tmp_path):
    import imageio.v3 as iio
    from frozenfit.humanoid.render import COLORS, side_by_side
    m = build_model()
    q = np.repeat(nominal_qpos(m)[None], 4, 0)
    ms = [[Marker.of("velocity", [0, 0, 0.9], 0.02, arrow_to=[1, 0, 0.9]), Marker.of("target", [0.5, 0, 1.0])]] * 4
    rec = Recording(q, fps=10.0, markers=ms, title="Direction - Task Tokens", captions=["go +0 deg at 1.0 m/s"] * 4,
                    status=["on track", "on track", "failed", "failed"])
    plain = render_rollout(rec, 320, 180, captions=False)
    framed = render_rollout(rec, 320, 180)
    assert Marker.of("facing", [0, 0, 0]).rgba == COLORS["facing"][0]
    # the text panel is drawn top-left, the status badge top-right, the legend along the bottom
    diff = np.abs(framed[0].astype(int) - plain[0].astype(int)).sum(-1)
    assert diff[:20, :40].sum() > 0 and diff[:20, -20:].sum() > 0 and diff[-10:, :40].sum() > 0
    assert diff[80:140, 150:250].sum() == 0          # the scene itself is untouched
    # the badge's colour follows the status
    assert np.abs(framed[0][5:15, -15:].astype(int) - framed[3][5:15, -15:].astype(int)).sum() > 0
    path = write_video(framed, tmp_path / "v.mp4", rec.fps)
    back = iio.imread(path, plugin="FFMPEG")
    assert back.shape == (4, 180, 320, 3)
    tiled = side_by_side([framed, framed[:2], framed])
    assert len(tiled) == 4 and tiled[0].shape == (360, 640, 3)
    with pytest.raises(FrozenfitError, match="even width and height"):
        write_video([np.zeros((5, 4, 3), np.uint8)], tmp_path / "odd.mp4", 10)


def test_a_recording_keeps_its_humanoid_version_and_renders_only_on_that_humanoid(tmp_path):
    from frozenfit.humanoid.render import model_version, scene_model
    m2 = build_model(version=2)
    rec = Recording(np.repeat(nominal_qpos(m2)[None], 2, 0), fps=10.0, humanoid_version=2)
    rec.save(tmp_path / "r2.npz")
    back = Recording.load(tmp_path / "r2.npz")
    assert back.humanoid_version == 2
    np.savez(tmp_path / "old.npz", qpos=rec.qpos, fps=10.0)          # a recording from before versions
    assert Recording.load(tmp_path / "old.npz").humanoid_version == 1
    assert model_version(scene_model(version=2)) == 2 and model_version(scene_model()) == 1
    with pytest.raises(FrozenfitError, match="humanoid version 2"):
        render_rollout(back, 32, 24, model=scene_model())          # same qpos size, other hinge order
    assert len(render_rollout(back, 32, 24)) == 2                   # its own humanoid by default
