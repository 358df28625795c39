"""deploy/ stays true to the code: the environment template names every setting the portal and gunicorn read, and
every job unit runs a command the portal has (issue 16, part 4)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
READ_RE = re.compile(r"""(?:environ(?:\.get)?\(|environ\[|_int\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def test_the_environment_template_names_every_setting():
    read = set()
    for path in [ROOT / "config.py", ROOT / "gunicorn.conf.py", *sorted((ROOT / "portal").rglob("*.py"))]:
        read |= set(READ_RE.findall(path.read_text(encoding="utf-8")))
    assert {"SECRET_KEY", "DATABASE_URL", "AUDIT_KEY", "BIND"} <= read  # the pattern still finds them
    template = (DEPLOY / "portal.env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", template, re.M))
    assert read - named == set(), f"settings missing from deploy/portal.env.example: {sorted(read - named)}"


def test_every_job_unit_runs_a_command_the_portal_has(app):
    units = sorted((DEPLOY / "systemd").glob("portal-*.service"))
    assert {u.stem for u in units} >= {"portal-deliver-mail", "portal-send-reminders", "portal-audit-verify",
                                       "portal-audit-checkpoint", "portal-backup"}
    for unit in units:
        text = unit.read_text(encoding="utf-8")
        assert (DEPLOY / "systemd" / f"{unit.stem}.timer").exists(), f"{unit.name} has no timer"
        group, command = re.search(r"flask --app app (\w+) ([\w-]+)", text).groups()
        assert command in app.cli.commands[group].commands, f"{unit.name}: no `flask {group} {command}`"
        assert "EnvironmentFile=/etc/portal/portal.env" in text
    web = (DEPLOY / "systemd" / "portal.service").read_text(encoding="utf-8")
    assert "gunicorn -c gunicorn.conf.py 'app:create_app()'" in web
