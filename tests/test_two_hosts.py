"""Two hosts behind a real load balancer (bench/hosts.sh is the full-size run): two gunicorn hosts (1 worker each) and
HAProxy (deploy/haproxy.cfg, health check /healthz) on free loopback ports, sharing one PostgreSQL database, one
evidence folder and one audit witness. Signed in on one host is signed in on the other; the login throttle counts
across hosts; a ballot burst over both hosts leaves one current ballot per member; the audit chain verifies; and one
host SIGKILLed under load loses no committed write, and once HAProxy marks it down no request fails.

Runs only on PostgreSQL (TEST_DATABASE_URL) with haproxy and gunicorn installed; otherwise it is skipped, saying why.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PG_URL  # this worker's database (tests/conftest.py _database_for_this_worker)

ROOT = Path(__file__).resolve().parent.parent

if not PG_URL.startswith("postgresql"):
    pytest.skip("two hosts need a shared PostgreSQL database: set TEST_DATABASE_URL=postgresql+psycopg://...",
                allow_module_level=True)
if not shutil.which("haproxy"):
    pytest.skip("haproxy is not installed (apt-get install -y haproxy; .ci/run installs it)", allow_module_level=True)
if importlib.util.find_spec("gunicorn") is None:
    pytest.skip("gunicorn is not installed in this Python (pip install -r requirements.txt)", allow_module_level=True)

sys.path.insert(0, str(ROOT / "bench"))
import hosts  # noqa: E402  (bench/hosts.py: the cluster and its checks)


def _recreate(name: str, drop_only: bool = False) -> None:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base, name = PG_URL.rsplit("/", 1)
    name = f"{name}_hosts"
    url = f"{base}/{name}"
    work = tmp_path_factory.mktemp("two-hosts")
    _recreate(name)
    # bench/generate.py's scale-1 data set (its schema by create_all, as the other tests build theirs): users with
    # the demo password, an open vote of 12 members, audit events chained under the test keys the hosts use.
    subprocess.run([sys.executable, str(ROOT / "bench/generate.py"), "--scale", "1", "--database-url", url,
                    "--upload-folder", str(work / "evidence")], cwd=ROOT, check=True, timeout=120,
                   capture_output=True)
    # A checkpoint every 10 events, so that both hosts sign some into the one witness file.
    running = hosts.Cluster(url, work, hosts=2, workers=1, env={"AUDIT_CHECKPOINT_EVERY": "10"})
    try:
        running.start()
        yield running
    finally:
        running.stop()  # every process it started: both gunicorn process groups and HAProxy
        _recreate(name, drop_only=True)


def test_the_bench_haproxy_configuration_is_deploy_haproxy_cfg(tmp_path):
    """The loopback configuration keeps every untagged line of deploy/haproxy.cfg, in order, and HAProxy accepts it."""
    built = hosts.haproxy_config(18001, [18002, 18003], str(tmp_path / "haproxy.sock"))
    source = (ROOT / "deploy/haproxy.cfg").read_text().splitlines()
    kept = [line for line in source if "# @" not in line]
    assert [line for line in built.splitlines() if line in kept] == kept
    assert "    bind 127.0.0.1:18001" in built and "    server app2 127.0.0.1:18003 check" in built
    (tmp_path / "haproxy.cfg").write_text(built)
    check = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_two_hosts_behind_haproxy(cluster):
    """One test, so that under xdist one worker runs one cluster (the checks run in this order; the kill is last)."""
    assert cluster.states() == {"app1": "UP", "app2": "UP"}

    # Signed in on host 1: host 2 and HAProxy know the session; signed out on host 2, host 1 forgets it too.
    result = hosts.check_session(cluster, "panel.chair@example.org")
    assert result["ok"], result

    # X-Forwarded-Proto believed from the proxy's address only; a client's own never passes HAProxy.
    result = hosts.check_proxy_headers(cluster)
    assert result["ok"], result

    # Five wrong passwords, alternately on each host: the right one is then refused (429) on both.
    result = hosts.check_throttle(cluster, "opsg.member@example.org")
    assert result["ok"], result

    # 12 members x 3 simultaneous signed ballots, alternately to each host: one current ballot per member, and
    # every answer true to what was stored.
    result = hosts.check_burst(cluster, per_member=3)
    assert result["ok"], result
    assert result["ballots"] == 36 and result["members"] == 12

    # `flask audit verify` passes: no fork, no gap; both hosts signed checkpoints into the one witness file.
    result = hosts.check_audit(cluster)
    assert result["ok"], result
    assert result["witness_checkpoints"] >= 2, result

    # Host 1 SIGKILLed under load through HAProxy: every ballot answered "done" is stored, and once HAProxy has
    # marked host 1 down no request fails.
    result = hosts.check_kill(cluster, seconds=6, kill_after=2, users=4)
    assert result["ok"], result
    assert result["done_but_not_stored"] == 0 and result["failed_after_down"] == 0, result
    assert result["after_down_requests"] > 0, result
    assert cluster.states()["app2"] == "UP"
    result = hosts.check_audit(cluster)
    assert result["ok"], result
