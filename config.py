"""Configuration classes, read from the environment."""
import hashlib
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE", BASE_DIR / "instance"))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Production defaults: everything secret must come from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    )
    # A connection for every thread of a worker, and then some (the development server runs a thread a request):
    # a request never waits long for the pool.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": _int("DB_POOL_SIZE", 10),
                                 "max_overflow": _int("DB_MAX_OVERFLOW", 40), "pool_timeout": _int("DB_POOL_TIMEOUT", 60)}
    # SQLite only: how long a writer waits for the write lock before the request fails (a 503).
    SQLITE_BUSY_TIMEOUT_SECONDS = _int("SQLITE_BUSY_TIMEOUT_SECONDS", 60)
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "evidence"))
    # Where evidence files are kept (portal/criteria/backends.py): "local", the upload folder (one host), or "s3",
    # an S3-compatible bucket shared by every host (uploads are still staged in UPLOAD_FOLDER's tmp/ first).
    # Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, a role).
    EVIDENCE_STORAGE = os.environ.get("EVIDENCE_STORAGE", "local")
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")  # MinIO, Ceph RGW...; empty for AWS
    S3_REGION = os.environ.get("S3_REGION", "")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")  # e.g. "evidence/"
    S3_PART_MB = _int("S3_PART_MB", 8)  # each multipart part, and the memory an upload holds while it is sent
    S3_SSE = os.environ.get("S3_SSE", "")  # "AES256" or "aws:kms" (with S3_SSE_KMS_KEY_ID); empty: the bucket's
    S3_SSE_KMS_KEY_ID = os.environ.get("S3_SSE_KMS_KEY_ID", "")
    # Object Lock retention in compliance mode for this many days (the bucket must have Object Lock on); 0: none.
    S3_OBJECT_LOCK_DAYS = _int("S3_OBJECT_LOCK_DAYS", 0)
    S3_TIMEOUT = _int("S3_TIMEOUT", 5)
    # 0: evidence downloads stream through the portal, hash-checked. >0 (s3 only; at most 604800, seven days): a
    # download answers 302 to a presigned GET URL valid this many seconds; the store sends the attachment itself,
    # without the portal's byte check and without nosniff unless the store/CDN adds it (README, "Presigned
    # downloads").
    S3_PRESIGNED_SECONDS = _int("S3_PRESIGNED_SECONDS", 0)
    # Evidence files may be large; the limit is a setting (default 100 MB).
    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_MB", 100) * 1024 * 1024
    SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 30)
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCKOUT_MINUTES = _int("LOGIN_LOCKOUT_MINUTES", 15)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_FROM = os.environ.get("MAIL_FROM", "sec-release-portal@localhost")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
    # A message is retried with backoff (1, 2, 4... minutes, at most 6 hours) up to this many times.
    MAIL_MAX_ATTEMPTS = _int("MAIL_MAX_ATTEMPTS", 10)
    # The portal's public address, for the absolute links in emails (e.g. https://releases.example.org). PORTAL_URL is
    # the older name, still read when PORTAL_BASE_URL is unset. Without either: the request's host, else
    # http://127.0.0.1:5000 (portal/urls.py). In production an invitation or reset link never follows the request's
    # Host header (a forged one would send the link elsewhere): set PORTAL_BASE_URL.
    PORTAL_TRUST_REQUEST_HOST = False
    # How many proxies in front of the portal append to X-Forwarded-For (1 behind HAProxy). The client's address
    # (login throttling, password-reset throttling, the audit trail) is then the one the nearest proxy appended,
    # never one a client wrote itself. 0 (the default, no proxy): the header is ignored and the peer is the client.
    PROXY_HOPS = _int("PROXY_HOPS", 0)
    PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "")
    PORTAL_URL = os.environ.get("PORTAL_URL", "")
    # An emailed invitation link works this many hours; a password reset link this many minutes.
    INVITATION_EXPIRY_HOURS = _int("INVITATION_EXPIRY_HOURS", 72)
    PASSWORD_RESET_EXPIRY_MINUTES = _int("PASSWORD_RESET_EXPIRY_MINUTES", 60)
    # "Forgotten your password?": at most this many requests per address, and per client, in the window.
    PASSWORD_RESET_MAX_REQUESTS = _int("PASSWORD_RESET_MAX_REQUESTS", 3)
    PASSWORD_RESET_MAX_PER_CLIENT = _int("PASSWORD_RESET_MAX_PER_CLIENT", 10)
    PASSWORD_RESET_WINDOW_MINUTES = _int("PASSWORD_RESET_WINDOW_MINUTES", 60)
    # `flask portal send-reminders` reminds Panel members who have not voted this many hours before the close.
    VOTE_REMINDER_HOURS = _int("VOTE_REMINDER_HOURS", 24)
    # `flask portal send-reminders` reminds of milestones due within this many Working Days.
    REMINDER_WORKING_DAYS = _int("REMINDER_WORKING_DAYS", 3)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Pages re-walk the whole audit chain this often; in between they verify only newer events.
    AUDIT_CHAIN_RECHECK_SECONDS = _int("AUDIT_CHAIN_RECHECK_SECONDS", 300)
    # The audit chain's keys live outside the database (README, "Trust model of the audit trail"). Each setting may
    # instead name a file holding it (AUDIT_KEY_FILE, AUDIT_KEYS_FILE, AUDIT_SIGNING_KEY_FILE); the file wins.
    # AUDIT_KEY links new events under AUDIT_KEY_ID; AUDIT_KEYS, a JSON object {"id": "key"}, keeps retired keys
    # so the events they linked still verify.
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    AUDIT_KEY_FILE = os.environ.get("AUDIT_KEY_FILE")
    AUDIT_KEY_ID = os.environ.get("AUDIT_KEY_ID", "1")
    AUDIT_KEYS = os.environ.get("AUDIT_KEYS", "")
    AUDIT_KEYS_FILE = os.environ.get("AUDIT_KEYS_FILE")
    # The Ed25519 key that signs checkpoints (64 hex digits or a PEM), and retired keys' public halves (hex).
    AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY")
    AUDIT_SIGNING_KEY_FILE = os.environ.get("AUDIT_SIGNING_KEY_FILE")
    AUDIT_SIGNING_OLD_PUBLIC_KEYS = os.environ.get("AUDIT_SIGNING_OLD_PUBLIC_KEYS", "")
    # Every signed checkpoint is also appended here: put it where the database's users cannot write.
    AUDIT_WITNESS_PATH = os.environ.get("AUDIT_WITNESS_PATH") or str(INSTANCE_DIR / "audit-witness.jsonl")
    # A checkpoint every this many events (and at every Panel decision): a cut shorter than this can go unseen.
    AUDIT_CHECKPOINT_EVERY = _int("AUDIT_CHECKPOINT_EVERY", 100)
    # Tests and the demo freeze "today" to show a release as it stood: the portal's one clock (timeutil.utcnow)
    # starts that day and runs on, so every recorded time agrees with every deadline.
    PORTAL_TODAY = os.environ.get("PORTAL_TODAY", "")


class DevelopmentConfig(Config):
    """Local `make run`: SQLite in the instance folder, plain http."""

    PORTAL_TRUST_REQUEST_HOST = True  # links follow whichever HOST and PORT the development server runs on
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SESSION_COOKIE_SECURE = False
    AUDIT_KEY = os.environ.get("AUDIT_KEY", "dev-only-audit-key-not-secret-0000")
    AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", hashlib.sha256(b"dev-only-signing-key").hexdigest())


class TestConfig(Config):
    """Tests: a fresh database per test, chosen by TEST_DATABASE_URL."""

    TESTING = True
    SECRET_KEY = "test-only"
    SESSION_COOKIE_SECURE = False
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}  # an in-memory SQLite has one shared connection, no pool
    WTF_CSRF_ENABLED = True
    PASSWORD_HASH_CHEAP = True
    AUDIT_CHAIN_RECHECK_SECONDS = 0  # every page check walks the whole chain
    # Fixed keys, whatever the environment says.
    AUDIT_KEY = "test-only-audit-key-not-secret-000"
    AUDIT_KEY_FILE = AUDIT_KEYS_FILE = AUDIT_SIGNING_KEY_FILE = None
    AUDIT_KEY_ID = "1"
    AUDIT_KEYS = {}
    AUDIT_SIGNING_KEY = hashlib.sha256(b"test-only-signing-key").hexdigest()
    AUDIT_SIGNING_OLD_PUBLIC_KEYS = ""
    AUDIT_WITNESS_PATH = ""  # none unless a test names one (tests/conftest.py gives each test its own)
    LOGIN_MAX_FAILURES = 5
    PORTAL_TRUST_REQUEST_HOST = True


CONFIGS = {"development": DevelopmentConfig, "production": Config, "test": TestConfig}
