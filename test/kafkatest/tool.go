package kafkatest

import (
	"os/exec"
	"testing"
)

// RequireTool returns the path of the external tool name (kcat, chromium,
// ...) found on PATH. A missing tool fails the test, never skips it.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("required tool %s is missing (%v): run scripts/install-test-deps.sh", name, err)
	}
	return path
}
