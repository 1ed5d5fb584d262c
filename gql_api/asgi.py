"""ASGI entry point for uvicorn (`tribe serve`, or `uvicorn gql_api.asgi:app`).

Settings come from the environment, so every worker process gets the same:
TRIBE_DEV=1 for development mode, TRIBE_REFIT_HOURS=N to refit every N hours.
"""

import os

from gql_api.app import create_app

app = create_app(dev=os.environ.get("TRIBE_DEV") == "1",
                 refit_hours=float(os.environ["TRIBE_REFIT_HOURS"]) if os.environ.get("TRIBE_REFIT_HOURS") else None)
