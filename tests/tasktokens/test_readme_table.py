"""The README's Task Tokens results table is the one the sweep wrote to results/tasktokens/table.md."""

from pathlib import Path

from frozenfit.common.results import markdown_table_in

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_results_table():
    table = (ROOT / "results" / "tasktokens" / "table.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert markdown_table_in(readme, table.splitlines()[0]) == table, \
        "README's Task Tokens table differs from results/tasktokens/table.md: run the sweep (it syncs) " \
        "or paste table.md"
