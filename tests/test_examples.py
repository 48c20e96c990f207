"""The gallery in examples/ runs (smoke tests, --quick sizes)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "script, args, product",
    [
        ("rwf_phase_retrieval.py", ["--output-dir", "{tmp}/rwf"], "rwf/compare.png"),
        ("spectral_transition.py", ["--output", "{tmp}/st.png"], "st.png"),
        ("phase_diagram.py", ["--store", "{tmp}/pd", "--workers", "0"], "pd/error.png"),
        ("momentum_phase_retrieval.py", ["--output", "{tmp}/mom.png"], "mom.png"),
    ],
)
def test_example_runs(tmp_path, script, args, product):
    cmd = [sys.executable, str(ROOT / "examples" / script), "--quick"] + [a.format(tmp=tmp_path) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / product).stat().st_size > 10_000
