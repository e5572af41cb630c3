"""The local stack's pinned Java distributions, fetched by Maven from Maven Central into the cache.

`pom.xml` beside this file is the one place the versions are written; this module reads them from it.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from sgs.deploy.local.errors import StackError

POM = Path(__file__).with_name("pom.xml")
_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True)
class Versions:
    kafka: str
    elasticsearch: str
    apicurio: str


def pinned_versions(pom: Path = POM) -> Versions:
    root = ET.parse(pom).getroot()  # noqa: S314 - our own file

    def prop(name: str) -> str:
        node = root.find(f"m:properties/m:{name}", _NS)
        if node is None or not node.text:
            raise StackError(f"{pom}: property <{name}> missing")
        return node.text

    return Versions(prop("kafka.version"), prop("elasticsearch.version"), prop("apicurio.version"))


@dataclass(frozen=True)
class Artifacts:
    """Where each fetched distribution lives in the cache."""

    cache_dir: Path
    versions: Versions

    @property
    def kafka_libs(self) -> Path:
        return self.cache_dir / f"kafka-{self.versions.kafka}" / "libs"

    @property
    def elasticsearch_home(self) -> Path:
        return self.cache_dir / f"elasticsearch-{self.versions.elasticsearch}"

    @property
    def registry_home(self) -> Path:
        return self.cache_dir / f"apicurio-{self.versions.apicurio}"

    def missing(self) -> list[str]:
        markers = {
            "kafka": self.kafka_libs / f"kafka_2.13-{self.versions.kafka}.jar",
            "elasticsearch": self.elasticsearch_home / "bin" / "elasticsearch",
            "registry": self.registry_home / "quarkus-run.jar",
        }
        return [name for name, marker in markers.items() if not marker.exists()]


def fetch(artifacts: Artifacts, log_path: Path) -> None:
    """Run Maven to copy and unpack whatever is missing; a no-op when all is cached."""
    if not artifacts.missing():
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) is not on PATH: install it (Debian: apt-get install maven)")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [mvn, "-B", "-f", str(POM), "package", f"-Dsgs.cache={artifacts.cache_dir}"]
    with log_path.open("wb") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0 or artifacts.missing():
        raise StackError(
            f"fetching {', '.join(artifacts.missing()) or 'artifacts'} from Maven Central failed; see {log_path}"
        )
