from tests.test_evidence_upload import *
def test_q(app, client, users, release):
    client.login(users["dcc"])
    r = upload(client, release, 1, name='we"ird.pdf', htmx=True)
    print(r.status_code, html.unescape(r.get_data(as_text=True))[:3000])
