"""RID documents uploaded for import and not yet confirmed, in the database so that any host finds them: staged_rid

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 06:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staged_rid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_staged_rid_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_rid')),
    sa.UniqueConstraint('user_id', 'sha256', name=op.f('uq_staged_rid_user_id_sha256'))
    )
    with op.batch_alter_table('staged_rid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_rid_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('staged_rid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_rid_created_at'))
    op.drop_table('staged_rid')
