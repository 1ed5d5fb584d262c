"""ASGI entry point for uvicorn (`tribe serve`, or `uvicorn gql_api.asgi:app`).

Settings come from the environment, so every worker process gets the same:
TRIBE_DEV=1 for development mode, TRIBE_REFIT_HOURS=N to refit every N hours,
TRIBE_RATE_PER_SECOND and TRIBE_RATE_BURST for the per-key rate limit (50 and 100),
TRIBE_ALLOWED_ORIGINS (comma-separated, or *) for the browser pages that may open
WebSockets, TRIBE_SEGMENT_REFRESH_MINUTES (60; 0 turns it off) for re-evaluating
segments with time windows, TRIBE_METRICS_TOKEN for /metrics (without it,
/metrics is served in development mode only), TRIBE_CORS_ORIGINS (comma-separated,
or *) for the browser apps on other origins that may call the API (any with
TRIBE_DEV=1, none otherwise).
"""

import logging
import os

from gql_api.app import create_app

# One JSON line per request (tribe.requests) and the errors worth a look
# (tribe.graphql, tribe.scheduler) on stderr.
_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter("%(message)s"))
logging.getLogger("tribe").addHandler(_handler)
logging.getLogger("tribe").setLevel(logging.INFO)

app = create_app(dev=os.environ.get("TRIBE_DEV") == "1",
                 refit_hours=float(os.environ["TRIBE_REFIT_HOURS"]) if os.environ.get("TRIBE_REFIT_HOURS") else None,
                 rate_per_second=float(os.environ.get("TRIBE_RATE_PER_SECOND", "50")),
                 rate_burst=int(os.environ.get("TRIBE_RATE_BURST", "100")),
                 allowed_origins=[o.strip() for o in os.environ.get("TRIBE_ALLOWED_ORIGINS", "").split(",") if o.strip()],
                 segment_refresh_minutes=float(os.environ.get("TRIBE_SEGMENT_REFRESH_MINUTES", "60")),
                 warm_up=True, metrics_token=os.environ.get("TRIBE_METRICS_TOKEN") or None,
                 cors_origins=[o.strip() for o in os.environ["TRIBE_CORS_ORIGINS"].split(",") if o.strip()]
                 if "TRIBE_CORS_ORIGINS" in os.environ else None)
