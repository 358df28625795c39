"""audit_event.key_id and audit_checkpoint: the keyed audit chain and its signed checkpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00

Events already in the chain keep their plain SHA-256 links (key_id NULL); the portal's first event after the upgrade
is the first keyed one, and it is checkpointed at once. audit_checkpoint is append-only like audit_event. Downgrading
drops key_id and the checkpoints: events linked under a key no longer verify with the older code.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Adding a column is done in place on SQLite too, so audit_event keeps its triggers.
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=40), nullable=True))

    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signer', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    sa.UniqueConstraint('length', name=op.f('uq_audit_checkpoint_length'))
    )
    _run({"sqlite": SQLITE_TRIGGERS, "postgresql": PG_TRIGGERS})


def downgrade():
    _run({"sqlite": SQLITE_DROP, "postgresql": PG_DROP})
    op.drop_table('audit_checkpoint')
    # SQLite rebuilds the table to drop a column, and the rebuild loses its triggers: they are made again.
    _run({"sqlite": AUDIT_EVENT_SQLITE_DROP})
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('key_id')
    _run({"sqlite": AUDIT_EVENT_SQLITE_TRIGGERS})


# Checkpoints are append-only even against direct SQL, as audit events are (see portal/audit/models.py).
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
    "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_checkpoint_no_update", "DROP TRIGGER IF EXISTS audit_checkpoint_no_delete"]
PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_checkpoint_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit checkpoints are append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
    "ON audit_checkpoint FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_append_only()",
]
PG_DROP = ["DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint",
           "DROP FUNCTION IF EXISTS audit_checkpoint_append_only()"]
# audit_event's own SQLite triggers, as revision 0001 made them.
AUDIT_EVENT_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
]
AUDIT_EVENT_SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_event_no_update",
                           "DROP TRIGGER IF EXISTS audit_event_no_delete"]


def _run(statements_by_dialect):
    for statement in statements_by_dialect.get(op.get_bind().dialect.name, []):
        op.execute(statement)
