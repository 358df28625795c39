"""release.rid_live: the RID as it stands now, kept on the release row

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00

Existing releases start with an empty column and are shown from their tables until their RID next changes;
`flask portal refresh-rid` fills it for all of them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rid_live', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.drop_column('rid_live')
