"""The served app refuses the public default secret key unless DEV=true (api/settings.py);
`make run` writes a random SECRET_KEY into .env once so it starts on a fresh machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.settings import DEFAULT_SECRET_KEY, InsecureSettings, Settings, check_serving

ROOT = Path(__file__).resolve().parents[1]


def _settings(**values: object) -> Settings:
    # _env_file=None: a developer's .env must not decide the test.
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_default_key_refused_unless_dev() -> None:
    with pytest.raises(InsecureSettings, match="SECRET_KEY"):
        check_serving(_settings(secret_key=DEFAULT_SECRET_KEY))
    check_serving(_settings(secret_key=DEFAULT_SECRET_KEY, dev=True))
    check_serving(_settings(secret_key="a-random-secret-of-this-deployment"))


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Ask api.app for `app` as uvicorn does, in a directory without .env."""
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEV")}
    clean.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"},
                 **env)
    code = ("import api.app as m\n"
            "assert m._served is None  # importing builds no app\n"
            "print(type(m.app).__name__)")
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_served_app_refuses_the_default_key(tmp_path: Path) -> None:
    proc = _serve(tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY" in lines[0] and "DEV=true" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("env", [{"DEV": "true"}, {"SECRET_KEY": "k3y-of-this-deployment"}])
def test_served_app_starts_with_a_key_or_in_development(tmp_path: Path,
                                                        env: dict[str, str]) -> None:
    proc = _serve(tmp_path, **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "FastAPI"


def test_make_run_writes_a_random_key_once(tmp_path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = next(line.strip().lstrip("@") for line in makefile.splitlines()
                  if "SECRET_KEY=" in line and not line.strip().startswith("@#"))
    shell = recipe.replace("$$", "$").replace("$(BIN)/python", sys.executable)
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///./x.db", encoding="utf-8")
    for _ in range(2):  # the second run keeps the first key
        subprocess.run(["bash", "-c", shell], cwd=tmp_path, check=True, capture_output=True)
    text = (tmp_path / ".env").read_text(encoding="utf-8")
    keys = re.findall(r"^SECRET_KEY=(.+)$", text, re.M)
    assert len(keys) == 1 and len(keys[0]) >= 32
    assert "DATABASE_URL=sqlite:///./x.db" in text.splitlines()
    loaded = Settings(_env_file=tmp_path / ".env")  # type: ignore[call-arg]
    assert loaded.secret_key == keys[0]
    check_serving(loaded)
