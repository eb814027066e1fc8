// Package browser runs the JavaScript client's tests and an end-to-end test
// of the web console in headless Chromium, both against real sluice
// processes, so that `go test ./...` (make test) covers them.
//
// Prerequisites are Node 20+, npm, Chromium, kcat, Java and Maven
// (scripts/install-test-deps.sh); the npm packages come from the registry
// through `npm ci`. A missing prerequisite fails the tests, never skips
// them.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
)

// Named limits.
const (
	// buildTimeout bounds building the sluice binary.
	buildTimeout = 5 * time.Minute
	// npmCITimeout bounds one `npm ci`.
	npmCITimeout = 3 * time.Minute
	// stopGrace is how long a cancelled child gets after SIGTERM before
	// its process group is killed.
	stopGrace = 10 * time.Second
)

func TestMain(m *testing.M) {
	code := kafkatest.Main(m)
	if sluice.path != "" {
		_ = os.RemoveAll(filepath.Dir(sluice.path))
	}
	os.Exit(code)
}

// sluice is the binary shared by this package's tests, built once.
var sluice struct {
	once sync.Once
	path string
	err  error
}

// sluiceBinary builds ./cmd/sluice into a temporary directory, once;
// TestMain removes it.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	sluice.once.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-browser-")
		if err != nil {
			sluice.err = err
			return
		}
		sluice.path = filepath.Join(dir, "sluice")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", sluice.path, "./cmd/sluice")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			sluice.err = fmt.Errorf("go build ./cmd/sluice: %w\n%s", err, out)
		}
	})
	if sluice.err != nil {
		t.Fatal(sluice.err)
	}
	return sluice.path
}

// moduleRoot is the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod)
}

// requireNode fails the test unless node (20 or newer) and npm are on PATH.
func requireNode(t *testing.T) {
	t.Helper()
	node := kafkatest.RequireTool(t, "node")
	kafkatest.RequireTool(t, "npm")
	out, err := exec.Command(node, "-p", "process.versions.node.split('.')[0]").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	var major int
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &major); err != nil || major < 20 {
		t.Fatalf("node %s is too old: the client and the console tests need Node 20 or newer", strings.TrimSpace(string(out)))
	}
}

// run runs name with args in dir and logs its output; the process and its
// children (sluice, chromium) form one process group that ends with the
// test. It fails the test when the command fails.
func run(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ownProcessGroup(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	started := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the command left behind in its group goes with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	t.Logf("%s %s (%v):\n%s", name, strings.Join(args, " "), time.Since(started).Round(time.Millisecond), out.String())
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %v)", err, timeout)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
}

// npmCI installs the exact dependencies of the package in dir.
func npmCI(t *testing.T, dir string) {
	t.Helper()
	run(t, npmCITimeout, dir, nil, "npm", "ci", "--no-audit", "--no-fund", "--prefer-offline")
}
