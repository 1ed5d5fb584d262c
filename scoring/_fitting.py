"""Maximum likelihood over log-parameters, shared by BG/NBD and Gamma-Gamma.

The objective is lifetimes': the weighted mean negative log-likelihood plus
``penalizer * sum(params ** 2)``, minimised by BFGS on log-parameters with an
analytic gradient. Standard errors come from the Hessian of the total negative
log-likelihood (no penalty), taken by central differences of that gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

# total log-likelihood and its gradient in the natural parameters
LogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Optimum:
    params: np.ndarray
    converged: bool
    iterations: int
    evaluations: int
    message: str


def maximise(loglik: LogLikelihood, total_weight: float, x0_log: np.ndarray, penalizer: float) -> Optimum:
    evaluations = 0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        # Line searches probe far-out points; an overflow there is just a bad point.
        with np.errstate(over="ignore", invalid="ignore"):
            params = np.exp(theta)
            ll, grad = loglik(params)
            value = -ll / total_weight + penalizer * float(params @ params)
            gradient = (-grad / total_weight + 2.0 * penalizer * params) * params
        if not (np.isfinite(value) and np.isfinite(gradient).all()):
            return np.inf, np.zeros_like(theta)
        return value, gradient

    result = minimize(objective, x0_log, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    value, gradient = objective(result.x)
    # BFGS often stops on "precision loss" once the gradient is at round-off
    # level; that is an optimum all the same.
    converged = bool(result.success) or float(np.max(np.abs(gradient))) < 1e-6
    return Optimum(np.exp(result.x), converged, int(result.nit), evaluations, str(result.message))


def standard_errors(loglik: LogLikelihood, params: np.ndarray) -> np.ndarray:
    """Asymptotic standard errors: sqrt(diag(inverse observed information))."""
    k = params.size
    hessian = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        hessian[:, j] = (loglik(up)[1] - loglik(down)[1]) / (2 * h)
    information = -(hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    return np.sqrt(np.clip(np.diag(covariance), 0.0, None))
