#!/usr/bin/env bash
# Prints the Java classpath of the Apache Kafka broker used by the
# integration tests (test/kafkatest), resolved by Maven from test/kafka/pom.xml.
#
# The classpath is cached in test/.kafka/classpath.txt (gitignored) together
# with the SHA-256 of the pom; Maven runs only when the cache is missing, the
# pom changed, or a jar on the cached classpath has gone from ~/.m2.
# Concurrent callers (parallel test binaries) are serialised with flock.
#
# Usage: scripts/kafka-classpath.sh [--refresh]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$root/test/kafka/pom.xml"
cache_dir="$root/test/.kafka"
cache="$cache_dir/classpath.txt"
key_file="$cache_dir/classpath.key"

die() { echo "kafka-classpath: $*" >&2; exit 1; }

[[ -f "$pom" ]] || die "missing $pom"
mkdir -p "$cache_dir"

refresh=false
if [[ "${1:-}" == "--refresh" ]]; then
	refresh=true
elif [[ $# -gt 0 ]]; then
	die "unknown argument: $1 (usage: $0 [--refresh])"
fi

# cache_valid succeeds when the cached classpath belongs to the current pom
# and every jar on it still exists.
cache_valid() {
	[[ -s "$cache" && -s "$key_file" ]] || return 1
	[[ "$(cat "$key_file")" == "$key" ]] || return 1
	local jar
	local -a jars
	IFS=: read -r -a jars < "$cache"
	[[ ${#jars[@]} -gt 0 ]] || return 1
	for jar in "${jars[@]}"; do
		[[ -f "$jar" ]] || return 1
	done
}

resolve() {
	command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (scripts/install-test-deps.sh)"
	command -v java >/dev/null 2>&1 || die "java not found: install a JDK 17+ (scripts/install-test-deps.sh)"
	local tmp="$cache.tmp.$$"
	echo "kafka-classpath: resolving Kafka jars with Maven (first run downloads them)..." >&2
	# Maven's own output goes to stderr so stdout carries only the classpath.
	if ! mvn -q -B -f "$pom" dependency:build-classpath \
		-Dmdep.outputFile="$tmp" -Dmdep.includeScope=runtime 1>&2; then
		rm -f "$tmp"
		die "mvn dependency:build-classpath failed for $pom"
	fi
	[[ -s "$tmp" ]] || { rm -f "$tmp"; die "Maven wrote an empty classpath"; }
	mv -f "$tmp" "$cache"
	printf '%s\n' "$key" > "$key_file"
}

key="$(sha256sum "$pom" | cut -d' ' -f1)"

exec 9>"$cache_dir/classpath.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

if $refresh || ! cache_valid; then
	resolve
	cache_valid || die "resolved classpath is incomplete: $cache"
fi

cat "$cache"
echo
