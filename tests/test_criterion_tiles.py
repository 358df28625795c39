"""Issue 15: a criterion's tile says what it is about and how much evidence it has; its owner sees what is left."""
from __future__ import annotations

import io

import pytest

from portal.releases.models import Stage
from releases_html import page_text

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def release(make_release):
    return make_release(Stage.EVIDENCE)


def upload(client, release, number: int, content: bytes = PDF):
    return client.post_form(f"/releases/{release.code}/criteria/{number}/evidence",
                            {"file": (io.BytesIO(content), "report.pdf"), "description": "Test report"})


def tile(text: str, number: int) -> str:
    """The readiness grid's text for one criterion, up to the next tile."""
    grid = text[text.index("Readiness"):]
    start = grid.index(f"Criterion {number} ")
    end = grid.find(f"Criterion {number + 1} ", start)
    return grid[start:end if end > 0 else None]


def test_a_tile_shows_the_criterions_first_words_its_owner_and_its_file_count(client, users, release):
    client.login(users["opsg"])
    text = page_text(client.get(f"/releases/{release.code}").get_data(as_text=True))
    first = tile(text, 1)
    assert "Criterion 1 " in first and "0 files" in first
    criterion_text = release.criteria[0].text
    assert " ".join(criterion_text.split()[:4]) in first and criterion_text not in first  # shortened

    client.logout()
    client.login(users["dcc"])
    assert upload(client, release, 1).status_code == 303
    assert upload(client, release, 1, PDF + b"% another\n").status_code == 303
    text = page_text(client.get(f"/releases/{release.code}").get_data(as_text=True))
    assert "2 files" in tile(text, 1) and "0 files" in tile(text, 2)


def test_the_owner_sees_what_is_still_missing_and_others_do_not(client, users, release):
    client.login(users["dcc"])
    page = f"/releases/{release.code}/criteria/1"
    text = page_text(client.get(page).get_data(as_text=True))
    assert "Add a file or write a statement To do" in text
    assert "Submit DCC's evidence for round 1 To do" in text

    assert upload(client, release, 1).status_code == 303
    text = page_text(client.get(page).get_data(as_text=True))
    assert "Add a file or write a statement Completed" in text
    assert "Submit DCC's evidence for round 1 To do" in text

    for other in ("secas", "opsg", "panel"):
        client.logout()
        client.login(users[other])
        assert "Add a file or write a statement" not in client.get(page).get_data(as_text=True)
