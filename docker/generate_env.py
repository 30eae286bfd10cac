"""Write a ``.env`` for docker-compose.yml from ``.env.example`` with fresh random secrets.

Every ``change-me`` value is replaced: the Fernet key with a real Fernet key, everything else with a
URL-safe random token; other settings are copied as they are. The file is created with mode 0600 and
never overwritten. Stdlib only, so it runs with any Python 3 on the host:

    python3 docker/generate_env.py .env
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
PLACEHOLDER = "change-me"
FERNET_KEYS = {"AIRFLOW_FERNET_KEY"}


def secret_for(name: str) -> str:
    if name in FERNET_KEYS:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def render(example: str) -> str:
    """The example's lines, with each placeholder value replaced by a new secret."""
    out = []
    for line in example.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.startswith(PLACEHOLDER):
            line = f"{name}={secret_for(name.strip())}"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 docker/generate_env.py .env", file=sys.stderr)
        return 2
    target = Path(argv[0])
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"{target} exists; not overwritten (move it away first to start over)", file=sys.stderr)
        return 1
    with os.fdopen(fd, "w") as fh:
        fh.write(render(EXAMPLE.read_text()))
    print(f"wrote {target} (mode 0600); now set LANDING_ZONE in it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
