"""The one version source: ``pyproject.toml`` reads it (``dynamic = ["version"]``), results record it
(:attr:`sidmft.results.Result.version`) and ``sidmft --version`` prints it."""

__version__ = "0.1.0"
