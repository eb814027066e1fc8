#!/usr/bin/env bash
# Installs, with apt, the external tools the test suite needs and warms the
# Kafka broker classpath (scripts/kafka-classpath.sh).
#
# Idempotent: a tool already on PATH is left alone, and `apt-get update` runs
# only once, and only when something is missing. Uses sudo only when not root.
# Any failed install is fatal: the suite never skips for a missing tool.
#
# Usage: scripts/install-test-deps.sh [--check]
#   --check  install nothing; list what is missing and exit 1 if anything is.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { echo "install-test-deps: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

check_only=false
case "${1:-}" in
"") ;;
--check) check_only=true ;;
*) die "unknown argument: $1 (usage: $0 [--check])" ;;
esac

# need COMMAND PACKAGE... queues PACKAGE(s) for installation when COMMAND is
# not on PATH.
missing_pkgs=()
need() {
	local cmd="$1"
	shift
	if ! command -v "$cmd" >/dev/null 2>&1; then
		log "$cmd not found; will install: $*"
		missing_pkgs+=("$@")
	fi
}

# --- Kafka broker (test/kafkatest): a JDK and Maven resolve and run it. ---
need java default-jre-headless
need mvn maven

# --- Kafka command-line client used by integration tests. ---
need kcat kcat

# --- The compose init script's test runs it with curl. ---
need curl curl

# --- Browser end-to-end tests: headless Chromium driven over WebDriver. ---
need chromium chromium
need chromedriver chromium-driver

if $check_only; then
	[[ ${#missing_pkgs[@]} -eq 0 ]] || die "missing packages: ${missing_pkgs[*]}"
	log "all test tools present"
	exit 0
fi

if [[ ${#missing_pkgs[@]} -gt 0 ]]; then
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get not available; install these packages by hand: ${missing_pkgs[*]}"
	sudo=()
	if [[ "$(id -u)" -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and sudo not available; cannot install: ${missing_pkgs[*]}"
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	log "apt-get update"
	"${sudo[@]}" apt-get update -q || die "apt-get update failed"
	log "apt-get install ${missing_pkgs[*]}"
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" ||
		die "apt-get install failed for: ${missing_pkgs[*]}"
fi

for cmd in java mvn kcat curl chromium chromedriver; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd still not on PATH after installing"
done

log "warming the Kafka broker classpath"
"$root/scripts/kafka-classpath.sh" >/dev/null || die "could not resolve the Kafka classpath"
log "all test dependencies present"
