"""Shared by the tests that launch torchrun (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations


def run_torchrun(cmd: list[str], env: dict, timeout: float = 300):
    """Run a torchrun command line; one retry only when a rank aborted at interpreter exit with
    the gloo teardown race ("terminate called without an active exception"), which frozenfit's
    exit-time barrier + destroy_process_group should prevent: the retry keeps a rare race in the
    launcher from failing CI, every other failure fails the test."""
    import subprocess
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode and "terminate called without an active exception" in p.stderr:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return p
