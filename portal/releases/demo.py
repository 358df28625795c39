"""The February 2021 SEC Release, exactly as its RID (version 0.1, 7 Aug 2020) states, and demo users."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..access import Role
from ..audit.services import record_event
from ..auth import services as auth_services
from ..auth.models import User
from ..database import get_or_create
from ..extensions import db
from .models import (ChangeRequest, CostItem, Criterion, DocumentImpact, GlossaryTerm, ImpactSummary,
                     Milestone, MilestoneKind, ModificationProposal, ParticipantGroup, ParticipantImpact,
                     Release, RidVersion, ScopeEntry, ScopeStatus, SecDocument, Stage, TestPhase)
from .snapshot import rid_snapshot

D = dt.date
RELEASE_CODE = "feb-2021"

MODIFICATIONS = [
    ("MP092", "New Planned Maintenance methodology",
     "proposes to incorporate the DCC’s new approach for the delivery of Planned Maintenance which uses a "
     "risk-based methodology to categorise planned changes as either Low Impact or High Impact.",
     "https://smartenergycodecompany.co.uk/modifications/new-planned-maintenance-methodology/"),
    ("MP095", "Alignment of SEC Credit Cover",
     "proposes to change the SEC Credit Cover arrangements in order to minimise the risk of increased "
     "socialised costs when a Party ceases trading.",
     "https://smartenergycodecompany.co.uk/modifications/alignment-of-sec-credit-cover/"),
    ("MP111", "SMDA Budget Amendments",
     "proposes to change the Smart Metering Device Assurance (SMDA) funding model to ensure the SMDA can "
     "provide long-term test assurance.",
     "https://smartenergycodecompany.co.uk/modifications/smda-budget-amendments/"),
    ("MP122", "Operational Metrics",
     "proposes that the DCC facilitate the necessary changes to the DCC System in order to implement and "
     "report on the metrics recommended in the Operational Metrics Review (OMR), commissioned by the "
     "Operations Group (OPSG).",
     "https://smartenergycodecompany.co.uk/modifications/operational-metrics/"),
]

GROUPS = ["Suppliers", "Electricity Networks", "Gas Networks", "Other SEC Parties", "DCC"]
PARTICIPANT_MATRIX = {
    "MP092": GROUPS,
    "MP095": GROUPS,
    "MP111": GROUPS,
    "MP122": ["DCC"],
}

DOCUMENTS = [
    ("Section A", "Definitions and Interpretation"),
    ("Section H", "DCC Services"),
    ("Section J", "Payment of Charges"),
    ("Appendix AL", "SMETS1 Transition and Migration Approach Document"),
]
DOCUMENT_MATRIX = {
    "Section A": ["MP092", "MP122"],
    "Section H": ["MP092", "MP122"],
    "Section J": ["MP095"],
    "Appendix AL": ["MP092"],
}

PARTY_IMPACTS = [
    ("All SEC Parties", "Maintenance on DCC Systems affects all SEC Parties."),
    ("All SEC Parties", "Changes to the Credit Cover arrangements will impact all SEC Parties as this will have a "
     "direct impact on the credit cover they need to provide and on the level of socialised costs."),
    ("All SEC Parties", "The SMDA fixed costs would be covered by the SEC (so all Parties will be charged), and "
     "only Device Manufacturers will pay for SMDA variable costs."),
]
DCC_IMPACTS = [
    ("Contractual changes", "The DCC will need to make contractual changes with its Service Providers in order "
     "to implement the new Planned Maintenance methodology."),
    ("Contractual changes", "The DCC will need to make contractual changes with its Service Providers in order "
     "for them to supply the data in time for the DCC to meet its proposed new Service Level Agreement (SLA) "
     "for the Performance Measurement Report (PMR)."),
    ("Regulatory changes", "The DCC will be required to follow the Planned Maintenance methodology."),
    ("Regulatory changes", "The DCC will be required to produce the PMR within 10 Working Days from the end of "
     "the measurement reporting period."),
    ("Technical Operations Centre (TOC)", "The DCC’s TOC will need to implement the necessary system changes and "
     "provide increased application support in order to provide the metrics recommended by the OMR."),
]

MILESTONES = [
    (MilestoneKind.BASELINE, D(2020, 8, 14), "Panel baselines RID",
     "The Panel will review the RID and baseline the document.", Role.PANEL),
    (MilestoneKind.EVIDENCE, D(2021, 1, 26), "DCC submits evidence against the operational acceptance criteria",
     "", Role.DCC),
    (MilestoneKind.OPSG_REVIEW, D(2021, 2, 2), "Operations Group reviews status against the operational "
     "acceptance criteria",
     "The Operations Group will provide a recommendation to the Panel on whether the release should be "
     "implemented as planned. Preliminary reviews of progress will be scheduled across preceding meetings.",
     Role.OPSG),
    (MilestoneKind.PANEL_DECISION, D(2021, 2, 12), "Panel go/no-go decision",
     "The Panel will review the status of the release against the acceptance criteria and will determine if "
     "the release should be implemented as planned.", Role.PANEL),
    (MilestoneKind.GO_LIVE, D(2021, 2, 25), "Release go-live", "The changes are implemented.", Role.SECAS),
]

NO_SYSTEM_TESTING = ("This release will not impact the DCC Systems and so will not require any "
                     "Pre-Integration Testing (PIT), Systems Integration Testing (SIT) or User Integration "
                     "Testing (UIT).")
TEST_PHASES = [
    ("PIT", "Pre-Integration Testing"),
    ("SIT", "Systems Integration Testing"),
    ("UIT", "User Integration Testing"),
]

# party, description, amount in pence, already budgeted, qualifier: the RID's "estimated to be £340,000" and
# "around £1,200" / "around £3,000".
COSTS = [
    ("DCC", "DCC implementation costs, due to the implementation of MP122", 340_000_00, False, "estimated"),
    ("SECAS", "Two days of effort to update and implement the changes to the SEC", 1_200_00, True, "around"),
    ("SECAS", "Project management of the release (a maximum of five days of effort)", 3_000_00, True, "around"),
]

CRITERIA = [
    (Role.DCC, "The DCC has brought to readiness all the new and changed components needed to provide the new "
     "services. This will include completing the service design and proving the service operations capability."),
    (Role.DCC, "The DCC has demonstrated that all pre-existing services will be stable in the run-up to "
     "deployment of the release."),
    (Role.DCC, "The DCC has proven that the new services can be operated alongside, and integrated with, the "
     "existing services."),
    (Role.DCC, "The DCC has assessed the risk posed by existing problems and defects in the existing live "
     "service, and the implications these will have for the revised service."),
    (Role.DCC, "The DCC has assessed and addressed the impact on Users arising from any issues, defects or "
     "workarounds within the new services."),
    (Role.DCC, "The DCC has demonstrated that lessons learnt from previous SEC Releases and other DCC changes "
     "have been taken on board."),
    (Role.DCC, "The DCC has demonstrated there will be no detrimental impact on consumers’ experience."),
    (Role.DCC, "The DCC has completed assurance of the Business Continuity and Disaster Recovery processes."),
    (Role.SECAS, "SECAS will be ready to implement the approved changes to the SEC on the agreed implementation "
     "date."),
    (Role.SECAS, "SECAS has brought to readiness all the new and changed components that it is responsible for "
     "that are needed to support the new services."),
]

GLOSSARY = [
    ("ADT", "Anomaly Detection Threshold"),
    ("DCC", "Data Communication Company"),
    ("OMR", "Operational Metrics Review"),
    ("PIT", "Pre-Integration Testing"),
    ("PMR", "Performance Measurement Report"),
    ("RID", "Release Implementation Document"),
    ("SEC", "Smart Energy Code"),
    ("SECAS", "Smart Energy Code Administrator and Secretariat"),
    ("SIT", "System Integration Testing"),
    ("SMDA", "Smart Metering Device Assurance"),
    ("SSI", "Self-Service Interface"),
    ("TOC", "Technical Operations Centre"),
    ("UIT", "User Integration Testing"),
]

# email, name, organisation, role, admin, chair
DEMO_USERS = [
    ("secas.admin@example.org", "Sam Patel", "SECAS", Role.SECAS, True, False),
    ("dcc.lead@example.org", "Dana Clarke", "DCC", Role.DCC, False, False),
    ("dcc.ops@example.org", "Dev Chauhan", "DCC", Role.DCC, False, False),
    ("opsg.chair@example.org", "Olivia Grant", "Operations Group", Role.OPSG, False, True),
    ("opsg.member@example.org", "Owen Green", "Operations Group", Role.OPSG, False, False),
    ("panel.chair@example.org", "Priya Chandra", "SEC Panel", Role.PANEL, False, True),
    ("panel.member1@example.org", "Peter Moss", "SEC Panel", Role.PANEL, False, False),
    ("panel.member2@example.org", "Paula Meyer", "SEC Panel", Role.PANEL, False, False),
    ("panel.member3@example.org", "Patrick Murphy", "SEC Panel", Role.PANEL, False, False),
    ("panel.member4@example.org", "Pam Mills", "SEC Panel", Role.PANEL, False, False),
]
DEMO_PASSWORD = "demo-password-2021"


def load_demo_users() -> list[tuple[User, bool]]:
    """Create any missing demo user (with the shared demo password, no forced change)."""
    result = []
    for email, name, org, role, admin, chair in DEMO_USERS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        created = user is None
        if created:
            user, _ = auth_services.create_user(
                None, email=email, name=name, organisation=org, role=role, password=DEMO_PASSWORD,
                is_admin=admin, is_chair=chair, must_change_password=False)
        result.append((user, created))
    return result


def load_demo_release() -> tuple[Release, bool]:
    """Create the February 2021 release unless it exists. Returns it and whether it was created."""
    existing = db.session.scalar(sa.select(Release).where(Release.code == RELEASE_CODE))
    if existing:
        return existing, False

    release = Release(
        code=RELEASE_CODE, name="February 2021 SEC Release", stage=Stage.DRAFT,
        planned_go_live=D(2021, 2, 25),
        # "There are no modifications currently approved", "no DCC Change Requests planned" and "No other Codes
        # are impacted" are not stored: the RID derives them from its empty lists (rid_view.py).
        about=("This document is a Smart Energy Code (SEC) Release Implementation Document (RID). It summarises "
               "the scope of the SEC Release, the impacts it will have, the timeline and testing strategy, the "
               "central costs that will be incurred, and the acceptance criteria for this release. This document "
               "will be updated periodically as the release develops."),
        targeted_mps_note="No further modifications are expected to be added.",
        document_impacts_note="The SEC document impacts for MP111 are still under investigation.",
        test_strategy_note=(NO_SYSTEM_TESTING + " An element of internal DCC testing on the TOC will be required "
                            "in order to "
                            "implement MP122, but this is not within the Testing Advisory Group’s (TAG) remit "
                            "to monitor."),
        user_testing_note="There are no User testing impacts for this release.",
        dcc_costs_note=("None of the other modifications targeted for this release are expected to incur any "
                        "DCC implementation costs. No impact on operational costs have been identified."),
        secas_costs_note=("This cost has already been accounted for in the SECAS budget, and so Parties will "
                          "not incur any additional costs."),
    )
    db.session.add(release)
    db.session.flush()

    mps = {}
    for position, (ref, title, summary, url) in enumerate(MODIFICATIONS):
        mp = get_or_create(ModificationProposal, {"reference": ref}, title=title, url=url)
        mps[ref] = mp
        # The RID gives no cut-off dates for the targeted MPs; they are recorded when known.
        db.session.add(ScopeEntry(release_id=release.id, mp_id=mp.id, status=ScopeStatus.TARGETED,
                                  cutoff_date=None, summary=summary, position=position))
    groups = {name: get_or_create(ParticipantGroup, {"name": name}, position=i) for i, name in enumerate(GROUPS)}
    for ref, impacted in PARTICIPANT_MATRIX.items():
        for name in impacted:
            db.session.add(ParticipantImpact(release_id=release.id, mp_id=mps[ref].id, group_id=groups[name].id))
    for position, (subject, text) in enumerate(PARTY_IMPACTS):
        db.session.add(ImpactSummary(release_id=release.id, kind="party", subject=subject, text=text,
                                     position=position))
    for position, (subject, text) in enumerate(DCC_IMPACTS):
        db.session.add(ImpactSummary(release_id=release.id, kind="dcc", subject=subject, text=text,
                                     position=position))
    documents = {name: get_or_create(SecDocument, {"name": name}, title=title, position=i)
                 for i, (name, title) in enumerate(DOCUMENTS)}
    for name, refs in DOCUMENT_MATRIX.items():
        for ref in refs:
            db.session.add(DocumentImpact(release_id=release.id, mp_id=mps[ref].id, document_id=documents[name].id))
    for position, (kind, due_on, event, notes, role) in enumerate(MILESTONES):
        db.session.add(Milestone(release_id=release.id, kind=kind, due_on=due_on, event=event, notes=notes,
                                 acting_role=role, position=position))
    for position, (phase, name) in enumerate(TEST_PHASES):
        # The RID gives one sentence for the three phases (the test strategy's note), not a reason per phase.
        db.session.add(TestPhase(release_id=release.id, phase=phase, name=name, applies=False, reason="",
                                 position=position))
    for position, (party, description, pence, budgeted, qualifier) in enumerate(COSTS):
        db.session.add(CostItem(release_id=release.id, party=party, description=description,
                                amount_pence=pence, already_budgeted=budgeted, qualifier=qualifier,
                                position=position))
    for number, (role, text) in enumerate(CRITERIA, start=1):
        db.session.add(Criterion(release_id=release.id, number=number, text=text, owner_role=role))
    for position, (acronym, term) in enumerate(GLOSSARY):
        db.session.add(GlossaryTerm(release_id=release.id, acronym=acronym, term=term, position=position))
    db.session.flush()
    db.session.expire(release)
    version = RidVersion(release_id=release.id, major=0, minor=1, issued_on=D(2020, 8, 7),
                         change_note="First draft issued to the SEC Panel for comment.",
                         snapshot=rid_snapshot(release))
    db.session.add(version)
    db.session.flush()
    record_event(None, "release.created", f"Demo release {release.name} loaded from its RID v0.1",
                 obj=release, release=release, after={"code": release.code, "rid_version": "0.1"})
    return release, True
