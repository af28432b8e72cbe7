"""What every route needs from the request: the app's database and settings, and the viewer."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from shieldwall.correlate.helper import LookupHelper
from shieldwall.db import Database
from shieldwall.errors import Forbidden, Unauthorized
from shieldwall.intel.ingest import Ingestor
from shieldwall.members.service import authenticate
from shieldwall.policy import Viewer
from shieldwall.settings import Settings


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


def get_lookup_helper(request: Request) -> LookupHelper:
    return request.app.state.lookup_helper


async def current_viewer(request: Request) -> Viewer:
    """The user behind `Authorization: Bearer <API key>`; 401 otherwise."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    viewer = await run_in_threadpool(authenticate, request.app.state.db, key.strip())
    if viewer is None:
        raise Unauthorized("this API key is not valid")
    return viewer


async def admin_viewer(request: Request) -> Viewer:
    viewer = await current_viewer(request)
    if not viewer.is_admin:
        raise Forbidden("only an instance admin may do this")
    return viewer
