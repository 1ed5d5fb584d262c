"""Tribe's scoring kernels: arrays in, arrays out; NumPy, Numba and SciPy only.

Layout -> RFM summary -> BG/NBD and Gamma-Gamma fits -> predictions -> CLV.
See each module's docstring for the conventions and the papers followed.
"""

from scoring.bgnbd import (
    BgNbdFit,
    expected_purchases,
    expected_purchases_new_customer,
    fit_bgnbd,
    probability_alive,
)
from scoring.clv import customer_lifetime_value
from scoring.gamma_gamma import GammaGammaFit, expected_average_value, fit_gamma_gamma
from scoring.layout import PurchaseLayout, group_purchases
from scoring.rfm import RFM_SEGMENTS, RfmScores, RfmSummary, rfm_scores, rfm_summary
from scoring.simulate import BgNbdParams, GammaGammaParams, SimulatedPurchases, simulate

__all__ = [
    "RFM_SEGMENTS",
    "BgNbdFit",
    "BgNbdParams",
    "GammaGammaFit",
    "GammaGammaParams",
    "PurchaseLayout",
    "RfmScores",
    "RfmSummary",
    "SimulatedPurchases",
    "customer_lifetime_value",
    "expected_average_value",
    "expected_purchases",
    "expected_purchases_new_customer",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "group_purchases",
    "probability_alive",
    "rfm_scores",
    "rfm_summary",
    "simulate",
]
