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
// Files: governor.go (the API), route.go (topic → subject rules),
// config.go (Config and validate), catalog.go (catalog contract, inline
// catalog, local schema IDs), catalog_files.go (filesystem catalog and
// watcher), catalog_registry.go (srclient catalog and its cache), schema.go
// (compiled schemas, JSON Schema validation), avro_schema.go (hamba schema →
// codec tree), avro_encode.go (JSON → Avro with every violation), avro_scalar.go
// (number, temporal, decimal, base64 and UUID conversions),
// avro_decode.go (Avro → JSON), jsonparse.go (allocation-light JSON
// parser), wire.go (Confluent framing), errors.go (ViolationError and
// sentinels).
//
// The package does no HTTP serving and imports none of bridge, auth or
// topics; docs/schemas.md describes the user-facing behaviour, including the
// JSON ↔ Avro mapping.
package registry
