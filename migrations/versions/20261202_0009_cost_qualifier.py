"""cost_item.qualifier: how firm a cost's amount is (estimated, around or fixed)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Existing costs read as before: a fixed amount, shown with no qualifying word.
    with op.batch_alter_table('cost_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qualifier', sa.String(length=20), server_default='fixed', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_cost_item_qualifier'), "qualifier IN ('estimated', 'around', 'fixed')")


def downgrade():
    with op.batch_alter_table('cost_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cost_item_qualifier'), type_='check')
        batch_op.drop_column('qualifier')
