"""incidents: assistance requests, responder profiles, taskings, clocks, timeline, tasks,
evidence and its custody, links to intel, and who led each incident when

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "responder_profiles",
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("capabilities", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("sectors", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("availability", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("updated_by_user_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_responder_profiles")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("status_before_wait", sa.String(length=24), nullable=True),
        sa.Column("requester_member_id", sa.String(length=36), nullable=False),
        sa.Column("coordinator_member_id", sa.String(length=36), nullable=False),
        sa.Column("coordinator_reason", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("sectors", sa.Text(), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("filed_by_user_id", sa.String(length=36), nullable=False),
        sa.Column("filed_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("closed_at", sa.String(length=32), nullable=True),
        sa.Column("resolution", sa.String(length=12), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("seq", name=op.f("uq_incidents_seq")),
    )
    op.create_index("ix_incidents_coordinator", "incidents", ["coordinator_member_id"])
    op.create_index("ix_incidents_requester", "incidents", ["requester_member_id"])
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "taskings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("tasked_at", sa.String(length=32), nullable=False),
        sa.Column("tasked_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("answer_by", sa.String(length=32), nullable=True),
        sa.Column("answered_at", sa.String(length=32), nullable=True),
        sa.Column("answered_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("replaces_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taskings")),
    )
    op.create_index("ix_taskings_incident", "taskings", ["incident_id"])
    op.create_index("ix_taskings_member_state", "taskings", ["member_id", "state"])
    op.create_index("ix_taskings_state_answer_by", "taskings", ["state", "answer_by"])
    op.create_table(
        "incident_clocks",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("clock", sa.String(length=12), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("stopped_at", sa.String(length=32), nullable=True),
        sa.Column("stopped_by", sa.String(length=8), nullable=True),
        sa.Column("warned_at", sa.String(length=32), nullable=True),
        sa.Column("breached_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", "clock", name=op.f("pk_incident_clocks")),
    )
    op.create_table(
        "incident_pauses",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.String(length=32), nullable=False),
        sa.Column("ended_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", "started_at", name=op.f("pk_incident_pauses")),
    )
    op.create_table(
        "incident_timeline",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=False,
        ),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_timeline")),
    )
    op.create_index("ix_incident_timeline_incident", "incident_timeline", ["incident_id", "id"])
    op.create_table(
        "incident_changes",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("timeline_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("tlp", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "timeline_id", name=op.f("pk_incident_changes")),
    )
    op.create_index("ix_incident_changes_incident", "incident_changes", ["incident_id"])
    op.create_table(
        "incident_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_member_id", sa.String(length=36), nullable=False),
        sa.Column("owner_user_id", sa.String(length=36), nullable=True),
        sa.Column("due_at", sa.String(length=32), nullable=True),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=36), nullable=False),
        sa.Column("done_at", sa.String(length=32), nullable=True),
        sa.Column("done_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("overdue_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_tasks")),
    )
    op.create_index("ix_incident_tasks_incident", "incident_tasks", ["incident_id"])
    op.create_index("ix_incident_tasks_owner", "incident_tasks", ["owner_member_id", "status"])
    op.create_table(
        "incident_evidence",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("hash_algorithm", sa.String(length=8), nullable=False),
        sa.Column("hash_value", sa.String(length=128), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("collected_at", sa.String(length=32), nullable=False),
        sa.Column("holder_member_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_evidence")),
    )
    op.create_index("ix_incident_evidence_incident", "incident_evidence", ["incident_id"])
    op.create_table(
        "evidence_custody",
        sa.Column("evidence_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("from_member_id", sa.String(length=36), nullable=True),
        sa.Column("to_member_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("hash_seen", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("evidence_id", "position", name=op.f("pk_evidence_custody")),
    )
    op.create_table(
        "incident_links",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("linked_at", sa.String(length=32), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "object_id", name=op.f("pk_incident_links")),
    )
    op.create_index("ix_incident_links_object", "incident_links", ["object_id"])
    op.create_table(
        "incident_leads",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("since", sa.String(length=32), nullable=False),
        sa.Column("until", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint(
            "incident_id", "since", "member_id", name=op.f("pk_incident_leads")
        ),
    )


def downgrade() -> None:
    op.drop_table("incident_leads")
    op.drop_table("incident_links")
    op.drop_table("evidence_custody")
    op.drop_table("incident_evidence")
    op.drop_table("incident_tasks")
    op.drop_table("incident_changes")
    op.drop_table("incident_timeline")
    op.drop_table("incident_pauses")
    op.drop_table("incident_clocks")
    op.drop_table("taskings")
    op.drop_table("incidents")
    op.drop_table("responder_profiles")
