#!/usr/bin/env bash
# One-shot setup of the demo stack (docker-compose.yml, service "init"):
# creates the demo topics and registers every schema in $SCHEMA_DIR with
# the schema registry. Safe to run again: topics are created only when
# missing, and registering an identical schema returns its existing id.
#
# Environment:
#   BOOTSTRAP_SERVERS    Kafka brokers.             Default: kafka:9092
#   SCHEMA_REGISTRY_URL  Schema registry base URL.  Default: http://schema-registry:8081
#   SCHEMA_DIR           <subject>.avsc (Avro) and <subject>.json (JSON Schema)
#                        files.                     Default: /schemas
#   TOPICS               Space-separated topics.    Default: "orders chat.lobby"
#   PARTITIONS           Partitions per topic.      Default: 3
set -euo pipefail

BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-kafka:9092}
SCHEMA_REGISTRY_URL=${SCHEMA_REGISTRY_URL:-http://schema-registry:8081}
SCHEMA_DIR=${SCHEMA_DIR:-/schemas}
TOPICS=${TOPICS:-orders chat.lobby}
PARTITIONS=${PARTITIONS:-3}

log() { printf 'init: %s\n' "$*"; }

for topic in $TOPICS; do
  log "topic $topic"
  kafka-topics --bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1
done

# json_string prints the file's text as one JSON string literal. Schema
# files are JSON, whose line breaks and tabs outside strings are only
# whitespace, so they become spaces; backslashes and quotes are escaped.
json_string() {
  printf '"%s"' "$(tr '\r\n\t' '   ' <"$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

register() { # register FILE TYPE
  local file=$1 type=$2 subject body code
  subject=$(basename "$file")
  subject=${subject%.*}
  body=$(printf '{"schemaType":"%s","schema":%s}' "$type" "$(json_string "$file")")
  log "subject $subject ($type) from $(basename "$file")"
  # --fail-with-body needs curl 7.76; the image may have an older one.
  code=$(curl --silent --show-error --retry 5 --retry-connrefused \
    -o "$response" -w '%{http_code}' \
    -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data-binary "$body" "$SCHEMA_REGISTRY_URL/subjects/$subject/versions")
  log "  HTTP $code $(cat "$response")"
  case $code in
    2??) ;;
    *) log "registering $subject failed"; exit 1 ;;
  esac
}

response=$(mktemp)
trap 'rm -f "$response"' EXIT

shopt -s nullglob
found=0
for f in "$SCHEMA_DIR"/*.avsc; do register "$f" AVRO; found=1; done
for f in "$SCHEMA_DIR"/*.json; do register "$f" JSON; found=1; done
if [ "$found" = 0 ]; then
  log "no schemas in $SCHEMA_DIR"
fi
log "done"
