"""Alembic environment for the platform DB, run only through ``ferryml.storage.db.upgrade``.

There is no ``alembic.ini`` and no URL here: ``upgrade`` passes an open connection, already in
a locked transaction, through ``config.attributes["connection"]``. To write a new revision::

    from alembic import command
    from ferryml.storage.db import alembic_config, make_engine, transaction
    with transaction(make_engine("sqlite:///scratch.db")) as conn:
        command.revision(alembic_config(conn), "add xyz", autogenerate=True)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ferryml.storage.db import VERSION_TABLE
from ferryml.storage.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "ferryml migrations run through ferryml.storage.db.upgrade(engine), "
        "not the alembic command line (offline SQL generation is not supported)"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode recreates the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
