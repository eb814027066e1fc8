// Package bench holds the smoke test of cmd/sluice-bench: every scenario
// runs briefly with tiny numbers against the shared real Kafka broker, by
// building and running the bench binary, and its --json output is checked.
// The figures themselves are not checked; BENCHMARKS.md reports them.
package bench
