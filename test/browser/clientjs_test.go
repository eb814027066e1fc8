package browser

import (
	"path/filepath"
	"testing"
	"time"
)

// clientTestTimeout bounds the client's whole Node test suite.
const clientTestTimeout = 4 * time.Minute

// TestClientJS checks that clients/js/dist is what its sources compile to,
// then runs the client's Node tests (node --test) against sluice processes
// on the embedded development broker.
func TestClientJS(t *testing.T) {
	t.Parallel()
	requireNode(t)
	bin := sluiceBinary(t)
	dir := filepath.Join(moduleRoot(t), "clients", "js")
	npmCI(t, dir)
	run(t, clientTestTimeout, dir, []string{"SLUICE_BIN=" + bin}, "npm", "run", "ci")
}
