"""The REST API's documentation pages, Swagger UI at /api/v1/docs and ReDoc at /api/v1/redoc,
served with their assets from installed packages: nothing is fetched from another host at run
time, so the docs work offline and tell no CDN who reads them.

FastAPI's own docs pages load Swagger UI from a CDN and start it with an inline script; these
pages load the built files the `fastapi-offline` package ships (Swagger UI, ReDoc) from
/api/v1/docs/assets/ and start Swagger UI with a script of ours from the same place, so their
Content-Security-Policy allows scripts from this origin only.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/api/v1/docs"
REDOC_URL = "/api/v1/redoc"
ASSETS_URL = "/api/v1/docs/assets"

# Scripts from this origin only. The two UIs set styles at run time (ReDoc's styled-components
# adds <style> elements), hence 'unsafe-inline' for styles; ReDoc's search runs in a blob: worker.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "content-security-policy": DOCS_CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

# validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
_SWAGGER_INIT = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "%(openapi_url)s",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""

_SWAGGER_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s: API documentation</title>
<link rel="icon" type="image/png" href="%(assets)s/favicon.png">
<link rel="stylesheet" href="%(assets)s/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"><noscript>The interactive documentation needs JavaScript;
the OpenAPI document is at <a href="%(openapi_url)s">%(openapi_url)s</a>.</noscript></main>
<script src="%(assets)s/swagger-ui-bundle.js"></script>
<script src="%(docs)s/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s: API reference</title>
<link rel="icon" type="image/png" href="%(assets)s/favicon.png">
</head>
<body>
<main><redoc spec-url="%(openapi_url)s"></redoc>
<noscript>The reference needs JavaScript;
the OpenAPI document is at <a href="%(openapi_url)s">%(openapi_url)s</a>.</noscript></main>
<script src="%(assets)s/redoc.standalone.js"></script>
</body>
</html>
"""


def _values(app: FastAPI) -> dict[str, str]:
    return {
        "title": app.title,
        "openapi_url": app.openapi_url or "",
        "assets": ASSETS_URL,
        "docs": DOCS_URL,
    }


def install(app: FastAPI) -> None:
    """Serve Swagger UI and ReDoc from local assets (create the app with docs_url=None)."""

    async def swagger_page() -> HTMLResponse:
        return HTMLResponse(_SWAGGER_PAGE % _values(app), headers=_HEADERS)

    async def swagger_init() -> Response:
        return Response(
            _SWAGGER_INIT % _values(app), media_type="text/javascript", headers=_HEADERS
        )

    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(_REDOC_PAGE % _values(app), headers=_HEADERS)

    app.add_api_route(DOCS_URL, swagger_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        f"{DOCS_URL}/swagger-init.js", swagger_init, methods=["GET"], include_in_schema=False
    )
    app.add_api_route(REDOC_URL, redoc_page, methods=["GET"], include_in_schema=False)
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets)), name="api-docs-assets")
