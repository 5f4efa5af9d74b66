"""The names ferryml gives Feast: the Feast project of a ferryml project, Feast's Redis
connection string of a Redis URL (with the password masked in errors)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ferryml.errors import InvalidInputError
from ferryml.names import validate_project_name
from ferryml.urls import masked_url

FEAST_PROJECT_PREFIX = "Ferryml_"
_REDIS_TIMEOUT_S = 2


def feast_project_name(project: str) -> str:
    """The Feast project of a ferryml project: ``Ferryml_`` + the name with ``-`` as ``_``.

    Feast projects allow ``[A-Za-z0-9_]``. Names holding ``_`` are escaped (``_`` -> ``_0``,
    ``-`` -> ``_1``, after a ``0``) so that no two ferryml projects share a Feast project. The
    uppercase prefix matters: Feast's Redis store deletes keys by the glob ``*{project}``, and
    no mapped name ends with another one.

    >>> feast_project_name("fraud-eu"), feast_project_name("fraud_eu")
    ('Ferryml_fraud_eu', 'Ferryml_0fraud_0eu')
    """
    name = validate_project_name(project)
    if "_" in name:
        return FEAST_PROJECT_PREFIX + "0" + name.replace("_", "_0").replace("-", "_1")
    return FEAST_PROJECT_PREFIX + name.replace("-", "_")


def redis_connection_string(url: str) -> str:
    """Feast's Redis ``connection_string`` for a ``redis://`` or ``rediss://`` URL.

    >>> redis_connection_string("redis://:s3cret@cache:6380/2")
    'cache:6380,db=2,password=s3cret,socket_connect_timeout=2,socket_timeout=2'
    """
    parts = urlsplit(url)
    db = parts.path.lstrip("/") or "0"
    try:
        port = parts.port or 6379
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("redis", "rediss")
        or not parts.hostname
        or port < 0
        or not db.isdigit()
    ):
        raise InvalidInputError(
            f"invalid Redis URL {masked_url(url)!r}",
            hint="use redis://host:6379/0 (or rediss:// for TLS)",
        )
    items = [f"{parts.hostname}:{port}", f"db={db}"]
    if parts.username:
        items.append(f"username={unquote(parts.username)}")
    if parts.password:
        items.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        items.append("ssl=true")
    items += [f"socket_connect_timeout={_REDIS_TIMEOUT_S}", f"socket_timeout={_REDIS_TIMEOUT_S}"]
    if any("," in item for item in items):
        raise InvalidInputError(
            f"Redis URL {masked_url(url)!r} holds a ',', which Feast's connection string "
            "cannot carry"
        )
    return ",".join(items)
