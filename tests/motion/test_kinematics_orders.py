"""experiments/motion_kinematics.py: hinge decompositions in every order, and why x-z-y fits
flexed hips that x-y-z cannot (gimbal lock at 90 degrees of flexion)."""

import numpy as np
import pytest

from frozenfit.motion.retarget import euler, euler_matrix
from experiment_helper import experiment


@pytest.fixture(scope="module")
def kin():
    with experiment("motion_kinematics") as mod:
        yield mod


@pytest.mark.parametrize("order", ["xyz", "xzy", "yxz", "yzx", "zxy", "zyx"])
def test_euler_inverts_euler_matrix(kin, order):
    ang = np.random.default_rng(0).uniform(-1.2, 1.2, (20, 3))
    assert np.allclose(euler(euler_matrix(ang, order), order), ang, atol=1e-9)
    assert kin.rotation_error_deg(euler_matrix(ang, order), order, None).max() < 1e-5


def test_a_hip_flexed_beyond_90_degrees_fits_x_z_y_but_not_x_y_z(kin):
    """A decomposition's middle angle spans only +-90 degrees: x-y-z puts flexion there, so 100
    degrees of flexion comes out as 80 with the other two angles swung by 180, out of range;
    x-z-y puts flexion last, where the full circle is available."""
    R = euler_matrix(np.radians([[25.0, -100.0]]), "xy")      # 25 deg abduction, 100 deg flexion
    ranges = {"x": np.radians((-60, 30)), "y": np.radians((-120, 40)), "z": np.radians((-45, 45))}
    assert kin.rotation_error_deg(R, "xzy", ranges)[0] < 1e-5
    assert kin.rotation_error_deg(R, "xyz", ranges)[0] > 15.0
    assert kin.rotation_error_deg(R, "xyz", None)[0] < 1e-5    # unlimited, any order fits
