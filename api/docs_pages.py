"""The API's documentation pages, served by the API itself (issue 24 item 7): Swagger UI
at ``/docs`` from a pinned PyPI package (``swagger-ui-bundle-v2``: Swagger UI 5, which
reads OpenAPI 3.1), its assets under ``/docs/assets``, no CDN and no request leaving the
machine (the README promises no internet); and ``/docs/api``, the page every problem
``type`` URI points into (``/docs/api#token-refused``), one section per problem type of
api/problem_types.py."""

from __future__ import annotations

import html

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, swagger_ui_default_parameters
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from api.problem_types import PAGE, PROBLEM_TYPES

DOCS = "/docs"
ASSETS = "/docs/assets"
PROBLEMS = PAGE

router = APIRouter(include_in_schema=False)


@router.get(DOCS)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="acro-casework API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        # No online validator badge (Swagger UI would fetch one from validator.swagger.io).
        swagger_ui_parameters={**swagger_ui_default_parameters, "validatorUrl": None},
    )


@router.get(PROBLEMS)
async def problem_types() -> HTMLResponse:
    sections = "".join(
        f'<section id="{html.escape(kind)}"><h2><code>{html.escape(kind)}</code> ({html.escape(p.status)})</h2>'
        f"<p>{html.escape(p.meaning)}</p><p><strong>What to do:</strong> {html.escape(p.what_to_do)}</p></section>"
        for kind, p in PROBLEM_TYPES.items())
    return HTMLResponse(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Problem types - acro-casework API</title>"
        "</head><body><h1>Problem types</h1><p>Every error is an RFC 9457 problem document "
        "(<code>application/problem+json</code>) whose <code>type</code> is a link to one section of this page. "
        "<code>detail</code> says what happened; <code>rule</code> names the guidance's rule when one refused; "
        f"<code>errors</code> names each field. The operations are at <a href=\"{DOCS}\">{DOCS}</a>.</p>"
        f"{sections}</body></html>")


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
