"""Axis and colour-bar labels: one place for every figure and every stored variable.

``PARAM_LABELS`` names the problem and solver parameters (sweep axes), ``OBS_LABELS`` the
observables and theory outputs, and :func:`var_attrs` gives the ``long_name`` / ``units``
attributes of a stored sweep variable such as ``dmft_m`` or ``simulate_error_se``.
"""

from __future__ import annotations

from .parameters import PARAMETERS
from .results import OBSERVABLES

__all__ = ["PARAM_LABELS", "OBS_LABELS", "SOURCE_LABELS", "var_attrs", "param_label", "obs_label"]

#: labels of the parameters that are not numbers (the numbers' labels live in :mod:`sidmft.parameters`)
_WORD_LABELS = {
    "model": "model",
    "loss": "loss",
    "preprocess": r"preprocessing $\mathcal{T}$",
    "init": "initialisation",
    "field": "field",
    "algorithm": "first-order method",
    "eta_schedule": "step-size schedule",
    "t": r"GD step $t$",
}


class _ParamLabels(dict):
    """name -> axis label: the parameter table's labels (read when asked, so a parameter registered later has
    its label too), then the labels of the word-valued parameters."""

    def __missing__(self, key):
        par = PARAMETERS.get(key)
        if par is not None:
            return par.axis_label
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        return dict.__contains__(self, key) or key in PARAMETERS


PARAM_LABELS = _ParamLabels(_WORD_LABELS)

OBS_LABELS = {
    "m": r"overlap $m = \langle x, x^\star\rangle/d$",
    "q": r"squared norm $q = \|x\|^2/d$",
    "cosine": r"cosine $m/\sqrt{q}$",
    "error": r"estimation error $1 + q - 2|m|$",
    "train_loss": r"training loss $\mathcal{L}$",
    "objective": r"objective $\mathcal{L} + \lambda q/2$",
    "grad_norm": r"gradient norm $\|\nabla L\|^2/d$",
    "test_error": "test error",
    "alpha_c": r"spectral threshold $\alpha_c$",
    "rho": r"spectral overlap $\rho$",
    "rho_sq": r"spectral overlap $\rho^2$",
    "l_star": r"$l^\star$",
    "top_eigenvalue": r"top eigenvalue $\lambda_1$",
    "second_eigenvalue": r"second eigenvalue $\lambda_2$",
    "bulk_edge": "bulk edge",
    "passed": "outlier exists (1/0)",
    "spectral_overlap": r"spectral overlap $\rho$",
    "gamma": r"$\gamma$",
    "h_min": r"$h_{\min}$",
    "rate": "linear convergence rate",
    "residual": "fixed-point residual",
    "blowup_step": "DMFT blow-up step",
}
SOURCE_LABELS = {"spectral": "spectral theory", "dmft": "DMFT", "fixed_point": "fixed point", "simulate": "simulation"}


def param_label(name: str) -> str:
    """Axis label of a parameter (the name itself when it has none)."""
    return PARAM_LABELS.get(name, name)


def obs_label(name: str) -> str:
    """Axis label of an observable or theory output (the name with spaces when it has none)."""
    return OBS_LABELS.get(name, name.replace("_", " "))


def var_attrs(name: str) -> dict:
    """``long_name`` / ``units`` for a stored variable (used as axis and colour-bar labels)."""
    prefix = next((p for p in SOURCE_LABELS if name.startswith(p + "_")), None)
    if prefix is None:
        return {"long_name": name}
    src, rest = SOURCE_LABELS[prefix], name[len(prefix) + 1 :]
    traj = rest.endswith("_t")
    base = rest[:-2] if traj else rest
    se = base.endswith("_se")
    base = base[:-3] if se else base
    if base == "status":
        return {"long_name": f"status ({src})"}
    label = OBS_LABELS.get(base, base.replace("_", " "))
    if src in ("DMFT", "simulation") and base in OBSERVABLES and not traj:
        label = "final " + label
    if se:
        label = "standard error of " + label
    return {"long_name": f"{label} ({src})", "units": "1"}
