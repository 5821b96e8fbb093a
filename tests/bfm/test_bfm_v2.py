"""A goal set 2 BFM: the jump prompt token, distilled from a goal set 2 teacher (humanoid v2)."""

from dataclasses import replace

import pytest
import torch

from frozenfit.bfm.distill import DistillConfig, Distiller, distill_bfm
from frozenfit.bfm.masking import J, MaskingConfig, PromptedGoalTask
from frozenfit.bfm.model import BFM, BFMConfig
from frozenfit.bfm.policy import export_bfm, load_bfm
from frozenfit.bfm.tokens import PROMPT_LAYOUTS, PROMPT_SLICES, prompt_vector
from frozenfit.errors import FrozenfitError
from frozenfit.teacher.goals import GOAL_OBS_DIM, GoalConfig

TINY = BFMConfig(width=32, layers=1, heads=2, ff=64, tokenizer_hidden=32, latent=8,
                 encoder_hidden=(32,), decoder_hidden=(32,))


def test_goal_set_2_layout_keeps_set_1_slices_and_appends_the_jump():
    one, two = PROMPT_LAYOUTS[1], PROMPT_LAYOUTS[2]
    assert all(two.slices[k] == v for k, v in one.slices.items()) and one.slices == PROMPT_SLICES
    assert two.names[-1] == "jump" and two.dim == one.dim + 7 and two.names.index("jump") == J
    goal = torch.arange(GOAL_OBS_DIM + 7, dtype=torch.float32)[None]
    kf = -torch.ones(1, one.dim - GOAL_OBS_DIM)
    p = prompt_vector(goal, kf)
    torch.testing.assert_close(p[:, two.slices["jump"]], goal[:, GOAL_OBS_DIM:])
    torch.testing.assert_close(p[:, two.slices["keyframe"]], kf)
    with pytest.raises(ValueError, match="unknown prompt token types"):
        BFMConfig(prompts=("velocity", "jump"))          # goal set 1 has no jump


def test_v2_bfm_reads_the_jump_token_only_when_visible():
    from frozenfit.bfm.tokens import HISTORY_DIM, BFMInput
    from frozenfit.humanoid.observations import PROPRIO_DIM
    bfm = BFM(BFMConfig.v2(**{k: getattr(TINY, k) for k in ("width", "layers", "heads", "ff", "tokenizer_hidden",
                                                            "latent", "encoder_hidden", "decoder_hidden")})).eval()
    lay = PROMPT_LAYOUTS[2]
    torch.manual_seed(0)
    for p in bfm.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = BFMInput(torch.randn(4, PROPRIO_DIM), torch.randn(4, 3, HISTORY_DIM), torch.randn(4, lay.dim),
                 torch.ones(4, len(lay.names), dtype=torch.bool))
    x.visible[:2, J] = False
    y = BFMInput(x.state, x.history, x.goal.clone(), x.visible)
    y.goal[:, lay.slices["jump"]] += 1.0
    a, b = bfm(x), bfm(y)
    torch.testing.assert_close(a[:2], b[:2])                 # hidden: its values cannot matter
    assert (a[2:] - b[2:]).abs().max() > 1e-4                # shown: they do
    with pytest.raises(ValueError, match="goal has shape"):
        bfm(BFMInput(x.state, x.history, x.goal[:, :PROMPT_LAYOUTS[1].dim], x.visible))


def test_masking_shows_a_jump_only_with_a_prompted_run_up():
    n = 4000
    from frozenfit.humanoid.env import EnvConfig, HumanoidEnv
    task = PromptedGoalTask(GoalConfig.v2(), MaskingConfig(), n)
    task.cur_max_speed = 3.5
    env = HumanoidEnv(EnvConfig(num_envs=n, humanoid_version=2), task)
    env.reset()
    task.observe(env)
    vis = task.visible
    on = task.jump_mask > 0
    assert on.sum() > 100 and (vis[on, J] | (task.gap_timer[on] > 0)).all() and not vis[~on, J].any()
    assert (task.speed[on] > 0).all() and task.show[on, 0].all() and not task.keyframes.active[on].any()
    # a world-fixed hand target is a body prompt: never pursued while the body prompt is off
    anchored = task.hand_anchored.any(1)
    assert anchored.sum() > 20 and task.show[anchored, 2].all()
    env.close()


def test_a_v2_bfm_distills_from_a_v2_teacher_and_loads(tmp_path, v2_teacher_file):
    cfg = DistillConfig(model=BFMConfig.v2(**{k: getattr(TINY, k) for k in ("width", "layers", "heads", "ff",
                                                                           "tokenizer_hidden", "latent",
                                                                           "encoder_hidden", "decoder_hidden")}),
                        teacher=str(v2_teacher_file), num_envs=16, num_steps=4, total_env_steps=128, minibatch=32,
                        run_dir=str(tmp_path / "run"), progress=False, checkpoint_every=1, beta_steps=64)
    stats = distill_bfm(cfg)
    assert "prompt/jump_visible" in stats
    bfm = load_bfm(export_bfm(tmp_path / "run" / "checkpoint.safetensors", tmp_path / "bfm.safetensors"))
    assert bfm.cfg.goal_version == 2 and "jump" in bfm.tokenizers
    wrong = replace(cfg, model=TINY, run_dir=str(tmp_path / "x"))
    with pytest.raises(FrozenfitError, match="goal set 2: distill with --model.goal-version 2"):
        Distiller(wrong)


def test_v2_acceptance_adds_reach_and_jump_modalities(v2_bfm_file, v2_teacher_file):
    from frozenfit.bfm.evaluate import BFMEvalConfig, evaluate_bfm
    from frozenfit.teacher.policy import load_teacher
    r = evaluate_bfm(load_bfm(v2_bfm_file), load_teacher(v2_teacher_file),
                     BFMEvalConfig(episodes=3, seconds=3.0, no_prompt_seconds=1.0, settle_seconds=0.5, jump_delay=0.3),
                     progress=lambda _: None)
    assert {"reach", "jump", "velocity", "keyframe"} <= set(r["modalities"])
    for m in r["modalities"].values():
        assert {"ratio", "bfm_fall_rate", "teacher_fall_rate"} <= set(m)


def test_prompting_a_v2_bfm_with_a_floor_point_and_a_jump(v2_bfm_file):
    from frozenfit.bfm.prompt import BFMController, Prompt
    from frozenfit.humanoid.model import LAYOUTS
    ctl = BFMController(load_bfm(v2_bfm_file), num_envs=2)
    try:
        assert ctl.env.layout is LAYOUTS[2] and ctl.task.cfg.version == 2
        ctl.set_prompt(Prompt(reach_point=(0.4, 0.0, 0.1)))
        assert ctl.task.hand_anchored[:, 0].all() and ctl.task.visible[:, 2].all()
        ctl.step()
        ctl.set_prompt(Prompt(velocity=(3.0, 0.0), jump=2.0, jump_in=1.5))
        assert ctl.task.jump_mask.tolist() == [1.0, 1.0] and ctl.task.visible[:, J].all()
        x = ctl.inputs()
        assert x.goal[0, PROMPT_LAYOUTS[2].slices["jump"]][3] == 2.0
        with pytest.raises(FrozenfitError, match="needs a velocity prompt"):
            ctl.set_prompt(Prompt(jump=1.0))
    finally:
        ctl.close()
    from frozenfit.bfm.policy import SHIPPED_BFM
    v1 = BFMController(load_bfm(SHIPPED_BFM), num_envs=1)
    try:
        with pytest.raises(FrozenfitError, match="goal set 2 BFM"):
            v1.set_prompt(Prompt(reach_point=(0.4, 0.0, 0.1)))
    finally:
        v1.close()
    with pytest.raises(FrozenfitError, match="cannot follow goal set 1"):
        BFMController(load_bfm(v2_bfm_file), num_envs=1, goal_cfg=GoalConfig())


def test_the_demo_scripts_follow_the_goal_set_and_version_1_plays_the_nearest_prompts(v2_bfm_file, v2_teacher_file):
    from frozenfit.bfm.prompt import DEMO_PROMPTS_V2, Prompt, for_goal_set_1, play
    from frozenfit.humanoid.model import PELVIS_HEIGHT
    from frozenfit.teacher.evaluate import DEMO_SCRIPT_V2, play_script, script_for_goal_set_1
    from frozenfit.teacher.policy import load_teacher
    p = for_goal_set_1(Prompt(velocity=(3.0, 0.0), reach_point=(0.4, 0.0, 0.1), jump=2.0))
    assert p.right_hand == pytest.approx((0.4, 0.0, 0.1 - PELVIS_HEIGHT)) and p.reach_point is None and p.jump is None
    assert p.velocity == (3.0, 0.0)
    rows = script_for_goal_set_1(DEMO_SCRIPT_V2)
    floor = next(r for r, o in zip(rows, DEMO_SCRIPT_V2) if o[5] is not None)
    assert floor[4][2] == pytest.approx(0.1 - PELVIS_HEIGHT) and all(r[5] is None and r[6] is None for r in rows)
    v1 = play(load_bfm(), DEMO_PROMPTS_V2, seconds=0.5)              # goal set 1 on goal set 2's script
    v2 = play(load_bfm(v2_bfm_file), seconds=0.5)
    assert v1.humanoid_version == 1 and v2.humanoid_version == 2 and "jump" in " ".join(
        play(load_bfm(v2_bfm_file), [(0.0, DEMO_PROMPTS_V2[7][1])], seconds=0.2).captions)
    t1 = play_script(load_teacher(), 0.5, script=DEMO_SCRIPT_V2)
    t2 = play_script(load_teacher(v2_teacher_file), 0.5)
    assert t1.humanoid_version == 1 and t2.humanoid_version == 2
