"""signature.origin_signer_id: the signer's id where an imported signature was made

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_signer_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_column('origin_signer_id')
