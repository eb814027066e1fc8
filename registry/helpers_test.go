package registry

import (
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitFor polls fn every few milliseconds until it reports true, failing the
// test when total elapses.
func waitFor(t *testing.T, total time.Duration, fn func() bool) {
	t.Helper()
	deadline := time.NewTimer(total)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !fn() {
		select {
		case <-deadline.C:
			t.Fatalf("condition not met within %v", total)
		case <-tick.C:
		}
	}
}

// testLogger writes the governor's logs to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// newGovernor builds a Governor and closes it at the end of the test.
func newGovernor(t *testing.T, cfg Config) *Governor {
	t.Helper()
	g, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

// frameID returns the schema ID of a framed record.
func frameID(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 5 || b[0] != 0 {
		t.Fatalf("not framed: %x", b)
	}
	return int(binary.BigEndian.Uint32(b[1:5]))
}

// frame builds a Confluent wire-format record.
func frame(id int, payload []byte) []byte {
	return append(appendHeader(nil, id), payload...)
}

// writeFile writes a schema file and moves its mtime forward so that the
// watcher sees a change even on coarse-grained filesystems.
func writeFile(t *testing.T, dir, name, text string, mtime time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func mustID(t *testing.T, text string) int {
	t.Helper()
	id, _, err := deriveID([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return id
}
