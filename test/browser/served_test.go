package browser

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a sluice process may take to listen.
const startTimeout = 30 * time.Second

// listeningAddr finds the address in sluice's "sluice listening" log line.
var listeningAddr = regexp.MustCompile(`msg="sluice listening" addr=(\S+)`)

// startSluice runs `sluice serve` on the embedded broker with the given
// config file (empty: none) on random ports, and returns its HTTP base URL.
// The process is stopped when the test ends.
func startSluice(t *testing.T, config string) string {
	t.Helper()
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "kafka")}
	if config != "" {
		path := filepath.Join(t.TempDir(), "sluice.yaml")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	cmd := exec.Command(sluiceBinary(t), args...)
	cmd.Env = append(os.Environ(), "SLUICE_EMBEDDED_KAFKA_LISTEN=127.0.0.1:0")
	ownProcessGroup(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopGrace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log strings.Builder
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := listeningAddr.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		t.Logf("sluice output:\n%s", log.String())
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatal("sluice exited before listening")
		}
		return "http://" + addr
	case <-time.After(startTimeout):
		t.Fatalf("sluice did not listen within %v", startTimeout)
	}
	return ""
}

// TestConsoleServedUnlessDisabled checks the wiring in cmd/sluice: the
// console at "/" and "/console/", the protocol still at /v1/ws, and
// console.disabled handing "/" back to the gateway.
func TestConsoleServedUnlessDisabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config string
		want   map[string]int
	}{
		{"enabled by default", "", map[string]int{
			"/":                        http.StatusOK,
			"/console/console.js":      http.StatusOK,
			"/console/client/index.js": http.StatusOK,
			"/v1/ws":                   http.StatusUpgradeRequired,
			"/healthz":                 http.StatusOK,
		}},
		{"disabled", "auth:\n  mode: none\nconsole:\n  disabled: true\n", map[string]int{
			"/":                   http.StatusNotFound,
			"/console/console.js": http.StatusNotFound,
			"/v1/ws":              http.StatusUpgradeRequired,
			"/healthz":            http.StatusOK,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := startSluice(t, tc.config)
			for path, status := range tc.want {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					cancel()
					t.Fatalf("GET %s: %v", path, err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				cancel()
				if res.StatusCode != status {
					t.Errorf("GET %s: status %d, want %d; body %.200q", path, res.StatusCode, status, body)
				}
				if path == "/" && status == http.StatusOK && !strings.Contains(string(body), "Sluice") {
					t.Errorf("GET /: not the console page: %.200q", body)
				}
			}
		})
	}
}
