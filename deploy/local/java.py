"""Finding a JDK of at least a given major version: the configured one, `java` on PATH, or /usr/lib/jvm."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from sgs.deploy.local.errors import StackError

JVM_DIR = Path("/usr/lib/jvm")


def java_major(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    result = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates(configured: str) -> list[Path]:
    if configured:
        return [Path(configured)]
    found: list[Path] = []
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path).resolve().parent.parent)
    if JVM_DIR.is_dir():
        found += sorted((p for p in JVM_DIR.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
    return found


def find_java(min_major: int, configured: str, purpose: str) -> Path:
    """The JDK home to use for `purpose`; the configured one must qualify, else the first that does."""
    seen: list[str] = []
    for home in _candidates(configured):
        major = java_major(home)
        seen.append(f"{home} ({major or 'not a JDK'})")
        if major is not None and major >= min_major:
            return home
    raise StackError(
        f"{purpose} needs Java {min_major}+; found: {', '.join(seen) or 'no java at all'}. "
        f"Install a JDK {min_major}+ (Debian: apt-get install openjdk-{min_major}-jre-headless) or set the "
        "SGS_*JAVA_HOME setting"
    )
