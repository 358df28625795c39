"""The demo release holds the February 2021 SEC Release exactly as its RID (v0.1, 7 Aug 2020) states it."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portal.access import Role
from portal.auth.models import User
from portal.extensions import db
from portal.releases.models import (CostItem, Criterion, Milestone, Release, ScopeEntry, ScopeStatus, SecDocument)
from releases_html import page_text, row_cells

# --- The RID's facts, typed from ../shared/domain/rid-february-2021-sec-release.txt ---

MPS = {
    "MP092": ("New Planned Maintenance methodology",
              "proposes to incorporate the DCC’s new approach for the delivery of Planned Maintenance which uses a "
              "risk-based methodology to categorise planned changes as either Low Impact or High Impact.",
              "https://smartenergycodecompany.co.uk/modifications/new-planned-maintenance-methodology/"),
    "MP095": ("Alignment of SEC Credit Cover",
              "proposes to change the SEC Credit Cover arrangements in order to minimise the risk of increased "
              "socialised costs when a Party ceases trading.",
              "https://smartenergycodecompany.co.uk/modifications/alignment-of-sec-credit-cover/"),
    "MP111": ("SMDA Budget Amendments",
              "proposes to change the Smart Metering Device Assurance (SMDA) funding model to ensure the SMDA can "
              "provide long-term test assurance.",
              "https://smartenergycodecompany.co.uk/modifications/smda-budget-amendments/"),
    "MP122": ("Operational Metrics",
              "proposes that the DCC facilitate the necessary changes to the DCC System in order to implement and "
              "report on the metrics recommended in the Operational Metrics Review (OMR), commissioned by the "
              "Operations Group (OPSG).",
              "https://smartenergycodecompany.co.uk/modifications/operational-metrics/"),
}
GROUPS = ["Suppliers", "Electricity Networks", "Gas Networks", "Other SEC Parties", "DCC"]
PARTICIPANT_MATRIX = {  # MP → ticks in GROUPS order
    "MP092": [True, True, True, True, True],
    "MP095": [True, True, True, True, True],
    "MP111": [True, True, True, True, True],
    "MP122": [False, False, False, False, True],
}
DOCUMENTS = {"Section A": "Definitions and Interpretation", "Section H": "DCC Services",
             "Section J": "Payment of Charges", "Appendix AL": "SMETS1 Transition and Migration Approach Document"}
DOCUMENT_MATRIX = {  # document → ticks for MP092, MP095, MP111, MP122
    "Section A": [True, False, False, True],
    "Section H": [True, False, False, True],
    "Section J": [False, True, False, False],
    "Appendix AL": [True, False, False, False],
}
PARTY_IMPACTS = {"All SEC Parties": [
    "Maintenance on DCC Systems affects all SEC Parties.",
    "Changes to the Credit Cover arrangements will impact all SEC Parties as this will have a direct impact on the "
    "credit cover they need to provide and on the level of socialised costs.",
    "The SMDA fixed costs would be covered by the SEC (so all Parties will be charged), and only Device "
    "Manufacturers will pay for SMDA variable costs.",
]}
DCC_IMPACTS = {
    "Contractual changes": [
        "The DCC will need to make contractual changes with its Service Providers in order to implement the new "
        "Planned Maintenance methodology.",
        "The DCC will need to make contractual changes with its Service Providers in order for them to supply the "
        "data in time for the DCC to meet its proposed new Service Level Agreement (SLA) for the Performance "
        "Measurement Report (PMR).",
    ],
    "Regulatory changes": [
        "The DCC will be required to follow the Planned Maintenance methodology.",
        "The DCC will be required to produce the PMR within 10 Working Days from the end of the measurement "
        "reporting period.",
    ],
    "Technical Operations Centre (TOC)": [
        "The DCC’s TOC will need to implement the necessary system changes and provide increased application "
        "support in order to provide the metrics recommended by the OMR.",
    ],
}
MILESTONES = [
    (dt.date(2020, 8, 14), "14 August 2020", "Panel baselines RID",
     "The Panel will review the RID and baseline the document.", Role.PANEL),
    (dt.date(2021, 1, 26), "26 January 2021", "DCC submits evidence against the operational acceptance criteria",
     "", Role.DCC),
    (dt.date(2021, 2, 2), "2 February 2021",
     "Operations Group reviews status against the operational acceptance criteria",
     "The Operations Group will provide a recommendation to the Panel on whether the release should be implemented "
     "as planned. Preliminary reviews of progress will be scheduled across preceding meetings.", Role.OPSG),
    (dt.date(2021, 2, 12), "12 February 2021", "Panel go/no-go decision",
     "The Panel will review the status of the release against the acceptance criteria and will determine if the "
     "release should be implemented as planned.", Role.PANEL),
    (dt.date(2021, 2, 25), "25 February 2021", "Release go-live", "The changes are implemented.", Role.SECAS),
]
CRITERIA = [
    "The DCC has brought to readiness all the new and changed components needed to provide the new services. This "
    "will include completing the service design and proving the service operations capability.",
    "The DCC has demonstrated that all pre-existing services will be stable in the run-up to deployment of the "
    "release.",
    "The DCC has proven that the new services can be operated alongside, and integrated with, the existing "
    "services.",
    "The DCC has assessed the risk posed by existing problems and defects in the existing live service, and the "
    "implications these will have for the revised service.",
    "The DCC has assessed and addressed the impact on Users arising from any issues, defects or workarounds within "
    "the new services.",
    "The DCC has demonstrated that lessons learnt from previous SEC Releases and other DCC changes have been taken "
    "on board.",
    "The DCC has demonstrated there will be no detrimental impact on consumers’ experience.",
    "The DCC has completed assurance of the Business Continuity and Disaster Recovery processes.",
    "SECAS will be ready to implement the approved changes to the SEC on the agreed implementation date.",
    "SECAS has brought to readiness all the new and changed components that it is responsible for that are needed "
    "to support the new services.",
]
GLOSSARY = {
    "ADT": "Anomaly Detection Threshold", "DCC": "Data Communication Company", "OMR": "Operational Metrics Review",
    "PIT": "Pre-Integration Testing", "PMR": "Performance Measurement Report",
    "RID": "Release Implementation Document", "SEC": "Smart Energy Code",
    "SECAS": "Smart Energy Code Administrator and Secretariat", "SIT": "System Integration Testing",
    "SMDA": "Smart Metering Device Assurance", "SSI": "Self-Service Interface", "TOC": "Technical Operations Centre",
    "UIT": "User Integration Testing",
}


@pytest.fixture
def demo(app, make_release, make_user, client):
    """The demo release's page as a DCC user sees it, with the ids of its rows."""
    release = make_release()
    client.login(make_user(Role.DCC))
    html = client.get(f"/releases/{release.code}").get_data(as_text=True)
    with app.app_context():
        entries = {e.mp.reference: e.id for e in db.session.scalars(
            sa.select(ScopeEntry).where(ScopeEntry.release_id == release.id))}
        documents = {d.name: d.id for d in db.session.scalars(sa.select(SecDocument))}
    return {"release": release, "html": html, "text": page_text(html), "entries": entries, "documents": documents}


def test_the_four_targeted_modifications_with_their_summaries(demo, app):
    html, text = demo["html"], demo["text"]
    assert "There are no modifications currently approved for this release." in text
    assert "No further modifications are expected to be added." in text
    assert "There are no DCC Change Requests planned to be implemented alongside this SEC Release." in text
    for ref, (title, summary, url) in MPS.items():
        cells = row_cells(html, f"scope-{demo['entries'][ref]}")
        assert cells == [f"{ref} ‘{title}’", summary, "Not stated in the RID", "Targeted"]
        assert f'href="{url}"' in html
    with app.app_context():
        statuses = db.session.scalars(sa.select(ScopeEntry.status)).all()
    assert statuses == [ScopeStatus.TARGETED] * 4


def test_participant_impact_matrix_cell_for_cell(demo):
    html = demo["html"]
    assert "Modification Suppliers Electricity Networks Gas Networks Other SEC Parties DCC" in demo["text"]
    for ref, ticks in PARTICIPANT_MATRIX.items():
        cells = row_cells(html, f"participant-{demo['entries'][ref]}")
        assert cells == [ref] + ["✓Impacted" if on else "Not impacted" for on in ticks]


def test_document_impact_matrix_cell_for_cell(demo):
    html, text = demo["html"], demo["text"]
    assert "Document MP092 MP095 MP111 MP122" in text
    for name, ticks in DOCUMENT_MATRIX.items():
        cells = row_cells(html, f"document-{demo['documents'][name]}")
        assert cells == [name] + ["✓Impacted" if on else "Not impacted" for on in ticks]
    listed = " ".join(f"{name} ‘{title}’" for name, title in DOCUMENTS.items())
    assert f"The following documents will be updated in this release: {listed}" in text
    assert "The SEC document impacts for MP111 are still under investigation." in text
    assert "No other Codes are impacted as a result of this release." in text


def test_party_and_dcc_impact_summaries_grouped_by_subject(demo):
    text = demo["text"]
    for label, groups in (("Participant", PARTY_IMPACTS), ("Area impacted", DCC_IMPACTS)):
        for subject, bullets in groups.items():
            assert f"{label}: {subject} Summary of impacts" in text
            for bullet in bullets:
                assert bullet in text


def test_the_five_milestones(demo, app):
    with app.app_context():
        stored = db.session.scalars(sa.select(Milestone).order_by(Milestone.due_on)).all()
        assert [(m.due_on, m.event, m.notes, m.acting_role) for m in stored] == \
            [(due, event, notes, role) for due, _, event, notes, role in MILESTONES]
        ids = [m.id for m in stored]
    for row_id, (_, shown, event, notes, role) in zip(ids, MILESTONES):
        assert row_cells(demo["html"], f"milestone-{row_id}")[:4] == [shown, event, notes, role.label]


def test_test_strategy_reads_as_the_rid_one_paragraph_not_a_reason_per_phase(demo):
    text = demo["text"]
    strategy = text[text.index("4. Test strategy"):text.index("5. Costs")]
    no_testing = ("This release will not impact the DCC Systems and so will not require any Pre-Integration "
                  "Testing (PIT), Systems Integration Testing (SIT) or User Integration Testing (UIT). An element "
                  "of internal DCC testing on the TOC will be required in order to implement MP122, but this is not "
                  "within the Testing Advisory Group’s (TAG) remit to monitor.")
    assert strategy.count("will not require any Pre-Integration Testing") == 1
    assert no_testing in strategy
    assert "There are no User testing impacts for this release." in strategy
    # The phases table is the portal's own summary, marked as such.
    assert "Test phases Portal addition, not part of the RID" in strategy
    for phase in ("Pre-Integration Testing (PIT)", "Systems Integration Testing (SIT)",
                  "User Integration Testing (UIT)"):
        assert f"{phase} Not required" in strategy


def test_costs_in_pence_stated_as_the_rid_states_them(demo, app):
    with app.app_context():
        costs = db.session.scalars(sa.select(CostItem).order_by(CostItem.position)).all()
        assert [(c.party, c.amount_pence) for c in costs] == [("DCC", 34000000), ("SECAS", 120000),
                                                              ("SECAS", 300000)]
        ids = [c.id for c in costs]
    html, text = demo["html"], demo["text"]
    costs_text = text[text.index("5. Costs"):text.index("6. Acceptance criteria")]
    assert costs_text.startswith("5. Costs This section summarises the costs that will be incurred by the DCC and "
                                 "SECAS in implementing this release.")
    # The RID's "estimated to be £340,000" and "around £1,200" / "around £3,000" (CostItem.qualifier).
    assert row_cells(html, f"cost-{ids[0]}")[1] == "Estimated to be £340,000"
    assert row_cells(html, f"cost-{ids[1]}")[1] == "Around £1,200"
    assert row_cells(html, f"cost-{ids[2]}")[1] == "Around £3,000"
    assert costs_text.index("DCC costs") < costs_text.index("SECAS costs")
    assert "Total" not in costs_text and "£344,200" not in costs_text and "£4,200" not in costs_text
    assert "This cost has already been accounted for in the SECAS budget" in costs_text


def test_the_ten_criteria_word_for_word_in_one_list_as_the_rid(demo, app):
    with app.app_context():
        stored = db.session.scalars(sa.select(Criterion).order_by(Criterion.number)).all()
        assert [(c.number, c.text, c.owner_role) for c in stored] == \
            [(n, text, Role.DCC if n <= 8 else Role.SECAS) for n, text in enumerate(CRITERIA, start=1)]
        ids = [c.id for c in stored]
    html, text = demo["html"], demo["text"]
    for number, (row_id, criterion) in enumerate(zip(ids, CRITERIA), start=1):
        owner = "DCC" if number <= 8 else "SECAS"
        assert row_cells(html, f"criterion-{row_id}") == [str(number), criterion, owner]
    section = text[text.index("6. Acceptance criteria"):text.index("Appendix 1: Version control")]
    assert section.startswith("6. Acceptance criteria The following criteria will need to be met before the release "
                              "can go live. Prior to go-live, the Operations Group will review the status of the "
                              "release against these criteria.")
    assert "Operational acceptance criteria Number Criterion Owner Portal" in section
    assert "DCC criteria" not in section and "SECAS criteria" not in section


def test_about_this_document_and_each_section_introduction_as_the_rid(demo):
    text = demo["text"]
    rid = text[text.index("About this document"):]
    assert rid.startswith("About this document This document is a Smart Energy Code (SEC) Release Implementation "
                          "Document (RID).")
    for introduction in (
            "1. Scope",
            "The following Modification Proposals will be included in this release if a decision to approve is "
            "received by the respective cut-off dates:",
            "2. Impacts This section lists the impacts that the changes included in this release will have on "
            "participants and their systems, SEC documents and other industry codes. This section assumes all "
            "targeted modifications will be approved for inclusion in this release.",
            "The impacts on the different participants are summarised below.",
            "Each of these documents is impacted by the following modification(s):",
            "The approved changes to each document are annexed to the Modification Reports for each modification",
            "3. Implementation timeline This section lists the planned timeline for the implementation of this "
            "release.",
            "4. Test strategy", "5. Costs", "6. Acceptance criteria", "Appendix 1: Version control",
            "Appendix 2: Glossary"):
        assert introduction in rid, introduction
    order = [rid.index(h) for h in ("1. Scope", "2. Impacts", "3. Implementation timeline", "4. Test strategy",
                                    "5. Costs", "6. Acceptance criteria", "Appendix 1", "Appendix 2")]
    assert order == sorted(order)


def test_what_the_portal_adds_to_the_timeline_is_marked_as_the_portals(demo):
    text = demo["text"]
    timeline = text[text.index("Release implementation timetable"):text.index("4. Test strategy")]
    assert ("Date Event Notes Who acts Portal addition, not part of the RID Status Portal addition, not part of the "
            "RID") in timeline


def test_version_0_1_of_7_august_2020(demo, app):
    release = demo["release"]
    with app.app_context():
        versions = db.session.get(Release, release.id).rid_versions
        assert [(v.number, v.issued_on, v.change_note, v.is_baseline) for v in versions] == \
            [("0.1", dt.date(2020, 8, 7), "First draft issued to the SEC Panel for comment.", False)]
    assert "0.1 of the RID 7 August 2020 First draft issued to the SEC Panel for comment." in demo["text"]


def test_the_glossary_of_13_terms_is_appendix_2_after_the_version_history(demo):
    text = demo["text"]
    assert text.index("Appendix 1: Version control Document history") < text.index("Appendix 2: Glossary")
    glossary = text[text.index("Appendix 2: Glossary"):]
    assert glossary.startswith("Appendix 2: Glossary This table lists all the acronyms used in this document and "
                               "the full term they are an abbreviation for.")
    assert "Acronym Full term " + " ".join(f"{a} {t}" for a, t in GLOSSARY.items()) in glossary
    assert len(GLOSSARY) == 13


def test_demo_command_twice_leaves_one_release_and_ten_users(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["portal", "demo"])
    assert first.exit_code == 0, first.output
    assert "February 2021 SEC Release: loaded." in first.output
    second = runner.invoke(args=["portal", "demo"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Release)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 10
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Criterion)) == 10
