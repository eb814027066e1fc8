// Package integration drives a running sluice binary over real WebSocket
// connections against a real Apache Kafka broker (test/kafkatest).
//
// TestMain builds the binary once (with -race when the tests run with
// -race, so a data race in the server fails its exit code), starts the
// shared broker, and stops the shared sluice process after the tests.
// Tests whose configuration allows it share one sluice process
// (sharedSluice); the others start their own with startSluice. Every test
// uses its own topics, since the broker persists across tests.
package integration
