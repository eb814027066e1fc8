// Package registry owns schema governance: it maps Kafka topics to schema
// subjects, validates the JSON that clients publish against Avro or JSON
// Schema, encodes it in the Confluent wire format (magic byte 0, 4-byte
// big-endian schema ID, payload), and decodes framed records back into
// natural JSON for subscribers.
//
// Schemas come from one catalog chosen in Config: a Confluent-compatible
// schema registry (through github.com/riferrei/srclient), a directory of
// schema files, or schemas written inline in the configuration. The
// Governor is the only entry point; it is safe for concurrent use.
//
// Hot path: compiled schemas are cached by ID and topic routes by topic;
// both tables are read without locks (atomic pointers to immutable maps and a
// sync.Map). Once warm, EncodeValue and DecodeValue make no HTTP call and
// parse no schema: an expired "latest" entry is refreshed by one background
// request while the cached schema keeps being served, also while the
// registry is down. Scratch buffers are pooled per Governor.
//
// Goroutines: the filesystem catalog runs one watcher goroutine, and the
// registry catalog runs one goroutine per in-flight lookup; Close stops and
// waits for all of them.
//
// The package does no HTTP serving and imports none of bridge, auth or
// topics; docs/schemas.md describes the user-facing behaviour, including the
// JSON ↔ Avro mapping.
package registry
