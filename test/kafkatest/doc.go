// Package kafkatest runs a real Apache Kafka broker for integration tests.
//
// A [Broker] is a single-node KRaft cluster (one process acting as both
// broker and controller) started as a child java process from the jars that
// test/kafka/pom.xml resolves from Maven Central. scripts/kafka-classpath.sh
// resolves and caches that classpath; scripts/install-test-deps.sh installs
// Java, Maven and the other external tools the suite needs.
//
// Most test binaries share one broker for all their tests:
//
//	func TestMain(m *testing.M) { os.Exit(kafkatest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		b := kafkatest.Shared()
//		if err := b.CreateTopic(t.Context(), "orders", 3); err != nil { ... }
//		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), ...)
//	}
//
// Tests on the shared broker must use their own topic names and must not
// Stop or Restart it; a test that needs to take the broker down starts its
// own with [Start] and defers [Broker.Close].
//
// A missing prerequisite (java, mvn, a tool looked up with [RequireTool]) or
// a broker that does not start is a test failure, never a skip: a skipped
// integration test is indistinguishable from a passing one in CI.
//
// Broker processes run in their own process group and, on Linux, receive
// SIGKILL when the test binary dies, so a crashed or timed-out test leaves no
// java process behind. The package is Unix-only.
//
// Goroutine safety: all [Broker] methods are safe for concurrent use, though
// Stop, Restart and Close naturally race with tests using the broker.
package kafkatest
