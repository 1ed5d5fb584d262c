"""The workspace's fitted models and their quality report."""

from __future__ import annotations

import datetime

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.tables import model_fits
from gql_api.permissions import READERS


@strawberry.type(description="A fitted model: its parameters and how the fit went.")
class FittedModel:
    name: str
    fitted_at: datetime.datetime
    params: JSON
    diagnostics: JSON


@strawberry.type(description="The models behind the scores. `quality` compares, per calibration frequency, the "
                             "repeat purchases BG/NBD predicted for a holdout period with those that happened.")
class ScoringModels:
    bgnbd: FittedModel | None
    gamma_gamma: FittedModel | None
    quality: FittedModel | None


@strawberry.type
class ScoringQueries:
    @strawberry.field(permission_classes=READERS, description="Null before the first full rescoring.")
    async def scoring_models(self, info: Info) -> ScoringModels | None:
        async with info.context.transaction() as conn:
            rows = {r.model: r for r in await conn.execute(select(model_fits).where(
                model_fits.c.workspace_id == info.context.api_key.workspace_id,
                model_fits.c.model.in_(["bgnbd", "gamma_gamma", "quality"])))}
        if not rows:
            return None

        def model(name: str) -> FittedModel | None:
            row = rows.get(name)
            return FittedModel(name=name, fitted_at=row.fitted_at, params=row.params,
                               diagnostics=row.diagnostics) if row else None

        return ScoringModels(bgnbd=model("bgnbd"), gamma_gamma=model("gamma_gamma"), quality=model("quality"))
