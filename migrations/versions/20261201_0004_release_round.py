"""Rounds as state: release.round, the round of each evidence file and request; revised final assessments

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('evidence_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('evidence_statement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revises_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revision_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_assessment_revises_id_assessment'), 'assessment',
                                    ['revises_id'], ['id'])
    # The round used to be counted from the audit trail (one per replan); it is state now.
    op.execute("UPDATE release SET round = 1 + (SELECT count(*) FROM audit_event "
               "WHERE audit_event.release_id = release.id AND audit_event.action = 'release.replan')")


def downgrade():
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assessment_revises_id_assessment'), type_='foreignkey')
        batch_op.drop_column('revision_reason')
        batch_op.drop_column('revises_id')
    with op.batch_alter_table('evidence_statement', schema=None) as batch_op:
        batch_op.drop_column('round')
    with op.batch_alter_table('evidence_request', schema=None) as batch_op:
        batch_op.drop_column('round')
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.drop_column('round')
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.drop_column('round')
