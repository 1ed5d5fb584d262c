"""CDNOW, the data set of the BG/NBD and Gamma-Gamma papers (shipped with lifetimes)."""

import pytest


@pytest.fixture(scope="session")
def cdnow():
    datasets = pytest.importorskip("lifetimes.datasets")
    frame = datasets.load_cdnow_summary_data_with_monetary_value()
    return {c: frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value")}
