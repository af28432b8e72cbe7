"""Tables of incidents, responders, taskings, clocks, timeline, tasks, evidence and links.

Who may see an incident is decided by the policy (policy.incident_visible_filter) from two of
them: `incidents` (its requester and coordinator) and `taskings` (responders whose tasking
stands). Every other table hangs off an incident and is read only through it. Times are the
sortable UTC text every table stores (db.utc_now's format); lists of words are JSON text.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

from shieldwall.db import metadata

_BIGINT = BigInteger().with_variant(Integer, "sqlite")

# What each member declares it can do for others, where and when (one row per member).
responder_profiles = Table(
    "responder_profiles",
    metadata,
    Column("member_id", String(36), primary_key=True),
    Column("capabilities", Text, nullable=False),  # JSON list of config.CAPABILITIES
    Column("countries", Text, nullable=False),  # JSON list of ISO 3166 alpha-2 codes
    Column("sectors", Text, nullable=False),  # JSON list
    Column("languages", Text, nullable=False),  # JSON list of ISO 639-1 codes
    Column("availability", String(12), nullable=False),  # config.AVAILABILITIES
    Column("note", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("updated_by_user_id", String(36)),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    # Filing order, assigned under the write lock: what list cursors page by.
    Column("seq", _BIGINT, nullable=False, unique=True),
    Column("title", String(300), nullable=False),  # sanitised
    Column("description", Text, nullable=False),  # sanitised: the original is never stored
    Column("severity", String(10), nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("status_before_wait", String(24)),  # where `resume` returns to
    Column("requester_member_id", String(36), nullable=False),
    Column("coordinator_member_id", String(36), nullable=False),
    Column("coordinator_reason", Text, nullable=False),  # why the rule chose it, or the handover
    Column("countries", Text, nullable=False),  # JSON lists: what is hit, and what is needed
    Column("sectors", Text, nullable=False),
    Column("services", Text, nullable=False),
    Column("needs", Text, nullable=False),
    Column("languages", Text, nullable=False),
    Column("filed_by_user_id", String(36), nullable=False),
    Column("filed_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("closed_at", String(32)),
    Column("resolution", String(12)),
    Column("summary", Text),
    Index("ix_incidents_requester", "requester_member_id"),
    Index("ix_incidents_coordinator", "coordinator_member_id"),
    Index("ix_incidents_status", "status"),
)

# A responder asked to help: tasked (awaiting its answer until answer_by), then accepted,
# declined (with a reason), expired (silence past answer_by) or released (by the coordinator, or
# when the incident closed). Tasked and accepted taskings let the member see the incident.
taskings = Table(
    "taskings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), nullable=False),
    Column("member_id", String(36), nullable=False),
    Column("state", String(10), nullable=False),
    Column("rank", Integer),  # its place among the proposals when tasked, if it was proposed
    Column("score", Integer),
    Column("reasons", Text, nullable=False),  # JSON list: why it was proposed or tasked
    Column("tasked_at", String(32), nullable=False),
    Column("tasked_by_user_id", String(36)),  # NULL: the platform moved to the next in rank
    Column("answer_by", String(32)),
    Column("answered_at", String(32)),
    Column("answered_by_user_id", String(36)),
    Column("reason", Text),  # the responder's, on accepting or declining; the platform's else
    Column("replaces_id", String(36)),  # the tasking whose decline or silence led to this one
    Index("ix_taskings_incident", "incident_id"),
    Index("ix_taskings_member_state", "member_id", "state"),
    Index("ix_taskings_state_answer_by", "state", "answer_by"),
)

# One row per clock per incident; the elapsed time is computed from filed_at, stopped_at and
# the incident's pauses. warned_at and breached_at say when the platform announced each.
incident_clocks = Table(
    "incident_clocks",
    metadata,
    Column("incident_id", String(36), nullable=False),
    Column("clock", String(12), nullable=False),
    Column("target_seconds", Integer, nullable=False),
    Column("stopped_at", String(32)),
    Column("stopped_by", String(8)),  # 'event' (what it measures happened) or 'closed'
    Column("warned_at", String(32)),
    Column("breached_at", String(32)),
    PrimaryKeyConstraint("incident_id", "clock"),
)

# Spans of waiting on the requester, during which every running clock stands still.
incident_pauses = Table(
    "incident_pauses",
    metadata,
    Column("incident_id", String(36), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("ended_at", String(32)),
    PrimaryKeyConstraint("incident_id", "started_at"),
)

# Everything that happened, written by the platform (member_id NULL) and by people.
incident_timeline = Table(
    "incident_timeline",
    metadata,
    Column("id", _BIGINT, primary_key=True, autoincrement=False),  # assigned under the write lock
    Column("incident_id", String(36), nullable=False),
    Column("at", String(32), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("member_id", String(36)),
    Column("user_id", String(36)),
    Column("text", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON object
    Index("ix_incident_timeline_incident", "incident_id", "id"),
)

# The timeline entries each change-log entry of action "incident" announced, with the policy's
# columns a reader needs (the incident, to filter with incident_visible_filter; its TLP, for a
# selection's ceiling). Entries of kind `link` and `intel` name intel objects in their detail,
# which a reader must filter again with the intel policy.
incident_changes = Table(
    "incident_changes",
    metadata,
    Column("seq", BigInteger, nullable=False),  # change_log.seq
    Column("timeline_id", BigInteger, nullable=False),
    Column("incident_id", String(36), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("tlp", SmallInteger, nullable=False),
    PrimaryKeyConstraint("seq", "timeline_id"),
    Index("ix_incident_changes_incident", "incident_id"),
)

incident_tasks = Table(
    "incident_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), nullable=False),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("owner_member_id", String(36), nullable=False),
    Column("owner_user_id", String(36)),
    Column("due_at", String(32)),
    Column("mandatory", Boolean, nullable=False),
    Column("status", String(10), nullable=False),  # open, done, cancelled
    Column("created_at", String(32), nullable=False),
    Column("created_by_user_id", String(36), nullable=False),
    Column("done_at", String(32)),
    Column("done_by_user_id", String(36)),
    Column("overdue_at", String(32)),  # when the platform announced it overdue
    Index("ix_incident_tasks_incident", "incident_id"),
    Index("ix_incident_tasks_owner", "owner_member_id", "status"),
)

# Evidence is recorded, not stored: its hash, where it is kept and who holds it.
incident_evidence = Table(
    "incident_evidence",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("incident_id", String(36), nullable=False),
    Column("name", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("hash_algorithm", String(8), nullable=False),
    Column("hash_value", String(128), nullable=False),
    Column("size_bytes", BigInteger),
    Column("location", Text, nullable=False),
    Column("collected_at", String(32), nullable=False),
    Column("holder_member_id", String(36), nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("ix_incident_evidence_incident", "incident_id"),
)

# Each evidence item's chain of custody, append-only and hash-chained per item like the audit
# log: changing, removing or reordering an entry breaks the chain from there on.
evidence_custody = Table(
    "evidence_custody",
    metadata,
    Column("evidence_id", String(36), nullable=False),
    Column("position", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    Column("action", String(12), nullable=False),
    Column("from_member_id", String(36)),
    Column("to_member_id", String(36), nullable=False),  # who holds it after this entry
    Column("member_id", String(36), nullable=False),  # who recorded it
    Column("user_id", String(36), nullable=False),
    Column("hash_seen", String(128)),  # the hash the holder computed, if it checked
    Column("note", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("evidence_id", "position"),
)

# Intel in the store an incident refers to; shown to each viewer only as far as the intel policy
# lets that viewer see it.
incident_links = Table(
    "incident_links",
    metadata,
    Column("incident_id", String(36), nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("member_id", String(36), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("linked_at", String(32), nullable=False),
    Column("via", String(8), nullable=False),  # filing, link, or shared (shared back from it)
    PrimaryKeyConstraint("incident_id", "object_id"),
    Index("ix_incident_links_object", "object_id"),
)

# Who led the incident when: one row per coordinator, the current one with until NULL.
incident_leads = Table(
    "incident_leads",
    metadata,
    Column("incident_id", String(36), nullable=False),
    Column("member_id", String(36), nullable=False),
    Column("since", String(32), nullable=False),
    Column("until", String(32)),
    Column("reason", Text, nullable=False),
    Column("by_user_id", String(36)),
    PrimaryKeyConstraint("incident_id", "since", "member_id"),
)
