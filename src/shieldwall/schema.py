"""The whole schema: importing this module registers every capability's tables on `metadata`."""

from shieldwall import jobs as jobs_tables
from shieldwall.audit import tables as audit_tables
from shieldwall.correlate import tables as correlate_tables
from shieldwall.dataprotection import tables as dataprotection_tables
from shieldwall.db import metadata
from shieldwall.federation import keys as federation_keys
from shieldwall.federation import tables as federation_tables
from shieldwall.incidents import tables as incidents_tables
from shieldwall.intel import tables as intel_tables
from shieldwall.members import tables as members_tables
from shieldwall.search import tables as search_tables
from shieldwall.selections import tables as selections_tables
from shieldwall.sightings import tables as sightings_tables
from shieldwall.stream import tables as stream_tables
from shieldwall.taxii import tables as taxii_tables

__all__ = [
    "audit_tables",
    "correlate_tables",
    "dataprotection_tables",
    "federation_keys",
    "federation_tables",
    "incidents_tables",
    "intel_tables",
    "jobs_tables",
    "members_tables",
    "metadata",
    "search_tables",
    "selections_tables",
    "sightings_tables",
    "stream_tables",
    "taxii_tables",
]
