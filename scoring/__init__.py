"""Tribe's scoring kernels: arrays in, arrays out; NumPy, Numba and SciPy only.

Layout -> RFM summary -> BG/NBD and Gamma-Gamma fits -> predictions -> CLV, then
loyalty, personas, lifecycle stages, traits, clusters and lookalikes on top.
See each module's docstring for the conventions and the papers followed.
"""

from scoring.bgnbd import (
    BgNbdFit,
    expected_purchases,
    expected_purchases_new_customer,
    fit_bgnbd,
    probability_alive,
)
from scoring.clusters import Clustering, kmeans, similarity, standardise
from scoring.clv import customer_lifetime_value
from scoring.gamma_gamma import GammaGammaFit, expected_average_value, fit_gamma_gamma
from scoring.layout import PurchaseLayout, group_purchases
from scoring.lifecycle import STAGES, lifecycle_stages
from scoring.loyalty import FACTORS, Loyalty, loyalty_index
from scoring.percentiles import percentile, quantile_table
from scoring.personas import TYPES, PersonaRules, customer_types
from scoring.rfm import RFM_SEGMENTS, RfmScores, RfmSummary, rfm_scores, rfm_summary
from scoring.simulate import BgNbdParams, GammaGammaParams, SimulatedPurchases, simulate
from scoring.traits import TRAITS, inferred_traits, trait_names

__all__ = [
    "FACTORS",
    "RFM_SEGMENTS",
    "STAGES",
    "TRAITS",
    "TYPES",
    "BgNbdFit",
    "BgNbdParams",
    "Clustering",
    "GammaGammaFit",
    "GammaGammaParams",
    "Loyalty",
    "PersonaRules",
    "PurchaseLayout",
    "RfmScores",
    "RfmSummary",
    "SimulatedPurchases",
    "customer_lifetime_value",
    "customer_types",
    "expected_average_value",
    "expected_purchases",
    "expected_purchases_new_customer",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "group_purchases",
    "inferred_traits",
    "kmeans",
    "lifecycle_stages",
    "loyalty_index",
    "percentile",
    "probability_alive",
    "quantile_table",
    "rfm_scores",
    "rfm_summary",
    "similarity",
    "simulate",
    "standardise",
    "trait_names",
]
