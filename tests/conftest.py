"""Suite-wide test settings.

Property-based tests are derandomised (Hypothesis draws the same examples on every run and every
machine), so a CI outcome never depends on a lucky or unlucky draw; no example database is written.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "sidmft",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("sidmft")
