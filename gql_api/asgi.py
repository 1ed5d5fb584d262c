"""ASGI entry point for uvicorn (`tribe serve`, or `uvicorn gql_api.asgi:app`)."""

from gql_api.app import create_app

app = create_app()
