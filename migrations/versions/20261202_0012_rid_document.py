"""The document a RID version was issued as (the baseline's PDF, stored byte for byte): rid_document

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rid_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rid_version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rid_version_id'], ['rid_version.id'], name=op.f('fk_rid_document_rid_version_id_rid_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rid_document')),
    sa.UniqueConstraint('rid_version_id', name=op.f('uq_rid_document_rid_version_id'))
    )


def downgrade():
    op.drop_table('rid_document')
