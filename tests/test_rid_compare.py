"""Comparing two RID versions: section by section, rows added, removed and changed, and a word-level redline that
reads without colour; the same comparison as a PDF; bad choices answered with a clear message, never a 500."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from decisions_support import client_for
from releases_html import page_text
from portal.access import Role
from portal.auth.models import User
from portal.document.compare import redline
from portal.extensions import db
from portal.releases.authoring import add_glossary_term, add_scope_entry, move_glossary_term
from portal.releases.models import Criterion, Milestone, MilestoneKind, Release, ScopeStatus
from portal.releases.services import update_criterion, update_milestone

MEETING = {"meeting_on": ["14", "8", "2020"], "minute_ref": "84/03"}
NEW_CRITERION = ("The DCC has demonstrated there will be no detrimental impact on consumers’ experience or on "
                 "Suppliers’ operations.")


@pytest.fixture
def changed(app, users, make_release):
    """The demo release baselined (1.0), then: MP130 added (1.1), the go/no-go decision moved a week (1.2) and
    criterion 7 reworded (1.3)."""
    release = make_release()
    assert client_for(app, users["panel_chair"]).post_form(f"/releases/{release.code}/baseline",
                                                           MEETING).status_code == 303
    with app.test_request_context():
        rel = db.session.get(Release, release.id)
        secas = db.session.get(User, users["secas"].id)
        add_scope_entry(secas, rel, reference="MP130", title="Smart Meter Key Infrastructure changes",
                        status=ScopeStatus.TARGETED, cutoff_date=dt.date(2021, 1, 14),
                        summary="proposes to change the SMKI arrangements.", change_note="MP130 targeted.")
        decision = db.session.scalar(sa.select(Milestone).filter_by(release_id=rel.id,
                                                                    kind=MilestoneKind.PANEL_DECISION))
        update_milestone(secas, rel, decision, due_on=dt.date(2021, 2, 19), event=decision.event,
                         notes=decision.notes, acting_role=decision.acting_role,
                         change_note="Go/no-go decision moved to the Panel's meeting of 19 February.")
        criterion = db.session.scalar(sa.select(Criterion).filter_by(release_id=rel.id, number=7))
        update_criterion(secas, rel, criterion, text=NEW_CRITERION, owner_role=Role.DCC,
                         change_note="Criterion 7 also covers Suppliers.")
        db.session.commit()
        assert [v.number for v in rel.rid_versions] == ["0.1", "1.0", "1.1", "1.2", "1.3"]
    return release


@pytest.fixture
def dcc(app, users):
    return client_for(app, users["dcc"])


def _rows(html: str) -> list[str]:
    return [page_text(row) for row in re.findall(r"<tr\b.*?</tr>", html, re.S)]


def test_comparing_shows_an_added_mp_a_moved_date_and_a_reworded_criterion(dcc, changed):
    response = dcc.get(f"/releases/{changed.code}/rid/compare?from=1.0&to=1.3")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(html)
    assert "Compare RID versions 1.0 and 1.3" in text
    for heading in ("About this document", "1. Scope", "2. Impacts", "3. Implementation timeline",
                    "4. Test strategy", "5. Costs", "6. Acceptance criteria", "Appendix 2: Glossary"):
        assert heading in text
    rows = _rows(html)
    assert any(r.startswith("MP130 Added") and "Smart Meter Key Infrastructure changes" in r and "14 Jan 2021" in r
               for r in rows), rows
    assert "Panel go/no-go decision: Date Changed 12 Feb 2021" in text
    assert any(r.startswith("Panel go/no-go decision: Date Changed 12 Feb 2021") and "19 Feb 2021" in r for r in rows)
    # The criterion's words: only the new words are marked as added; nothing else is marked.
    assert ('<ins><span class="govuk-visually-hidden visually-hidden">added: </span>experience or on Suppliers’ '
            'operations.</ins>') in html
    assert ('<del><span class="govuk-visually-hidden visually-hidden">removed: </span>experience.</del>') in html
    assert "Criterion 7: Criterion Changed" in text
    # MP130 is in the participant matrix of 1.3 only (a new row); the other sections did not change.
    assert any(r.startswith("MP130 Added") and "Suppliers: Not impacted" in r for r in rows)
    assert text.count("No changes.") == 4  # about, test strategy, costs, glossary
    assert html.count("<ins>") + html.count("<del>") == 6  # the MP (scope and matrix), the date, the criterion


def test_each_version_links_to_its_comparison_with_the_one_before(dcc, changed):
    html = dcc.get(f"/releases/{changed.code}").get_data(as_text=True)
    for before, after in (("0.1", "1.0"), ("1.0", "1.1"), ("1.1", "1.2"), ("1.2", "1.3")):
        assert f'href="/releases/{changed.code}/rid/compare?from={before}&amp;to={after}"' in html
    following = dcc.get(f"/releases/{changed.code}/rid/compare?from=1.1&to=1.2")
    assert following.status_code == 200
    assert "Panel go/no-go decision: Date Changed 12 Feb 2021" in page_text(following.get_data(as_text=True))


def test_the_page_without_a_choice_compares_the_last_two_versions(dcc, changed):
    response = dcc.get(f"/releases/{changed.code}/rid/compare")
    assert response.status_code == 200
    text = page_text(response.get_data(as_text=True))
    assert "Compare RID versions 1.2 and 1.3" in text and "Criterion 7: Criterion Changed" in text


def test_the_comparison_downloads_as_a_pdf(dcc, changed):
    response = dcc.get(f"/releases/{changed.code}/rid/compare.pdf?from=1.0&to=1.3")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="rid-{changed.code}-compare-v1.0-v1.3.pdf"'
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.trailer["/Root"].get("/Lang") == "en-GB" and "/StructTreeRoot" in reader.trailer["/Root"]
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "changes from version 1.0 to 1.3" in text
    assert "MP130" in text and "12 Feb 2021" in text and "19 Feb 2021" in text
    assert "removed: experience." in text and "added: experience or on Suppliers’ operations." in text


@pytest.mark.parametrize("query, status, message", [
    ("from=9.9&to=1.3", 404, "There is no RID version 9.9 of the February 2021 SEC Release to compare from"),
    ("from=1.0&to=banana", 404, "There is no RID version that of the February 2021 SEC Release to compare with"),
    ("from=1.0&to=", 404, "Choose the RID version to compare with"),
    ("from=1.1&to=1.1", 422, "Choose two different RID versions to compare"),
    ("from=1.3&to=1.0", 422, "Version 1.3 comes after version 1.0: compare the earlier version with the later one"),
])
def test_a_bad_choice_is_answered_with_the_error_summary(dcc, changed, query, status, message):
    for path in ("compare", "compare.pdf"):
        response = dcc.get(f"/releases/{changed.code}/rid/{path}?{query}")
        assert response.status_code == status, (path, response.status_code)
        assert response.mimetype == "text/html"
        text = page_text(response.get_data(as_text=True))
        assert "There is a problem" in text and message in text, text[:400]
        assert f"Error: {message}" in text  # beside the choice it is about, too
        assert "Changed" not in text


def test_a_release_with_one_version_has_nothing_to_compare(dcc, make_release):
    release = make_release()
    response = dcc.get(f"/releases/{release.code}/rid/compare")
    assert response.status_code == 200
    assert "This release has only one RID version so far: there is nothing to compare yet." in page_text(
        response.get_data(as_text=True))
    assert dcc.get(f"/releases/{release.code}/rid/compare.pdf").status_code == 404
    assert dcc.get("/releases/no-such-release/rid/compare?from=0.1&to=1.0").status_code == 404


def test_the_redline_marks_only_the_words_that_changed():
    marked = redline("The Panel will review the RID.", "The Panel will review and baseline the RID.")
    assert marked == ('The Panel will review <ins><span class="govuk-visually-hidden visually-hidden">added: </span>'
                      'and baseline</ins> the RID.')
    assert redline("same words", "same words") == "same words"
    assert "&lt;script&gt;" in redline("a", "<script>")  # text is escaped, only the marks are markup


def _baselined(app, users, make_release):
    release = make_release()
    assert client_for(app, users["panel_chair"]).post_form(f"/releases/{release.code}/baseline",
                                                           MEETING).status_code == 303
    return release


def test_a_reorder_only_version_shows_exactly_that_move(app, users, make_release, dcc):
    release = _baselined(app, users, make_release)
    with app.test_request_context():
        rel = db.session.get(Release, release.id)
        secas = db.session.get(User, users["secas"].id)
        terms = list(rel.glossary)
        assert len(terms) >= 3
        move_glossary_term(secas, rel, terms[2], "up", change_note=f"{terms[2].acronym} reads before "
                                                                   f"{terms[1].acronym}.")
        db.session.commit()
        moved, passed = terms[2].acronym, terms[1].acronym
    html = dcc.get(f"/releases/{release.code}/rid/compare?from=1.0&to=1.1").get_data(as_text=True)
    text = page_text(html)
    rows = [r for r in _rows(html) if not r.startswith("Row ")]
    assert rows == [f"{moved} Moved Position 3 Position 2: moved up from position 3 to 2"], rows
    assert passed not in " ".join(rows)
    assert text.count("No changes.") == 7  # every section but the glossary
    pdf = dcc.get(f"/releases/{release.code}/rid/compare.pdf?from=1.0&to=1.1")
    pdf_text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "moved up from position 3 to 2" in pdf_text


def test_an_inserted_row_is_added_and_moves_no_other(app, users, make_release, dcc):
    release = _baselined(app, users, make_release)
    with app.test_request_context():
        rel = db.session.get(Release, release.id)
        secas = db.session.get(User, users["secas"].id)
        first = rel.glossary[0]
        term = add_glossary_term(secas, rel, acronym="AAA", term="An acronym first", change_note="AAA added.")
        # Put it first: every other entry is now one place further down, yet none of them moved.
        for _ in range(len(rel.glossary) - 1):
            move_glossary_term(secas, rel, term, "up", change_note="AAA first.")
        db.session.commit()
        assert rel.glossary[0].acronym == "AAA" and rel.glossary[1].id == first.id
        last = rel.current_rid.number
    html = dcc.get(f"/releases/{release.code}/rid/compare?from=1.0&to={last}").get_data(as_text=True)
    rows = [r for r in _rows(html) if not r.startswith("Row ")]
    assert len(rows) == 1 and rows[0].startswith("AAA Added"), rows
    assert "Moved" not in page_text(html).replace("is marked Moved", "")


def test_longest_common_order_reports_the_fewest_moves():
    from portal.document.compare import _moves

    rows = lambda keys: [{"k": k} for k in keys]  # noqa: E731
    moved = lambda old, new: [(r.label, r.positions) for r in _moves(  # noqa: E731
        rows(old), rows(new), lambda r: r["k"], lambda r: None, lambda r: r["k"])]
    assert moved("abcde", "abcde") == []
    assert moved("abcde", "eabcd") == [("e", (5, 1))]  # one row to the top, not four rows down
    assert moved("abcde", "abXcde") == []  # an insertion
    assert moved("abcde", "acde") == []  # a removal
    assert moved("abcd", "acbd") == [("c", (3, 2))]  # neighbours swapped: the later one moved up
