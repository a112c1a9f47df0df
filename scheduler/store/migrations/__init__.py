"""Schema migrations (Alembic) for SQLite and PostgreSQL, applied by ``make_engine``.

Layout::

    migrations/
      __init__.py        this note
      runner.py          upgrade(conn): lock, adopt a pre-migration store, upgrade to head
      legacy.py          adopt(conn): bring a store made before migrations to the baseline
      env.py             Alembic's entry point (the runner hands it a connection)
      script.py.mako     template for new revisions
      __main__.py        by hand: python -m scheduler.store.migrations --db-url URL upgrade
      versions/
        0001_baseline.py revision "0001_baseline": the tables of issue 7's start

Adding a revision: change ``scheduler/store/tables.py``, then write
``versions/NNNN_<name>.py`` with ``revision = "NNNN_<name>"`` and ``down_revision`` the
previous id (``python -m scheduler.store.migrations --db-url sqlite:////tmp/x.db
revision --autogenerate -m <name>`` drafts one against a store at the previous head).
Write the operations out (``op.create_table``/``op.add_column`` with plain SQLAlchemy
types), never from the code's current tables: a released revision never changes.
``tests/unit/scheduler/test_migrations.py`` checks that head equals ``tables.py`` on
SQLite and PostgreSQL (``alembic.autogenerate.compare_metadata``, no differences).
On SQLite, revisions run in batch mode (``render_as_batch``) so ALTERs work.
"""
