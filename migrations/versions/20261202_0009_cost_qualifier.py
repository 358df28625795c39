"""cost_item.qualifier: how firm a cost's amount is (estimated, around or fixed); the sentences the RID now derives
from its empty lists leave the stored narratives

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

DERIVED = {
    'approved_mps_note': 'There are no modifications currently approved for this release.',
    'change_requests_note': 'There are no DCC Change Requests planned to be implemented alongside this SEC Release.',
    'other_codes_note': 'No other Codes are impacted as a result of this release.',
}


def upgrade():
    # Existing costs read as before: a fixed amount, shown with no qualifying word.
    with op.batch_alter_table('cost_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qualifier', sa.String(length=20), server_default='fixed', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_cost_item_qualifier'), "qualifier IN ('estimated', 'around', 'fixed')")

    # portal/releases/rid_view.py derives these when the list is empty: a stored copy would show twice.
    # (The release page shows the stored RID, Release.rid_live, with such copies already left out.)
    release = sa.table('release', sa.column('approved_mps_note'), sa.column('change_requests_note'),
                       sa.column('other_codes_note'))
    for column, sentence in DERIVED.items():
        op.execute(release.update().where(release.c[column] == sentence).values({column: ''}))


def downgrade():
    with op.batch_alter_table('cost_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cost_item_qualifier'), type_='check')
        batch_op.drop_column('qualifier')
