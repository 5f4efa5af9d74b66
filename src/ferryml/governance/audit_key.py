"""The audit key: what signs every audit entry (its own key, never the PII key).

Read from the environment variable ``governance.audit.key_env`` (``FERRY_AUDIT_KEY``; a
secret store injects it in production) or else from ``governance.audit.key_file``
(``.secrets/audit.key`` under the workspace root, mode 600, created by ``ferry init``).
The key is the text's UTF-8 bytes, surrounding whitespace stripped, at least 16 bytes::

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / ".secrets" / "audit.key"
    >>> create_audit_key_file(path), create_audit_key_file(path)
    (True, False)
    >>> oct(path.stat().st_mode & 0o777), len(read_key_file(path))
    ('0o600', 64)

A lost key file is never silently replaced once keyed entries exist: a new key would make
every earlier entry fail verification (see :func:`audit_key_source`).
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ferryml.errors import ConfigError
from ferryml.governance.config import AuditConfig
from ferryml.storage.atomic import fsync_path

MIN_KEY_BYTES = 16
_CREATE = 'python -c "import secrets; print(secrets.token_hex(32))"'
log = logging.getLogger(__name__)


def load_audit_key(
    settings: AuditConfig, root: Path, environ: Mapping[str, str] | None = None
) -> bytes:
    """The audit key: ``settings.key_env`` if set, else the file ``root / settings.key_file``.

    A missing, empty or short key is a :class:`~ferryml.errors.ConfigError` that says where it
    was looked for and how to make one; the key itself never appears in a message.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(settings.key_env, "").strip()
    if from_env:
        return _checked(from_env.encode("utf-8"), f"environment variable {settings.key_env}")
    if settings.key_file is None:
        raise ConfigError(
            f"no audit key: environment variable {settings.key_env} is not set and "
            "governance.audit.key_file is null",
            hint=f"export {settings.key_env}=$({_CREATE}), or set governance.audit.key_file",
        )
    path = root / settings.key_file
    try:
        raw = read_key_file(path)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no audit key: the key file {path} does not exist and {settings.key_env} is not set",
            hint="restore the workspace's key file from its backup (entries it signed verify "
            f"only with it); a new workspace gets one from `ferry init`, or export "
            f"{settings.key_env}",
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"the audit key file {path} cannot be read: {exc.strerror}",
            hint="check the file's owner and mode (600)",
        ) from exc
    return _checked(raw, f"audit key file {path}")


def read_key_file(path: Path) -> bytes:
    """The stripped contents of a key file."""
    return path.read_bytes().strip()


def create_audit_key_file(path: Path) -> bool:
    """Create a random key at ``path`` (mode 600) unless one exists; True if this call made it.

    Exclusive: of several processes creating it at once, one wins (``link(2)`` fails on an
    existing name) and every one then reads the winner's key, so no entry is ever signed with a
    key that another process overwrote.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_path(path.parent)
        return True
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)


def audit_key_source(
    settings: AuditConfig,
    root: Path,
    *,
    has_keyed_entries: Callable[[], bool],
    environ: Mapping[str, str] | None = None,
) -> Callable[[], bytes]:
    """A loader of the audit key for :class:`~ferryml.governance.AuditTrail`, called when the
    trail first needs the key. It creates the key file of a workspace that has none yet (one
    made before audit keys existed) only while the trail holds no keyed entry: afterwards a
    missing key is an error, since a new key would orphan every entry signed with the old one.
    """

    def load() -> bytes:
        env = os.environ if environ is None else environ
        if env.get(settings.key_env, "").strip() or settings.key_file is None:
            return load_audit_key(settings, root, env)
        path = root / settings.key_file
        if not path.exists():
            if has_keyed_entries():
                return load_audit_key(settings, root, env)  # raises: the key was lost
            if create_audit_key_file(path):
                log.warning("created the audit key file %s: back it up with the database", path)
        return load_audit_key(settings, root, env)

    return load


def _checked(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the audit key in {source} is too short: {len(key)} bytes, "
            f"at least {MIN_KEY_BYTES} are needed",
            hint=f"create a longer one with: {_CREATE}",
        )
    return key


__all__ = [
    "MIN_KEY_BYTES",
    "audit_key_source",
    "create_audit_key_file",
    "load_audit_key",
    "read_key_file",
]
