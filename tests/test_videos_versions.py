"""experiments/videos.py --v2: version 1 beside version 2 on goal set 2's demo scripts."""

from experiment_helper import experiment
from frozenfit.bfm.policy import SHIPPED_BFM
from frozenfit.teacher.policy import SHIPPED_TEACHER


def test_version_1_beside_version_2_is_written_with_its_still(tmp_path, monkeypatch, v2_teacher_file, v2_bfm_file):
    with experiment("videos") as m:
        monkeypatch.setattr(m, "VIDEOS", tmp_path / "videos")
        monkeypatch.setattr(m, "OUT", tmp_path)
        rows = {}
        m.versions(rows, v2_teacher_file, v2_bfm_file, SHIPPED_TEACHER, SHIPPED_BFM, seconds=0.3)
    for key in ("teacher-v1-vs-v2", "bfm-v1-vs-v2"):
        assert (tmp_path / "videos" / f"{key}.mp4").stat().st_size > 1000 and (tmp_path / f"{key}.png").is_file()
        assert rows[key]["files"][0].endswith(".safetensors")
