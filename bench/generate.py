"""Fill an empty database with years of releases for the benchmarks.

    .venv/bin/python bench/generate.py --scale 10 --database-url sqlite:////tmp/bench10.db [--years 5]
        [--upload-folder DIR]

Scale S means S x (3 releases a year over --years years). Each release has 10-20 criteria, 2-4 evidence files per
criterion (small real files in the upload folder, content-addressed like real uploads), an assessment history,
and, once decided, an OpsG recommendation, a closed vote of the 12 Panel members with their signed ballots and the
Panel decision. The next four releases to go live (from a month ago) are in progress (an open vote, OpsG review, two in evidence
gathering); those after them are drafts. Every row gets the
audit event its service would have written, chained exactly as record_event chains them. Rows are inserted in bulk
with explicit ids, so the database must be empty.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestConfig  # noqa: E402
from portal import create_app  # noqa: E402
from portal.access import Role  # noqa: E402
from portal.audit.models import GENESIS_HASH, AuditEvent  # noqa: E402
from portal.audit.keys import audit_keys  # noqa: E402
from portal.audit.services import link_hash  # noqa: E402  (the chain's own hash, so the chain verifies)
from portal.auth.models import User  # noqa: E402
from portal.auth.services import hash_password  # noqa: E402
from portal.criteria.models import Assessment  # noqa: E402
from portal.decisions.models import Ballot, Decision, Recommendation, Vote, VoteMember  # noqa: E402
from portal.criteria.evidence_models import EvidenceFile, EvidenceSubmission  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.releases.demo import CRITERIA, DEMO_PASSWORD, load_demo_users  # noqa: E402
from portal.releases.models import (Criterion, Milestone, MilestoneKind, ModificationProposal, Release,  # noqa: E402
                                    RidVersion, ScopeEntry, ScopeStatus, Stage)
from portal.releases import rid_live  # noqa: E402
from portal.signatures import Signature, content_digest  # noqa: E402

MONTHS = (2, 6, 11)  # three releases a year, as SEC releases run
FILE_POOL = 64  # distinct evidence files on disk; rows reuse them across criteria (never twice in one criterion)
UTC = dt.timezone.utc
# History grows with the scale; the work in progress does not (a handful of releases run at once).
IN_PROGRESS = (Stage.PANEL_VOTE, Stage.OPSG_REVIEW, Stage.EVIDENCE, Stage.EVIDENCE)


class Ids:
    """Explicit primary keys, so rows can point at each other before a bulk insert."""

    def __init__(self):
        self.next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        self.next[table] = self.next.get(table, 0) + 1
        return self.next[table]


class Builder:
    def __init__(self, scale: int, years: int, first_year: int, upload_folder: Path, seed: int = 7):
        self.rnd = random.Random(seed)
        self.scale, self.years, self.first_year = scale, years, first_year
        self.upload_folder = upload_folder
        self.ids = Ids()
        self.rows: dict[type, list[dict]] = {}
        self.events: list[dict] = []
        # Work on releases still in progress is dated no later than now.
        self.clock = dt.datetime.now(UTC).replace(microsecond=0)

    def add(self, model, **values) -> int:
        values.setdefault("id", self.ids(model.__tablename__))
        self.rows.setdefault(model, []).append(values)
        return values["id"]

    def event(self, actor: User | None, action: str, summary: str, *, obj_type: str, obj_id: int,
              release_id: int | None, at: dt.datetime, **details):
        self.events.append(dict(occurred_at=min(at, self.clock), actor_id=actor.id if actor else None,
                                actor_name=actor.name if actor else "System",
                                actor_role=str(actor.role) if actor else None, on_behalf_of_id=None,
                                action=action, object_type=obj_type, object_id=obj_id, release_id=release_id,
                                summary=summary, details=details))

    def sign(self, actor: User, meaning: str, content: dict, at: dt.datetime) -> int:
        signed = {"meaning": meaning, "signer_id": actor.id, "signer_name": actor.name,
                  "signer_role": str(actor.role), "signed_at": at.isoformat(), "content": content}
        return self.add(Signature, signer_id=actor.id, signer_name=actor.name, signer_role=str(actor.role),
                        signed_at=at, meaning=meaning, digest=content_digest(signed), content=content)

    # --- Evidence files on disk ----------------------------------------------------------------------

    def write_file_pool(self) -> list[tuple[str, int]]:
        pool = []
        for i in range(FILE_POOL):
            body = (f"Evidence file {i}\n".encode() + self.rnd.randbytes(self.rnd.randint(2_000, 60_000)))
            sha = hashlib.sha256(body).hexdigest()
            path = self.upload_folder / sha[:2] / sha
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            pool.append((sha, len(body)))
        return pool

    # --- One release ---------------------------------------------------------------------------------

    def release(self, n: int, go_live: dt.date, stage: Stage, people: dict, pool, mps: list[int]):
        rnd, at = self.rnd, dt.datetime.combine(go_live - dt.timedelta(days=150), dt.time(9), UTC)
        secas, dcc, opsg, chair = people["secas"], people["dcc"], people["opsg"], people["panel"][0]
        code = f"{go_live:%Y-%m}-{n:04d}"
        rid = self.add(Release, code=code, name=f"{go_live:%B %Y} SEC Release {n}", stage=stage,
                       planned_go_live=go_live, sec_version=None, about="A generated release. " * 20,
                       approved_mps_note="", targeted_mps_note="", change_requests_note="",
                       document_impacts_note="", other_codes_note="", test_strategy_note="",
                       user_testing_note="", dcc_costs_note="", secas_costs_note="", created_at=at)
        self.event(secas, "release.created", f"Created {code}", obj_type="Release", obj_id=rid, release_id=rid, at=at)
        self.add(RidVersion, release_id=rid, major=0, minor=1, issued_on=at.date(), change_note="First draft.",
                 is_baseline=False, snapshot=None, created_by_id=secas.id, created_at=at)
        for position, mp in enumerate(rnd.sample(mps, 4)):
            self.add(ScopeEntry, release_id=rid, mp_id=mp, status=ScopeStatus.APPROVED, cutoff_date=None,
                     summary="Scope summary. " * 5, moved_to_id=None, position=position)
        for position, (kind, days) in enumerate(((MilestoneKind.BASELINE, -120), (MilestoneKind.EVIDENCE, -40),
                                                 (MilestoneKind.OPSG_REVIEW, -25),
                                                 (MilestoneKind.PANEL_DECISION, -10), (MilestoneKind.GO_LIVE, 0))):
            self.add(Milestone, release_id=rid, kind=kind, due_on=go_live + dt.timedelta(days=days),
                     event=kind.value.replace("_", " ").capitalize(), notes="", acting_role=Role.SECAS,
                     position=position)
        decided = stage in (Stage.LIVE, Stage.APPROVED, Stage.PANEL_VOTE)
        for number in range(1, rnd.randint(10, 20) + 1):
            role, text = CRITERIA[(number - 1) % len(CRITERIA)]
            cid = self.add(Criterion, release_id=rid, number=number, text=text, owner_role=role)
            self.event(secas, "rid.criterion_added", f"Added criterion {number}", obj_type="Criterion",
                       obj_id=cid, release_id=rid, at=at)
            owner = dcc if role == Role.DCC else secas
            for sha, size in rnd.sample(pool, rnd.randint(2, 4)):
                up = at + dt.timedelta(days=rnd.randint(60, 100), minutes=rnd.randint(0, 600))
                fid = self.add(EvidenceFile, release_id=rid, criterion_id=cid, sha256=sha, size=size,
                               content_type="application/pdf", type_label="PDF document",
                               original_name=f"evidence-{number}-{sha[:6]}.pdf", description="Test report.",
                               uploaded_by_id=owner.id, uploaded_at=up, answers_request_id=None, replaces_id=None,
                               withdrawn_at=None, withdrawn_by_id=None, withdraw_reason="")
                self.event(owner, "evidence.upload", f"Uploaded evidence-{number}.pdf to criterion {number}",
                           obj_type="EvidenceFile", obj_id=fid, release_id=rid, at=up, sha256=sha, size=size)
            if stage == Stage.DRAFT:
                continue
            history = ["preliminary"] * rnd.randint(1, 2) + (["final"] if decided or stage == Stage.OPSG_REVIEW
                                                             and number % 2 else [])
            for i, kind in enumerate(history):
                when = at + dt.timedelta(days=110 + i * 5)
                status = "met" if kind == "final" else rnd.choice(("met", "partially_met", "not_met"))
                sig = self.sign(opsg, "Final assessment", {"criterion": cid, "status": status}, when) \
                    if kind == "final" else None
                aid = self.add(Assessment, release_id=rid, criterion_id=cid, status=status, kind=kind,
                               rationale="Reviewed the evidence provided. " * 4, review_round=1,
                               is_current_final=kind == "final", assessed_by_id=opsg.id, assessed_at=when,
                               signature_id=sig)
                self.event(opsg, f"assessment.{kind}", f"Assessed criterion {number}: {status}",
                           obj_type="Assessment", obj_id=aid, release_id=rid, at=when)
        if stage in (Stage.DRAFT, Stage.EVIDENCE):
            return
        for role, who in ((Role.DCC, dcc), (Role.SECAS, secas)):
            when = at + dt.timedelta(days=108)
            sid = self.add(EvidenceSubmission, release_id=rid, role=role, review_round=1, submitted_by_id=who.id,
                           submitted_at=when, due_on=go_live - dt.timedelta(days=40))
            self.event(who, "evidence.submit", f"{role.label} submitted its evidence", obj_type="EvidenceSubmission",
                       obj_id=sid, release_id=rid, at=when)
        if not decided:
            return
        when = at + dt.timedelta(days=125)
        sig = self.sign(opsg, "OpsG recommendation", {"release": rid, "kind": "as_planned"}, when)
        rec = self.add(Recommendation, release_id=rid, round=1, kind="as_planned", conditions=[],
                       reasons="All criteria met.", is_current=True, recorded_by_id=opsg.id, recorded_at=when,
                       signature_id=sig)
        self.event(opsg, "recommendation.recorded", "OpsG recommendation: Implement as planned",
                   obj_type="Recommendation", obj_id=rec, release_id=rid, at=when)
        opened = at + dt.timedelta(days=130)
        is_open = stage == Stage.PANEL_VOTE
        vote = self.add(Vote, release_id=rid, round=1, state="open" if is_open else "closed", chair_id=chair.id,
                        opened_at=opened, closes_at=None, closed_at=None if is_open else opened + dt.timedelta(days=3),
                        closed_by_id=None if is_open else chair.id, outcome=None if is_open else "go",
                        abstentions_count_to_quorum=True, chair_has_casting_vote=True)
        self.event(chair, "vote.opened", "Panel vote opened with 12 eligible members", obj_type="Vote", obj_id=vote,
                   release_id=rid, at=opened)
        voters = people["panel"][: 6 if is_open else 12]
        for member in people["panel"]:
            self.add(VoteMember, vote_id=vote, member_id=member.id, alternate_id=None, conflict_note=None,
                     conflict_declared_at=None)
        for i, member in enumerate(voters):
            when = opened + dt.timedelta(hours=i + 1)
            choice = "no_go" if i % 5 == 4 else "go"
            sig = self.sign(member, "Panel ballot", {"vote": vote, "choice": choice}, when)
            bid = self.add(Ballot, vote_id=vote, member_id=member.id, cast_by_id=member.id, choice=choice,
                           comment="", is_current=True, cast_at=when, signature_id=sig)
            self.event(member, "vote.ballot_cast", f"{member.name} cast a ballot", obj_type="Ballot", obj_id=bid,
                       release_id=rid, at=when)
        if is_open:
            return
        closed = opened + dt.timedelta(days=3)
        self.event(chair, "vote.closed", "Panel vote closed: Go", obj_type="Vote", obj_id=vote, release_id=rid,
                   at=closed)
        sig = self.sign(chair, "Panel decision", {"release": rid, "outcome": "go"}, closed)
        did = self.add(Decision, release_id=rid, round=1, vote_id=vote, outcome="go", reasons="The Panel agreed.",
                       planned_go_live=go_live, recorded_by_id=chair.id, recorded_at=closed, signature_id=sig)
        self.event(chair, "decision.recorded", "Panel decision: Go", obj_type="Decision", obj_id=did,
                   release_id=rid, at=closed)

    def build(self, people: dict, today: dt.date):
        pool = self.write_file_pool()
        mps = [self.add(ModificationProposal, reference=f"MP{200 + i}", title=f"Modification {200 + i}", url="")
               for i in range(40)]
        n = in_progress = 0
        for year in range(self.first_year, self.first_year + self.years):
            for month in MONTHS:
                for k in range(self.scale):
                    n += 1
                    go_live = dt.date(year, month, 20 + k % 8)
                    if go_live < today - dt.timedelta(days=30):
                        stage = Stage.LIVE
                    else:  # a few releases are in progress at any time; those further off are still drafts
                        stage = IN_PROGRESS[in_progress] if in_progress < len(IN_PROGRESS) else Stage.DRAFT
                        in_progress += 1
                    self.release(n, go_live, stage, people, pool, mps)
        return n


def chain_events(events: list[dict], head_id: int, head_hash: str) -> list[dict]:
    """Give each event its id and hashes, computed as record_event does (AuditEvent.canonical + link_hash)."""
    events.sort(key=lambda e: e["occurred_at"])
    keys = audit_keys()
    prev_hash, out = head_hash, []
    for i, values in enumerate(events, start=head_id + 1):
        values["details"] = json.loads(json.dumps(values["details"], default=str))
        event = AuditEvent(id=i, prev_hash=prev_hash, key_id=keys.key_id, **values)
        values.update(id=i, prev_hash=prev_hash, key_id=keys.key_id,
                      hash=link_hash(prev_hash, event.canonical(), keys.hmac_keys[keys.key_id]))
        prev_hash = values["hash"]
        out.append(values)
    return out


def make_people() -> dict:
    """The demo users plus enough Panel members for a Panel of 12 (all with the demo password)."""
    load_demo_users()
    password_hash = hash_password(DEMO_PASSWORD)
    for i in range(5, 13):
        email = f"panel.member{i}@example.org"
        if db.session.scalar(sa.select(User).where(User.email == email)) is None:
            db.session.add(User(email=email, name=f"Panel Member {i}", organisation="SEC Panel", role=Role.PANEL,
                                password_hash=password_hash, must_change_password=False))
    db.session.flush()
    users = db.session.scalars(sa.select(User).order_by(User.id)).all()
    by_email = {u.email: u for u in users}
    panel = [u for u in users if u.role == Role.PANEL]
    panel.sort(key=lambda u: not u.is_chair)
    return {"secas": by_email["secas.admin@example.org"], "dcc": by_email["dcc.lead@example.org"],
            "opsg": by_email["opsg.chair@example.org"], "panel": panel[:12]}


def generate(scale: int, database_url: str, upload_folder: str, years: int = 5, quiet: bool = False) -> dict:
    """Build the data set; returns counts of the rows written."""
    started = time.perf_counter()

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        UPLOAD_FOLDER = upload_folder

    app = create_app(BenchConfig)
    with app.app_context():
        db.create_all()
        if db.session.scalar(sa.select(sa.func.count()).select_from(Release)):
            raise SystemExit("The database already holds releases: generate into an empty database.")
        people = make_people()
        head = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        builder = Builder(scale, years, first_year=dt.date.today().year - years + 2,
                          upload_folder=Path(upload_folder))
        # Signatures already written (none in a fresh database) keep their ids.
        for model in (Signature, AuditEvent):
            builder.ids.next[model.__tablename__] = db.session.scalar(sa.select(sa.func.max(model.id))) or 0
        releases = builder.build(people, dt.date.today())
        events = chain_events(builder.events, head.id if head else 0, head.hash if head else GENESIS_HASH)
        counts = {"releases": releases, "audit_event": len(events)}
        order = {table.name: i for i, table in enumerate(db.metadata.sorted_tables)}
        for model, rows in sorted(builder.rows.items(), key=lambda item: order[item[0].__tablename__]):
            for start in range(0, len(rows), 5000):
                db.session.execute(sa.insert(model), rows[start:start + 5000])
            counts[model.__tablename__] = len(rows)
        for start in range(0, len(events), 5000):
            db.session.execute(sa.insert(AuditEvent), events[start:start + 5000])
        # Bulk inserts bypass the session hooks that keep Release.rid_live: store each release's current RID here.
        rid_live.refresh(list(db.session.scalars(sa.select(Release.id))))
        if db.engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
            for model in [*builder.rows, AuditEvent]:
                table = model.__tablename__
                db.session.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
    counts["seconds"] = round(time.perf_counter() - started, 1)
    if not quiet:
        print(json.dumps(counts))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--upload-folder", default=os.environ.get("UPLOAD_FOLDER", "/tmp/portal-bench-evidence"))
    args = parser.parse_args()
    generate(args.scale, args.database_url, args.upload_folder, args.years)


if __name__ == "__main__":
    main()
