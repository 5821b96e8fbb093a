"""The README's Shapes-32 ablation table and its progress line are those of results/nern/ablations.*"""

import json
from pathlib import Path

from frozenfit.common.results import markdown_table_in

ROOT = Path(__file__).resolve().parents[2]


def test_readme_ablation_table_is_the_grids():
    table = (ROOT / "results" / "nern" / "ablations.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert markdown_table_in(readme, table.splitlines()[0]) == table, \
        "README's NeRN ablation table differs from results/nern/ablations.md: paste ablations.md"


def test_readme_says_how_much_of_the_grid_is_recorded():
    d = json.loads((ROOT / "results" / "nern" / "ablations.json").read_text())
    recorded = {r["name"] for r in d["runs"]}
    assert recorded <= set(d["grid"]), "ablations.json holds a row outside its grid"
    readme = " ".join((ROOT / "README.md").read_text().split())
    left_out = d.get("skipped", [])
    assert not recorded & set(left_out), "a recorded fit is listed as left out"
    assert f"**{len(recorded)} of {len(d['grid'])} fits** are recorded so far ({len(left_out)} left out by the seed rule)" \
        in readme


def test_readme_gives_the_recorded_resnet20_fits_wall_time_range():
    rows = [r for r in json.loads((ROOT / "results" / "nern" / "ablations.json").read_text())["runs"]
            if r["model"] == "resnet20"]
    minutes = [r["wall_s"] / 60 for r in rows]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"the ResNet-20 fits recorded took {min(minutes):.0f}-{max(minutes):.0f} min of one core each" in readme


def test_readme_distillation_budget_table_is_the_studys():
    from experiment_helper import experiment

    points = json.loads((ROOT / "results" / "nern" / "distill_budget.json").read_text())["points"]
    with experiment("nern_distill_budget") as study:
        table = study.table(points)
    assert markdown_table_in((ROOT / "README.md").read_text(), study.TABLE_HEADER) == table, \
        "README's distillation-budget table differs from results/nern/distill_budget.json: run nern_distill_budget.py --readme"


def test_readme_says_what_three_times_the_distillation_steps_bought():
    points = {p["distill"]: p for p in json.loads((ROOT / "results" / "nern" / "distill_budget.json").read_text())["points"]
              if p["model"] == "resnet20"}
    readme = " ".join((ROOT / "README.md").read_text().split())
    gain = points[2400]["test_acc"] - points[800]["test_acc"]
    assert f"three times the distillation steps bought {gain:.2f} points" in readme
    val = dict((int(s), a) for s, a in points[2400]["val_curve"])
    warm = points[2400]["warmup"]
    first, then = val[warm + 1000] - val[warm], val[warm + 2400] - val[warm + 1000]
    assert f"validation rose {first:.2f} points over the first 1,000 distillation steps and {then:.2f} over the next 1,400" in readme


def test_readme_gives_the_grids_cost_so_far_and_its_projection():
    from experiment_helper import experiment

    d = json.loads((ROOT / "results" / "nern" / "ablations.json").read_text())
    with experiment("nern_ablations") as grid:
        cost = grid.grid_cost(d)
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (f"the recorded fits {cost['recorded_core_h']:.1f} core-hours in all; the {cost['missing']} still missing, "
            f"at that range, bring the grid to {cost['grid_h'][0]:.1f}-{cost['grid_h'][1]:.1f} hours of the 2 cores") in readme


def test_grid_cost_counts_what_is_neither_recorded_nor_left_out():
    from experiment_helper import experiment

    d = {"grid": list("abcdef"), "skipped": ["e"],
         "runs": [{"model": "resnet20", "wall_s": 1800.0}, {"model": "resnet20", "wall_s": 3600.0},
                  {"model": "resnet56", "wall_s": 7200.0}]}
    with experiment("nern_ablations") as grid:
        cost = grid.grid_cost(d)
    assert cost["missing"] == 2 and cost["recorded_core_h"] == 3.5
    assert cost["grid_h"] == ((3.5 + 2 * 0.5) / 2, (3.5 + 2 * 1.0) / 2)
