"""The four customer types of Allan Dib's "1-Page Marketing Plan", as rules
over workspace percentiles (thresholds in `PersonaRules`, all configurable):

- VAMPIRE: value at or above ``high_value`` and cost to serve at or above
  ``high_cost`` - spends like the tribe but eats the team's time;
- SNOW_LEOPARD: value at or above ``snow_leopard`` - the rare very top;
- TRIBE: value at or above ``high_value``, cost to serve at or below
  ``low_cost``, and an advocate (``advocate_referrals`` referrals or a mean
  survey score of at least ``advocate_survey``);
- CHURNER: value at or below ``low_value`` with at least ``churner_friction``
  discount requests, complaints and returns, and at least
  ``churner_friction_per_order`` of them per purchase;
- STANDARD: everyone else.

Checked in that order. "Value" is what the customer has brought (spend net of
refunds) plus their CLV; value and cost percentiles are within the workspace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TYPES = ("tribe", "vampire", "churner", "snow_leopard", "standard")
TRIBE, VAMPIRE, CHURNER, SNOW_LEOPARD, STANDARD = range(5)


@dataclass(frozen=True)
class PersonaRules:
    snow_leopard: float = 0.99
    high_value: float = 0.80
    low_value: float = 0.40
    high_cost: float = 0.90
    low_cost: float = 0.50
    advocate_referrals: int = 1
    advocate_survey: float = 9.0
    churner_friction: int = 3
    churner_friction_per_order: float = 0.5

    def as_dict(self) -> dict:
        return asdict(self)


def customer_types(value_pct, cost_pct, referrals, survey_mean, friction, purchases,
                   rules: PersonaRules = PersonaRules()) -> np.ndarray:
    """int8 codes into TYPES."""
    value_pct = np.asarray(value_pct, dtype=np.float64)
    cost_pct = np.asarray(cost_pct, dtype=np.float64)
    survey = np.asarray(survey_mean, dtype=np.float64)
    friction = np.asarray(friction, dtype=np.float64)
    advocate = (np.asarray(referrals) >= rules.advocate_referrals) | (np.nan_to_num(survey) >= rules.advocate_survey)
    frictional = ((friction >= rules.churner_friction)
                  & (friction >= rules.churner_friction_per_order * np.maximum(purchases, 1)))
    high = value_pct >= rules.high_value
    return np.select(
        [high & (cost_pct >= rules.high_cost), value_pct >= rules.snow_leopard,
         high & (cost_pct <= rules.low_cost) & advocate, (value_pct <= rules.low_value) & frictional],
        [VAMPIRE, SNOW_LEOPARD, TRIBE, CHURNER], STANDARD).astype(np.int8)
