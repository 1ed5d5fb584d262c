"""GraphiQL in a real headless browser (Debian's Chromium, driven by
Playwright): the page renders with every file from the API itself, none from
the internet, and a query typed in it, with the API key in its Headers tab,
returns data."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.gql_api.conftest import graphql

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")
# As this machine's probe found Chromium runs here: headless, as root, nothing fetched in the background.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def app_options() -> dict:
    return {"dev": True}  # GraphiQL is a development tool


async def test_the_page_is_served_with_its_own_assets(http):
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "/graphiql/graphiql.min.js" in page.text
    assert 'src="http' not in page.text and 'href="http' not in page.text  # no file from another host
    script = await http.get("/graphiql/graphiql.min.js")
    assert script.status_code == 200 and len(script.content) > 1_000_000


@needs_chromium
async def test_graphiql_renders_offline_and_runs_a_query_with_the_key(api_url, admin):
    from playwright.async_api import async_playwright

    _, key = admin
    assert (await graphql_viewer(api_url, key)) == "ADMIN"
    outside: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page()
            page.on("request", lambda r: None if r.url.startswith(api_url) or r.url.startswith("data:")
                    else outside.append(r.url))
            # What a user types in the Headers tab and the editor, as GraphiQL keeps it.
            headers = json.dumps(json.dumps({"Authorization": f"Bearer {key}"}))
            await page.add_init_script(f"localStorage.setItem('graphiql:headers', {headers});"
                                       "localStorage.setItem('graphiql:query', '{ viewer { workspaceSlug role } }');")
            await page.goto(f"{api_url}/graphql")
            await page.wait_for_selector(".graphiql-container", timeout=30_000)
            await page.click(".graphiql-execute-button")
            await page.wait_for_function(
                "document.querySelector('.result-window') && "
                "document.querySelector('.result-window').innerText.includes('ADMIN')", timeout=30_000)
            shown = await page.inner_text(".result-window")
        finally:
            await browser.close()
    assert '"role": "ADMIN"' in shown and outside == []


async def graphql_viewer(api_url: str, key: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=api_url) as client:
        return (await graphql(client, "{ viewer { role } }", key))["data"]["viewer"]["role"]
