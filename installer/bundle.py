"""The offline installation bundle: everything a village PC needs, with no internet on site.

    bianmin bundle build --out DIR [--zip] [--platform linux|windows] [--python 3.11|3.12] [--cache DIR]

The folder (or zip) holds:

    wheels/             bianmin's own wheel (built from this checkout) and every dependency as a
                        binary wheel for Windows x64 (win_amd64) and Linux x64 (manylinux2014),
                        CPython 3.11 and 3.12: `pip install --no-index --find-links wheels bianmin`
    install.sh          Linux: venv, systemd unit for `bianmin node run`, enrolment
    install.ps1         Windows: venv, scheduled task at start-up, desktop shortcut to the node page
    requirements.txt    bianmin's runtime requirements, as pip reads them
    manifest.json       every file's SHA-256, so a copy carried on a USB stick can be checked

Wheels are fetched with `pip download --only-binary=:all: --platform ... --python-version ...`
(no source builds: a village PC has no compiler). With `--cache DIR` they are first looked for in
DIR (`--no-index --find-links`), and only what is missing is downloaded into it, so repeated
builds (and tests) do not hit the package index every time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

PLATFORMS = {
    "linux": ["manylinux2014_x86_64", "manylinux_2_17_x86_64"],
    "windows": ["win_amd64"],
}
SCRIPTS = ("install.sh", "install.ps1")


class BundleError(RuntimeError):
    """The bundle cannot be built; the message says why (pip's own words included)."""


@dataclass
class BundleResult:
    folder: Path
    wheels: list[Path]
    zip_path: Path | None


def project_root() -> Path:
    """The checkout bianmin is built from (its pyproject.toml); BundleError from an installed copy."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").exists():
        raise BundleError("build the bundle from a checkout of bianmin (pyproject.toml not found)")
    return root


def requirements(root: Path) -> list[str]:
    """bianmin's runtime dependencies as pyproject.toml lists them (extras excluded)."""
    data = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    return list(data["project"]["dependencies"])


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)


def _fail(what: str, proc: subprocess.CompletedProcess[str]) -> BundleError:
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
    return BundleError(f"{what} failed:\n{tail}")


def build_own_wheel(root: Path, dest: Path) -> Path:
    """bianmin's wheel from the checkout (pure Python, one for every platform)."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("bianmin-*.whl"):
        old.unlink()
    proc = _pip("wheel", "--no-deps", "--quiet", "-w", str(dest), str(root))
    if proc.returncode != 0:
        raise _fail("building the bianmin wheel", proc)
    found = sorted(dest.glob("bianmin-*.whl"))
    if not found:
        raise BundleError("pip built no bianmin wheel")
    return found[-1]


def download(reqs: list[str], dest: Path, *, platform: str, python: str, cache: Path | None) -> None:
    """Every dependency of `reqs` as binary wheels for one platform and Python, into `dest`."""
    target = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in PLATFORMS[platform]:
        target += ["--platform", tag]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        offline = _pip("download", "--quiet", *target, "--no-index", "--find-links", str(cache),
                       "--dest", str(dest), *reqs)
        if offline.returncode == 0:
            return
        online = _pip("download", "--quiet", *target, "--dest", str(cache), *reqs)
        if online.returncode != 0:
            raise _fail(f"downloading wheels for {platform} / Python {python}", online)
        again = _pip("download", "--quiet", *target, "--no-index", "--find-links", str(cache),
                     "--dest", str(dest), *reqs)
        if again.returncode != 0:
            raise _fail(f"copying wheels for {platform} / Python {python} from the cache", again)
        return
    proc = _pip("download", "--quiet", *target, "--dest", str(dest), *reqs)
    if proc.returncode != 0:
        raise _fail(f"downloading wheels for {platform} / Python {python}", proc)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out: str | Path, *, platforms: tuple[str, ...] | list[str] = ("linux", "windows"),
          pythons: tuple[str, ...] | list[str] = ("3.11", "3.12"), cache: str | Path | None = None,
          make_zip: bool = False) -> BundleResult:
    """Build the bundle folder `out` (see the module docstring); returns what it holds."""
    root = project_root()
    folder = Path(out)
    wheels = folder / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    own = build_own_wheel(root, wheels)
    reqs = requirements(root)
    for platform in platforms:
        for python in pythons:
            download(reqs, wheels, platform=platform, python=python, cache=Path(cache) if cache else None)
    (folder / "requirements.txt").write_text("\n".join(reqs) + "\n", "utf-8")
    here = Path(__file__).resolve().parent / "scripts"
    for name in SCRIPTS:
        shutil.copyfile(here / name, folder / name)
    (folder / "install.sh").chmod(0o755)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {"bianmin_wheel": own.name, "platforms": list(platforms), "pythons": list(pythons),
                "files": {str(p.relative_to(folder)): _sha256(p) for p in files}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), "utf-8")
    zip_path = None
    if make_zip:
        zip_path = folder.with_suffix(".zip")
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    z.write(p, Path(folder.name) / p.relative_to(folder))
    return BundleResult(folder, sorted(wheels.glob("*.whl")), zip_path)
