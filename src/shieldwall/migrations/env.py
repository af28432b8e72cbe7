"""Alembic environment: runs on the connection `shieldwall.db.migrate` hands over."""

from alembic import context

from shieldwall.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand, for autogenerate
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    connection = engine.connect()


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave the scoped full-text index (FTS5 keeps shadow tables beside it) out of comparisons."""
    return not (type_ == "table" and name is not None and name.startswith("search_words"))


context.configure(
    connection=connection,
    target_metadata=metadata,
    include_name=include_name,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
