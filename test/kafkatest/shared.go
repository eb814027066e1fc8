package kafkatest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// shared is the broker of this test binary, started at most once.
var shared struct {
	once   sync.Once
	broker *Broker
	err    error
}

func startShared() (*Broker, error) {
	shared.once.Do(func() {
		started := time.Now()
		shared.broker, shared.err = Start(context.Background(), Options{})
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "kafkatest: shared broker on %s ready in %v\n",
				shared.broker.Addr(), time.Since(started).Round(time.Millisecond))
		}
	})
	return shared.broker, shared.err
}

// Main starts the shared broker, runs the tests and stops the broker. Call
// it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kafkatest.Main(m)) }
//
// If the broker cannot start (no java, no Maven, a broker error) Main prints
// why and returns 1 without running any test: a missing prerequisite is a
// failure, never a skip.
func Main(m *testing.M) int {
	b, err := startShared()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: kafkatest: cannot start the shared Kafka broker: %v\n"+
			"Run scripts/install-test-deps.sh to install Java, Maven and the test tools.\n", err)
		return 1
	}
	code := m.Run()
	if err := b.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kafkatest: stopping the shared broker: %v\n", err)
	}
	b.Close()
	return code
}

// Shared returns the broker shared by one test binary, starting it on first
// use. Use it with Main in TestMain, which starts it up front and stops it
// after the tests; without Main nothing closes it and, on Linux, the broker
// dies only with the test binary. Shared panics if the broker cannot start.
//
// Tests on the shared broker must not Stop, Restart or Close it.
func Shared() *Broker {
	b, err := startShared()
	if err != nil {
		panic(fmt.Sprintf("kafkatest: cannot start the shared Kafka broker: %v", err))
	}
	return b
}
