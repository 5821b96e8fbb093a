# Two commands on a fresh machine: `make demo` and `make test` (each creates .venv first).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup clean results-nern results-humanoid results-bfm results-tasktokens results-tasktokens-ood results-videos results-ux results-motion results-rl

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU wheel of torch first: anything else would pull gigabytes of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,motion]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/frozenfit nern demo
	MUJOCO_GL=egl $(BIN)/frozenfit teacher render --out runs/teacher-demo.mp4 --seconds 22
	MUJOCO_GL=egl $(BIN)/frozenfit bfm play --out runs/bfm-demo.mp4 --seconds 22
	$(BIN)/frozenfit tasktokens eval --task direction --eval.episodes 128
	MUJOCO_GL=egl $(BIN)/frozenfit tasktokens render --task direction --out runs/tasktokens-direction.mp4

test: $(STAMP)
	$(BIN)/python -m pytest tests

# Long experiments and benchmarks behind the numbers in README (results/nern/*.json).
results-nern: $(STAMP)
	$(BIN)/python benchmarks/nern_permutation_speed.py
	$(BIN)/python experiments/nern_embedded.py
	$(BIN)/python experiments/nern_schedule.py
	$(BIN)/python experiments/nern_data_free.py
	$(BIN)/python experiments/nern_size_accuracy.py
	$(BIN)/python experiments/nern_pruning.py
	$(BIN)/python benchmarks/nern_throughput.py
	# Shapes-32: the originals (~3 h of 2 cores for ResNet-20 and ResNet-56), then the ablation grid
	# (~10-12 h) and its size-accuracy comparison; all resumable, rerun to continue.
	$(BIN)/python experiments/nern_benchmark.py
	$(BIN)/python experiments/nern_ablations.py
	$(BIN)/python experiments/nern_ablations.py --size-accuracy
	# the grid's headline fit at 3x and 6x its distillation steps (~4 h of one core)
	$(BIN)/python experiments/nern_distill_budget.py

# Humanoid throughput and the shipped teacher's evaluation, curve and video (results/humanoid, results/teacher).
results-humanoid: $(STAMP)
	$(BIN)/python benchmarks/humanoid_throughput.py
	MUJOCO_GL=egl $(BIN)/python experiments/teacher_results.py

# The shipped BFM's evaluation against the teacher, distillation curve and video, and the BFM in worlds it was not trained in (results/bfm).
results-bfm: $(STAMP)
	MUJOCO_GL=egl $(BIN)/python experiments/bfm_results.py
	$(BIN)/python experiments/bfm_ood.py

# The Task Tokens sweep at the README's budget (0.5 M env steps; resumable: recorded runs are
# skipped, an interrupted one resumes) -> results/tasktokens/; then the ceilings and the shipped
# policies' held-out figures. Trains nothing the table has recorded.
results-tasktokens: $(STAMP)
	$(BIN)/python experiments/tasktokens_sweep.py --steps 500000
	$(BIN)/python experiments/tasktokens_ceiling.py
	MUJOCO_GL=egl $(BIN)/python experiments/tasktokens_ship.py --remeasure

# The OOD study (ood.json): it needs the seed-0 policy files of six recorded runs, which only the
# machine that trained them has in runs/; elsewhere it trains those runs again for their weights.
results-tasktokens-ood: $(STAMP)
	$(BIN)/python experiments/tasktokens_sweep.py --steps 500000 --ood --ood-episodes 256

# The videos and their still frames (results/videos/).
results-videos: $(STAMP)
	MUJOCO_GL=egl $(BIN)/python experiments/videos.py

# Retargeted DeepMimic clips, the realism judge's validity and how human every policy moves (results/motion/).
results-motion: $(STAMP)
	MUJOCO_GL=egl $(BIN)/python experiments/motion_retarget.py
	$(BIN)/python experiments/motion_kinematics.py
	$(BIN)/python experiments/motion_judge_validity.py
	$(BIN)/python experiments/motion_realism.py

# PPO speed, data-parallel PPO, and the paper's cold start at a long budget (results/rl/, results/tasktokens/long_budget.json;
# the long budget is hours of 2 cores, resumable in chunks).
results-rl: $(STAMP)
	$(BIN)/python benchmarks/rl_throughput.py
	$(BIN)/python benchmarks/rl_ddp.py
	$(BIN)/python experiments/tasktokens_long_budget.py

# Commands next to a busy core (results/ux/contention.json).
results-ux: $(STAMP)
	$(BIN)/python benchmarks/contention.py

clean:
	rm -rf $(VENV) runs
