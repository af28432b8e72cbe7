"""create_app(settings): a new ASGI app with every capability's routes mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from shieldwall.api import docs, errors, openapi
from shieldwall.api.deps import known_query_parameters, storable_input
from shieldwall.api.limits import BodyLimit
from shieldwall.audit import routes as audit_routes
from shieldwall.audit.service import AuditWriter
from shieldwall.correlate import routes as correlate_routes
from shieldwall.correlate.helper import LookupHelper
from shieldwall.dashboard import routes as dashboard_routes
from shieldwall.dataprotection import routes as dataprotection_routes
from shieldwall.db import Database
from shieldwall.exchange import routes as exchange_routes
from shieldwall.federation import routes as federation_routes
from shieldwall.incidents import routes as incidents_routes
from shieldwall.intel import routes as intel_routes
from shieldwall.intel.identities import platform_identities
from shieldwall.intel.ingest import ingestor_for
from shieldwall.jobs import Scheduler
from shieldwall.members import routes as members_routes
from shieldwall.members.authentication import authenticator_for
from shieldwall.reports import routes as reports_routes
from shieldwall.search import routes as search_routes
from shieldwall.settings import Settings
from shieldwall.sightings import routes as sightings_routes
from shieldwall.sightings.score import parse_half_lives
from shieldwall.stream import routes as stream_routes
from shieldwall.stream.feed import ChangeFeed
from shieldwall.taxii import routes as taxii_routes
from shieldwall.web import routes as web_routes


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing is created at import time, so a test may build as many as it likes."""
    settings = settings or Settings.from_env()
    parse_half_lives(settings.decay_half_lives)  # a bad setting stops the start, not a request
    database = Database(settings.database_url, statement_seconds=settings.statement_seconds)
    ingestor = ingestor_for(database, settings)
    lookup_helper = LookupHelper(database, settings.lookup_helpers)
    scheduler = Scheduler(database)  # capabilities add their jobs as they register
    audit_writer = AuditWriter(database)  # bulk reads' entries, written off the request path
    authenticator = authenticator_for(database, settings)
    change_feed = ChangeFeed(database, settings.stream_poll_seconds)  # wakes stream readers

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The validation workers start with the server, not inside the first large POST.
        await run_in_threadpool(ingestor.validator.warm_up)
        await run_in_threadpool(platform_identities, database, settings)
        scheduler.start()
        change_feed.start()
        yield
        change_feed.close()
        scheduler.close()
        audit_writer.close()
        authenticator.close()
        ingestor.close()
        lookup_helper.close()
        database.dispose()

    app = FastAPI(
        title="Shieldwall",
        version="0.1.0",
        description="Threat-intelligence sharing and incident coordination for a cyber-defence "
        "partnership. Authenticate with `Authorization: Bearer <API key>`.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # api/docs.py serves Swagger UI and ReDoc from local assets
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(storable_input), Depends(known_query_parameters)],
    )
    app.state.settings = settings
    app.state.db = database
    app.state.ingestor = ingestor
    app.state.lookup_helper = lookup_helper
    app.state.scheduler = scheduler
    app.state.audit_writer = audit_writer
    app.state.authenticator = authenticator
    app.state.change_feed = change_feed
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    for capability in (
        members_routes,
        intel_routes,
        correlate_routes,
        sightings_routes,
        search_routes,
        reports_routes,
        exchange_routes,
        audit_routes,
        dataprotection_routes,
        taxii_routes,
        incidents_routes,
        dashboard_routes,
        stream_routes,
        federation_routes,
        web_routes,
    ):
        capability.register(app)
    app.add_middleware(BodyLimit, bundle_limit=settings.max_bundle_bytes)
    app.add_middleware(errors.ServerErrors)  # added last: the outermost, around every other
    return app
