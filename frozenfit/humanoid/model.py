"""Our MuJoCo humanoid: 23 PD position-actuated joints around a standing pose.

The MJCF is written here (no external asset). Bodies pelvis, torso, head, left/right hand and
left/right foot are named as the specs require; physics runs at 200 Hz (implicitfast, armature
>= 0.05) and the policy acts at 33.3 Hz (6 physics steps per control step). Gravity, ground
friction and body masses are settable per run through `PhysicsConfig` for out-of-distribution
sweeps.

Two versions build side by side (`LAYOUTS`; the shipped checkpoints are version 1's and record its
model hash). Version 2 is version 1 with the abdomen's, shoulders' and hips' hinges ordered x-z-y
(flexion innermost: with version 1's ranges it represents 16 of DeepMimic's 20 clips where x-y-z
represents 8, results/motion/kinematics.json) and DeepMimic's proportions: hips at the pelvis frame
(4 cm up), the upper body 8 cm taller. The module's layout constants (PELVIS_HEIGHT,
SHOULDER_OFFSET) are version 1's; `LAYOUTS[v]` holds each version's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import mujoco
import numpy as np

PHYSICS_DT = 0.005
DECIMATION = 6
CONTROL_DT = PHYSICS_DT * DECIMATION

# Bodies whose world frames are observed (order fixed: it defines the observation layout).
BODIES = (
    "pelvis", "torso", "head",
    "right_upper_arm", "right_lower_arm", "right_hand",
    "left_upper_arm", "left_lower_arm", "left_hand",
    "right_thigh", "right_shin", "right_foot",
    "left_thigh", "left_shin", "left_foot",
)
KEY_BODIES = ("pelvis", "torso", "head", "right_hand", "left_hand", "right_foot", "left_foot")
HEAD_IDX = BODIES.index("head")
TORSO_IDX = BODIES.index("torso")
HAND_IDX = (BODIES.index("right_hand"), BODIES.index("left_hand"))
FOOT_IDX = (BODIES.index("right_foot"), BODIES.index("left_foot"))
SHOULDER_OFFSET = ((0.0, -0.19, 0.40), (0.0, 0.19, 0.40))  # shoulder joints relative to the pelvis (version 1)
# The one fall definition (training, evaluation and reports): the head below this height.
FALL_HEAD_HEIGHT = 0.8  # m


def fallen(body_pos):
    """(N,) bool: which humanoids have fallen, from world body positions (N, len(BODIES), 3)."""
    return body_pos[:, HEAD_IDX, 2] < FALL_HEAD_HEIGHT

# (joint, axis, range in degrees, kp, nominal angle in degrees, action scale in degrees)
_JOINTS = {
    "abdomen": [("abdomen_x", "1 0 0", (-35, 35), 300, 0, 30),
                ("abdomen_y", "0 1 0", (-45, 60), 300, 0, 40),
                ("abdomen_z", "0 0 1", (-45, 45), 200, 0, 40)],
    "shoulder": [("shoulder_x", "1 0 0", (-160, 45), 100, 0, 90),
                 ("shoulder_y", "0 1 0", (-170, 60), 100, 0, 90),
                 ("shoulder_z", "0 0 1", (-90, 90), 80, 0, 60)],
    "elbow": [("elbow", "0 1 0", (-150, 0), 80, -20, 70)],
    "hip": [("hip_x", "1 0 0", (-60, 30), 300, 0, 35),
            ("hip_y", "0 1 0", (-120, 40), 400, 0, 80),
            ("hip_z", "0 0 1", (-45, 45), 200, 0, 35)],
    "knee": [("knee", "0 1 0", (0, 150), 400, 0, 75)],
    "ankle": [("ankle_y", "0 1 0", (-50, 50), 200, 0, 40),
              ("ankle_x", "1 0 0", (-30, 30), 100, 0, 25)],
}


@dataclass(frozen=True)
class Layout:
    """What differs between humanoid versions (lengths as MJCF text, so version 1's XML, and with
    it its model hash, stays byte for byte what the shipped checkpoints recorded)."""

    hinge_order: str          # the three hinges of the abdomen, shoulders and hips, outermost first
    hip_z: str                # hip joints below the pelvis frame
    shoulder_z: str           # shoulder joints above the torso frame
    chest_z: str              # the chest capsule above the torso frame
    head_z: str               # the head above the torso frame
    pelvis_height: float      # standing height of the pelvis frame, feet flat
    name: str                 # the MJCF model name

    @property
    def shoulder_offset(self) -> tuple[tuple[float, float, float], ...]:
        """Shoulder joints relative to the pelvis (right, left)."""
        z = 0.1 + float(self.shoulder_z)
        return ((0.0, -0.19, z), (0.0, 0.19, z))


LAYOUTS = {1: Layout("xyz", "-0.04", "0.30", "0.26", "0.44", 0.93, "frozenfit_humanoid"),
           2: Layout("xzy", "0", "0.38", "0.34", "0.52", 0.89, "frozenfit_humanoid_v2")}
_ORDERED = ("abdomen", "shoulder", "hip")    # the groups of three hinges whose order a version sets


def _layout(version: int) -> Layout:
    if version not in LAYOUTS:
        from frozenfit.errors import FrozenfitError
        raise FrozenfitError(f"unknown humanoid version {version}; this frozenfit builds {', '.join(map(str, LAYOUTS))}")
    return LAYOUTS[version]


def _group(group: str, version: int) -> list:
    """A group's joint rows in the version's hinge order (x, y, z as written for version 1)."""
    rows = _JOINTS[group]
    if group in _ORDERED:
        order = _layout(version).hinge_order
        rows = sorted(rows, key=lambda r: order.index(r[0][-1]))
    return rows


def _joint_xml(group: str, side: str = "", version: int = 1) -> str:
    """Hinge joints of one group; x-axis ranges of left limbs are mirrored."""
    out = []
    for name, axis, (lo, hi), _, _, _ in _group(group, version):
        if side == "left" and (name.endswith("_x") or name.endswith("_z")):
            lo, hi = -hi, -lo  # mirror abduction/rotation limits
        full = f"{side}_{name}" if side else name
        out.append(f'<joint name="{full}" axis="{axis}" range="{lo} {hi}"/>')
    return "".join(out)


def joint_table(version: int = 1) -> list[tuple[str, float, float, float, float, float]]:
    """(name, lo_rad, hi_rad, kp, nominal_rad, action_scale_rad) for every actuated joint, in qpos order."""
    order = [("abdomen", "")] + [(g, s) for s in ("right", "left") for g in ("shoulder", "elbow")] + \
            [(g, s) for s in ("right", "left") for g in ("hip", "knee", "ankle")]
    rows = []
    for group, side in order:
        for name, _, (lo, hi), kp, nom, scale in _group(group, version):
            if side == "left" and (name.endswith("_x") or name.endswith("_z")):
                lo, hi, nom = -hi, -lo, -nom
            rows.append((f"{side}_{name}" if side else name, np.deg2rad(lo), np.deg2rad(hi), kp,
                         np.deg2rad(nom), np.deg2rad(scale)))
    return rows


def _arm(side: str, y: float, version: int = 1) -> str:
    return f"""
      <body name="{side}_upper_arm" pos="0 {y} {_layout(version).shoulder_z}">
        {_joint_xml("shoulder", side, version)}
        <geom name="{side}_upper_arm" fromto="0 0 0 0 0 -0.26" size="0.045"/>
        <body name="{side}_lower_arm" pos="0 0 -0.28">
          {_joint_xml("elbow", side)}
          <geom name="{side}_lower_arm" fromto="0 0 0 0 0 -0.22" size="0.038"/>
          <body name="{side}_hand" pos="0 0 -0.26">
            <geom name="{side}_hand" type="sphere" size="0.045"/>
            <site name="{side}_hand" size="0.01"/>
          </body>
        </body>
      </body>"""


def _leg(side: str, y: float, version: int = 1) -> str:
    return f"""
    <body name="{side}_thigh" pos="0 {y} {_layout(version).hip_z}">
      {_joint_xml("hip", side, version)}
      <geom name="{side}_thigh" class="leg" fromto="0 0 0 0 0 -0.38" size="0.06"/>
      <body name="{side}_shin" pos="0 0 -0.42">
        {_joint_xml("knee", side)}
        <geom name="{side}_shin" class="leg" fromto="0 0 0 0 0 -0.36" size="0.05"/>
        <body name="{side}_foot" pos="0 0 -0.41">
          {_joint_xml("ankle", side)}
          <geom name="{side}_foot" class="leg" type="box" pos="0.045 0 -0.035" size="0.095 0.045 0.025"/>
          <site name="{side}_foot" pos="0.045 0 -0.035" size="0.1 0.05 0.03" type="box"/>
        </body>
      </body>
    </body>"""


PELVIS_HEIGHT = LAYOUTS[1].pelvis_height  # standing height of the pelvis frame, feet flat (version 1)
NUM_ACTUATED = sum(len(_JOINTS[g]) * (1 if g == "abdomen" else 2) for g in _JOINTS)
# qpos = [root position 3 | root quaternion 4 | joints | scene objects]; qvel = [root 6 | joints | objects]
JOINT_QPOS = slice(7, 7 + NUM_ACTUATED)
JOINT_QVEL = slice(6, 6 + NUM_ACTUATED)
BOX_QPOS = slice(JOINT_QPOS.stop, JOINT_QPOS.stop + 7)   # a scene box's free joint: position, quaternion
BOX_QVEL = slice(JOINT_QVEL.stop, JOINT_QVEL.stop + 6)   # world linear, body-frame angular velocity


@dataclass
class BoxSpec:
    """A free box added to the scene after the humanoid (the Strike task's target).

    Its free joint follows the humanoid's joints in qpos (7 numbers) and qvel (6 numbers), so the
    humanoid's own layout, sensors and model hash are unchanged."""

    size: tuple[float, float, float] = (0.4, 0.4, 1.8)   # full extents, m
    mass: float = 8.6                                     # kg
    friction: float = 1.0

    def xml(self) -> str:
        hx, hy, hz = (v / 2 for v in self.size)
        return (f'<body name="box" pos="5 0 {hz:g}"><freejoint name="box"/>'
                f'<geom name="box" type="box" size="{hx:g} {hy:g} {hz:g}" mass="{self.mass:g}" '
                f'contype="1" conaffinity="1" friction="{self.friction:g} 0.05 0.01" rgba="0.55 0.35 0.2 1"/></body>')


# Rough ground (`frozenfit.humanoid.worlds`): a heightfield over the floor, of this half-width
# and grid size; its heights are filled per world after compiling.
TERRAIN_RADIUS = 60.0   # m
TERRAIN_CELLS = 241     # 0.5 m cells


def humanoid_xml(box: BoxSpec | None = None, version: int = 1, terrain: bool = False) -> str:
    """The MJCF text of the humanoid (of ``version``) and its floor (plus a free box when ``box``
    is given, and a heightfield of rough ground over the floor when ``terrain``)."""
    lay = _layout(version)
    actuators = "".join(
        f'<position name="{n}" joint="{n}" kp="{kp}" kv="{kp / 10:g}" ctrlrange="{lo:.5f} {hi:.5f}"/>'
        for n, lo, hi, kp, _, _ in joint_table(version))
    sensors = "".join(
        f'<framepos objtype="xbody" objname="{b}"/><framequat objtype="xbody" objname="{b}"/>'
        f'<framelinvel objtype="xbody" objname="{b}"/><frameangvel objtype="xbody" objname="{b}"/>'
        for b in BODIES)
    sensors += '<touch site="right_foot"/><touch site="left_foot"/>'
    return f"""<mujoco model="{lay.name}">
  <compiler angle="degree"/>
  <option timestep="{PHYSICS_DT}" integrator="implicitfast" iterations="6" ls_iterations="8"/>
  <default>
    <joint type="hinge" armature="0.05" damping="0.5" limited="true"/>
    <geom type="capsule" contype="1" conaffinity="0" condim="3" friction="1 0.05 0.01" density="1000" rgba="0.8 0.6 0.4 1"/>
    <site rgba="0 0 0 0"/>
    <default class="leg"><geom contype="3" conaffinity="2"/></default>
  </default>
  <visual><global offwidth="640" offheight="480"/></visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".2 .3 .4" rgb2=".1 .2 .3" width="256" height="256"/>
    <material name="grid" texture="grid" texrepeat="1 1" texuniform="true" reflectance=".1"/>{_terrain_asset() if terrain else ""}
  </asset>
  <worldbody>
    <light pos="0 0 6" dir="0 0 -1" directional="true"/>
    <geom name="floor" type="plane" size="0 0 0.05" material="grid" contype="1" conaffinity="1" friction="1 0.05 0.01"/>{_terrain_geom() if terrain else ""}
    <body name="pelvis" pos="0 0 {lay.pelvis_height}">
      <camera name="track" mode="trackcom" pos="0 -3.5 0.3" xyaxes="1 0 0 0 0.2 1"/>
      <freejoint name="root"/>
      <geom name="pelvis" fromto="0 -0.07 0 0 0.07 0" size="0.09"/>
      <body name="torso" pos="0 0 0.1">
        {_joint_xml("abdomen", "", version)}
        <geom name="waist" fromto="0 -0.06 0.06 0 0.06 0.06" size="0.08"/>
        <geom name="chest" fromto="0 -0.08 {lay.chest_z} 0 0.08 {lay.chest_z}" size="0.1"/>
        <body name="head" pos="0 0 {lay.head_z}">
          <geom name="head" type="sphere" size="0.095" rgba="0.9 0.7 0.5 1"/>
          <site name="head" size="0.01"/>
        </body>
        {_arm("right", -0.19, version)}
        {_arm("left", 0.19, version)}
      </body>
      {_leg("right", -0.09, version)}
      {_leg("left", 0.09, version)}
    </body>{"" if box is None else chr(10) + "    " + box.xml()}
  </worldbody>
  <actuator>{actuators}</actuator>
  <sensor>{sensors}</sensor>
</mujoco>"""


@dataclass
class PhysicsConfig:
    """Per-run physical parameters (scales relative to the nominal model)."""

    gravity_scale: float = 1.0
    friction_scale: float = 1.0
    mass_scale: float = 1.0


def _terrain_asset() -> str:
    return (f'\n    <hfield name="terrain" nrow="{TERRAIN_CELLS}" ncol="{TERRAIN_CELLS}" '
            f'size="{TERRAIN_RADIUS} {TERRAIN_RADIUS} 0.01 0.05"/>')


def _terrain_geom() -> str:
    return ('\n    <geom name="terrain" type="hfield" hfield="terrain" material="grid" contype="1" conaffinity="1" '
            'friction="1 0.05 0.01"/>')


def build_model(physics: PhysicsConfig | None = None, box: BoxSpec | None = None, version: int = 1,
                terrain: bool = False) -> mujoco.MjModel:
    """Compile the humanoid (of ``version``, plus an optional free box and rough-ground heightfield,
    flat until its heights are set) and apply the run's gravity, friction and mass scales (the box's
    mass scales too: it is part of the physical world)."""
    physics = physics or PhysicsConfig()
    model = mujoco.MjModel.from_xml_string(humanoid_xml(box, version, terrain))
    model.opt.gravity[:] = model.opt.gravity * physics.gravity_scale
    model.geom_friction[:, 0] *= physics.friction_scale
    model.body_mass[1:] *= physics.mass_scale
    model.body_inertia[1:] *= physics.mass_scale
    return model


def model_hash(version: int = 1) -> str:
    """Short digest of the nominal MJCF: checkpoints record it to refuse another humanoid."""
    return hashlib.sha256(humanoid_xml(version=version).encode()).hexdigest()[:16]


def nominal_qpos(model: mujoco.MjModel, version: int = 1) -> np.ndarray:
    """Standing pose: root at the standing height, joints at their nominal angles (objects at
    their MJCF positions)."""
    qpos = model.qpos0.copy()
    qpos[2] = _layout(version).pelvis_height
    qpos[JOINT_QPOS] = [row[4] for row in joint_table(version)]
    return qpos
