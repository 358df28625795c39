"""The go-live notice, drafted when a release goes Live and published by SECAS: notice

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'published', name='noticestate', native_enum=False, length=30), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('sec_version', sa.String(length=20), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('modifications', sa.JSON(), nullable=False),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(state = 'draft' AND published_at IS NULL) OR (state = 'published' AND published_at IS NOT NULL AND published_by_id IS NOT NULL)", name=op.f('ck_notice_published_has_when_and_who')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user.id'], name=op.f('fk_notice_published_by_id_user')),
    sa.ForeignKeyConstraint(['release_id'], ['release.id'], name=op.f('fk_notice_release_id_release')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('release_id', name=op.f('uq_notice_release_id'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_published_at'), ['published_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_published_at'))
    op.drop_table('notice')
