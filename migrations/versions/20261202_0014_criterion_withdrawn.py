"""A withdrawn acceptance criterion stays in the record: criterion.withdrawn_at

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 22:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
