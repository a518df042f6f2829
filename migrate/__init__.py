"""pyo3-migrate: migrate PyO3 crates and their Python packages off GIL-era APIs."""

__version__ = "0.1.0"
