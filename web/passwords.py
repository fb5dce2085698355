"""Password hashes: made by central when it signs a `staff.account` record, checked by every app.

Both sides call these two functions so the format never drifts. werkzeug's scrypt is memory-hard
(32 MiB per check at its default cost), which makes stolen hashes slow to attack and costs an old
PC well under a second per login. A hash arrives inside a signed record, yet `verify_password`
still refuses cost parameters far above the default: a bad record must not be able to make every
login on a village PC eat gigabytes.
"""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

METHOD = "scrypt:32768:8:1"
MAX_SCRYPT_N = 2**17
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str, *, method: str = METHOD) -> str:
    """A salted scrypt hash of `password`, e.g. `scrypt:32768:8:1$<salt>$<hex>`."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    return generate_password_hash(password, method=method, salt_length=16)


def _acceptable(stored: str) -> bool:
    method, _, rest = stored.partition("$")
    if not rest:
        return False
    parts = method.split(":")
    if parts[0] != "scrypt" or len(parts) != 4:
        return False
    try:
        n, r, p = (int(x) for x in parts[1:])
    except ValueError:
        return False
    return 2 <= n <= MAX_SCRYPT_N and 1 <= r <= 16 and 1 <= p <= 4


def verify_password(stored: str, password: str) -> bool:
    """True if `password` matches the stored hash; False for a wrong password or a bad hash."""
    if not stored or not password or not _acceptable(stored):
        return False
    try:
        return check_password_hash(stored, password)
    except (ValueError, TypeError):
        return False


_DUMMY: list[str] = []


def burn_time(password: str) -> None:
    """Spend what one check costs, for a username that does not exist.

    Without it an unknown user is answered faster than a wrong password, and the login form
    would tell an attacker which usernames exist.
    """
    if not _DUMMY:
        _DUMMY.append(hash_password("not-a-real-password"))
    verify_password(_DUMMY[0], password or "x")
