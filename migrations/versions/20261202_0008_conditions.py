"""Conditions tracked one per row (recommendation_condition); decision.rid_version_id; the baseline's Panel meeting on rid_version

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recommendation_condition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('owner_role', sa.Enum('dcc', 'secas', 'opsg', 'panel', name='role', native_enum=False, length=30), nullable=False),
    sa.Column('state', sa.Enum('open', 'met', 'accepted', 'waived', name='conditionstate', native_enum=False, length=30), nullable=False),
    sa.Column('met_statement', sa.Text(), nullable=True),
    sa.Column('met_by_id', sa.Integer(), nullable=True),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_size', sa.BigInteger(), nullable=True),
    sa.Column('file_type', sa.String(length=120), nullable=True),
    sa.Column('settled_by_id', sa.Integer(), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('waive_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("owner_role IN ('dcc', 'secas')", name=op.f('ck_recommendation_condition_owner_dcc_or_secas')),
    sa.CheckConstraint("state != 'waived' OR waive_reason IS NOT NULL", name=op.f('ck_recommendation_condition_waived_has_reason')),
    sa.CheckConstraint("state = 'open' OR state = 'waived' OR met_at IS NOT NULL", name=op.f('ck_recommendation_condition_met_has_evidence')),
    sa.ForeignKeyConstraint(['met_by_id'], ['user.id'], name=op.f('fk_recommendation_condition_met_by_id_user')),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendation.id'], name=op.f('fk_recommendation_condition_recommendation_id_recommendation')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_recommendation_condition_release_id_release')),
    sa.ForeignKeyConstraint(['settled_by_id'], ['user.id'], name=op.f('fk_recommendation_condition_settled_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_condition')),
    sa.UniqueConstraint('recommendation_id', 'number', name=op.f('uq_recommendation_condition_recommendation_id_number'))
    )
    with op.batch_alter_table('recommendation_condition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_condition_recommendation_id'), ['recommendation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recommendation_condition_release_id'), ['release_id'], unique=False)

    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rid_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_decision_rid_version_id_rid_version'), 'rid_version', ['rid_version_id'], ['id'])

    with op.batch_alter_table('rid_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('panel_meeting_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('panel_minute_ref', sa.String(length=100), nullable=True))



def downgrade():
    with op.batch_alter_table('rid_version', schema=None) as batch_op:
        batch_op.drop_column('panel_minute_ref')
        batch_op.drop_column('panel_meeting_on')

    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_decision_rid_version_id_rid_version'), type_='foreignkey')
        batch_op.drop_column('rid_version_id')

    with op.batch_alter_table('recommendation_condition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_condition_release_id'))
        batch_op.drop_index(batch_op.f('ix_recommendation_condition_recommendation_id'))

    op.drop_table('recommendation_condition')
