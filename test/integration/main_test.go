package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
)

// sluiceBin is the binary built by TestMain.
var sluiceBin string

// buildTimeout bounds building the binary.
const buildTimeout = 5 * time.Minute

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sluice-integration-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sluiceBin = filepath.Join(dir, "sluice")
	if err := buildSluice(sluiceBin); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: building sluice: %v\n", err)
		return 1
	}
	code := kafkatest.Main(m)
	// The shared broker is down by now; a sluice process with nothing left
	// to flush still shuts down cleanly.
	if err := stopSharedSluice(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: shared sluice process: %v\n", err)
		code = 1
	}
	return code
}

// buildSluice builds ./cmd/sluice from the module root into out, with the
// race detector when the tests run with it.
func buildSluice(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/sluice")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, output.String())
	}
	return nil
}

// moduleRoot is the directory of the main module, as the go command sees
// it from the test's working directory (the package directory).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}
