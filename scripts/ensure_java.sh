#!/usr/bin/env bash
# A Java runtime for local Spark (the dbt `spark` target, `make spark-check`): Spark 4 runs on
# Java 17 or 21. Does nothing when `java` is already 17 or newer; otherwise installs Debian's
# openjdk-17-jre-headless (openjdk-21-jre-headless where the release has no 17) with apt-get,
# quietly. Fails with a clear message where apt-get is unavailable or cannot install it.
set -euo pipefail

java_major() {
    # `java -version` prints e.g. 'openjdk version "17.0.15" 2025-04-15' (or "1.8.0_…" for 8)
    local v
    v=$("$1" -version 2>&1 | sed -n 's/.* version "\([0-9][0-9._]*\).*/\1/p' | head -n 1)
    v=${v#1.}
    echo "${v%%.*}"
}

java_ok() {
    local bin major
    bin=$(command -v java 2>/dev/null) || return 1
    major=$(java_major "$bin")
    [[ -n "$major" && "$major" -ge 17 ]]
}

if java_ok; then
    exit 0
fi

need="Spark (the dbt 'spark' target, make spark-check) needs a Java 17 or newer runtime"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $need, and this machine has no apt-get to install one." >&2
    echo "       Install a Java 17+ runtime (e.g. OpenJDK 17) and put 'java' on PATH, then re-run." >&2
    exit 1
fi
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
        echo "error: $need; installing it with apt-get needs root (or sudo)." >&2
        exit 1
    fi
fi

echo "installing a Java runtime for Spark (apt-get install openjdk-17-jre-headless) ..."
export DEBIAN_FRONTEND=noninteractive
$sudo mkdir -p /usr/share/man/man1  # slim images lack it and the JRE's post-install step fails
$sudo apt-get update -qq >/dev/null
for package in openjdk-17-jre-headless openjdk-21-jre-headless; do
    if apt-cache show "$package" >/dev/null 2>&1; then
        $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
        break
    fi
done
hash -r
if ! java_ok; then
    echo "error: $need; apt-get could not install openjdk-17-jre-headless (nor openjdk-21-jre-headless)." >&2
    exit 1
fi
echo "java: $(java -version 2>&1 | head -n 1)"
