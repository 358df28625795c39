"""The portal starts, the demo loads, and a demo user can sign in and see the release."""
from portal.access import Role


def test_login_and_see_release(client, make_user, make_release):
    release = make_release()
    user = make_user(Role.DCC)
    client.login(user)
    page = client.get("/").get_data(as_text=True)
    assert release.name in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_imported_macros_see_globals_only_the_importing_template_has(app):
    """The portal's cheaper import test (portal._Template, its templates' class) still gives an imported template
    the importer's extra globals, and the shared module otherwise."""
    import jinja2
    env = jinja2.Environment(loader=jinja2.DictLoader(
        {"greet.html": "{% macro hello() %}{{ greeting|default('no greeting') }}{% endmacro %}"}))
    env.template_class = type(app.jinja_env.get_template("base.html"))
    assert env.template_class.__name__ == "_Template"
    body = "{% from 'greet.html' import hello %}{{ hello() }}"
    assert env.from_string(body).render() == "no greeting"
    assert env.from_string(body, globals={"greeting": "good morning"}).render() == "good morning"
    assert env.from_string(body).render() == "no greeting"  # the shared module kept no one's globals
