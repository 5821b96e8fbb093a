"""The `frozenfit` command line: `frozenfit <system> <command> [--options]`.

Every command parses one typed dataclass config with tyro (`--help` lists its fields and
defaults). User errors (missing files, mismatched checkpoints, diverged losses) print one clear
line and exit with status 2 instead of a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import tyro

from frozenfit.common.checks import check_numbers
from frozenfit.common.script import run_main


def _nern_commands() -> dict[str, tuple[type, Callable[[Any], Any], str]]:
    from frozenfit.nern import commands as c
    from frozenfit.nern.fit import FitConfig, fit
    from frozenfit.nern.original import TrainOriginalConfig, train_original

    def run_fit(cfg: FitConfig):
        r = fit(cfg)
        print(f"original test {r.original_test_acc:.2f}%  reconstructed test {r.reconstructed_test_acc:.2f}%  "
              f"(best on val at iteration {r.best_iteration})  predictor {r.predictor_params:,} params = "
              f"{100 * r.predictor_params / r.represented_params:.1f}% of {r.represented_params:,}  "
              f"artifact {r.artifact_bytes:,} B -> {r.artifact}")
        return r

    return {
        "train-original": (TrainOriginalConfig, lambda cfg: print(train_original(cfg)), "train the CNN to represent"),
        "fit": (FitConfig, run_fit, "fit a NeRN predictor to a trained CNN"),
        "eval": (c.EvalConfig, c.run_eval, "accuracy of a NeRN artifact"),
        "export": (c.ExportConfig, c.run_export, "write a run's compressed artifact (fp32/fp16/int8/int4)"),
        "prune": (c.PruneConfig, c.run_prune, "prune the original, scored by NeRN's reconstruction error"),
        "ptq": (c.PTQConfig, c.run_ptq, "int8/int4 post-training quantisation of the original (baseline)"),
        "demo": (c.DemoConfig, c.run_demo, "NeRN end to end on the embedded default"),
    }


def _teacher_commands() -> dict[str, tuple[type, Callable[[Any], Any], str]]:
    from frozenfit.teacher import commands as c
    from frozenfit.teacher.train import TeacherConfig, TeacherV2Config, train_teacher

    return {
        "train": (TeacherConfig, train_teacher, "train the goal-conditioned teacher with PPO"),
        "train-v2": (TeacherV2Config, train_teacher, "train teacher v2 (humanoid 2, goal set 2, motion prior)"),
        "eval": (c.TeacherEvalConfig, c.run_eval, "evaluate a teacher (velocity/facing/hand errors, falls)"),
        "export": (c.TeacherExportConfig, c.run_export, "strip a training checkpoint to a teacher file"),
        "render": (c.TeacherRenderConfig, c.run_render, "render a teacher following the scripted demo goals"),
    }


def _bfm_commands() -> dict[str, tuple[type, Callable[[Any], Any], str]]:
    from frozenfit.bfm import commands as c
    from frozenfit.bfm.distill import DistillConfig, DistillV2Config, distill_bfm

    return {
        "distill": (DistillConfig, distill_bfm, "distill the BFM from the teacher with online DAgger"),
        "distill-v2": (DistillV2Config, distill_bfm, "distill BFM v2 from teacher v2 (goal set 2, randomised worlds)"),
        "eval": (c.BFMEvalCommand, c.run_eval, "BFM vs teacher per prompt modality, no prompt, combined"),
        "play": (c.PlayConfig, c.run_play, "render the BFM following a prompt script"),
        "export": (c.BFMExportConfig, c.run_export, "strip a distillation checkpoint to a BFM file"),
    }


def _tasktokens_commands() -> dict[str, tuple[type, Callable[[Any], Any], str]]:
    from frozenfit.tasktokens import commands as c
    from frozenfit.tasktokens.train import TaskTokensConfig, train_task

    return {
        "train": (TaskTokensConfig, train_task, "train a task encoder on the frozen BFM (or a baseline)"),
        "eval": (c.TaskEvalCommand, c.run_eval, "success rate of a task policy (paper protocol)"),
        "render": (c.TaskRenderCommand, c.run_render, "render a task policy doing its task"),
        "compare": (c.TaskCompareCommand, c.run_compare, "render the methods side by side on the same episode"),
        "export": (c.TaskExportCommand, c.run_export, "strip a training checkpoint to a task-policy file"),
    }


def _humanoid_commands() -> dict[str, tuple[type, Callable[[Any], Any], str]]:
    from frozenfit.humanoid import commands as c

    return {"render": (c.RenderConfig, c.run_render, "write a GIF/MP4 of a recorded rollout (.npz)")}


def _motion_commands() -> dict[str, tuple[type, Callable[[Any], Any], str]]:
    from frozenfit.motion import commands as c
    from frozenfit.tasktokens import realism as r   # judging a policy needs its task's rollouts

    return {"render": (c.MotionRenderConfig, c.run_render, "render a retargeted DeepMimic clip (--physics: PD-tracked)"),
            "list": (c.MotionListConfig, c.run_list, "the DeepMimic clips of the installed pybullet package"),
            "judge": (r.MotionJudgeConfig, r.run_judge, "how human a task policy moves (realism judge + proxies)")}


SYSTEMS: dict[str, Callable[[], dict]] = {"nern": _nern_commands, "humanoid": _humanoid_commands,
                                          "motion": _motion_commands,
                                          "teacher": _teacher_commands, "bfm": _bfm_commands,
                                          "tasktokens": _tasktokens_commands}


def _usage() -> str:
    lines = ["usage: frozenfit <system> <command> [--options]   (--help on any command)", ""]
    for system, cmds in SYSTEMS.items():
        for name, (_, _, doc) in cmds().items():
            lines.append(f"  frozenfit {system} {name:<16} {doc}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] not in SYSTEMS:
        print(f"error: unknown system '{argv[0]}'; known: {', '.join(SYSTEMS)}\n\n{_usage()}", file=sys.stderr)
        return 2
    cmds = SYSTEMS[argv[0]]()
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print("\n".join(f"  frozenfit {argv[0]} {name:<16} {doc}" for name, (_, _, doc) in cmds.items()))
        return 0 if len(argv) >= 2 else 2
    if argv[1] not in cmds:
        print(f"error: unknown command '{argv[1]}' for {argv[0]}\n\n{_usage()}", file=sys.stderr)
        return 2
    config_type, run, doc = cmds[argv[1]]

    def build_and_run() -> None:
        # a config's own checks (positive counts, ...) run while tyro builds it
        cfg = tyro.cli(config_type, args=argv[2:], prog=f"frozenfit {argv[0]} {argv[1]}", description=doc)
        check_numbers(cfg)  # every numeric option, nested configs included: one rule each
        run(cfg)

    return run_main(build_and_run)


if __name__ == "__main__":
    sys.exit(main())
