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
        ("custom_method.py", ["--output-dir", "{tmp}/cm"], "cm/compare.png"),
        ("custom_loss.py", ["--output-dir", "{tmp}/cl"], "cl/compare.png"),
    ],
)
def test_example_runs(tmp_path, script, args, product):
    cmd = [sys.executable, str(ROOT / "examples" / script), "--quick"] + [a.format(tmp=tmp_path) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / product).stat().st_size > 10_000
    if script.startswith("custom_"):  # registered outside src/, run by every solver: DMFT against simulation
        z = [
            float(line.split("=")[1].split()[0]) for line in out.stdout.splitlines() if line.startswith("largest |z| =")
        ]
        # the quick sizes (d = 1000, 8 seeds, 8 DMFT batches): a 3-sigma bound on the largest of ~9 deviations
        assert z and z[-1] < 3.0, out.stdout[-3000:]
