package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
)

// Limits of the harness.
const (
	// readyTimeout bounds the wait for /readyz to answer 200.
	readyTimeout = 60 * time.Second
	// stopTimeout is how long a sluice process has to exit after SIGTERM
	// before it is killed; the server's own shutdown bound is 15s.
	stopTimeout = 30 * time.Second
	// pollInterval is the pause between checks of a polling helper.
	pollInterval = 20 * time.Millisecond
	// startAttempts is how often a start is retried when the port picked
	// for it was taken in between.
	startAttempts = 3
)

// baseConfig is the part of every test configuration that turns off
// authentication and logs JSON; brokers and listen come from flags.
const baseConfig = `
auth: {mode: none}
log: {format: json, level: info}
`

// sluiceProc is one running sluice binary.
type sluiceProc struct {
	addr string // 127.0.0.1:port of its WebSocket and HTTP endpoint
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr

	done    chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result, read after done

	stopOnce sync.Once
	exitCode int
	stopErr  error
}

// startSluice starts a sluice process with yamlConfig against the shared
// broker, waits until /readyz answers 200, and at cleanup stops it with
// SIGTERM, failing the test unless it exits 0. Its output is dumped when
// the test fails.
func startSluice(t testing.TB, yamlConfig string) *sluiceProc {
	t.Helper()
	p, err := launchSluice(yamlConfig, t.TempDir())
	if err != nil {
		t.Fatalf("starting sluice: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("sluice: %v", err)
		}
		if t.Failed() {
			t.Logf("--- sluice output (%s) ---\n%s", p.addr, p.out.String())
		}
	})
	return p
}

// launchSluice writes the config into dir and starts the process, retrying
// when another process took the picked port first.
func launchSluice(yamlConfig, dir string) (*sluiceProc, error) {
	cfgFile := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(cfgFile, []byte(yamlConfig), 0o644); err != nil {
		return nil, err
	}
	var last error
	for range startAttempts {
		p, err := launchOnce(cfgFile)
		if err == nil {
			return p, nil
		}
		last = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, last
}

func launchOnce(cfgFile string) (*sluiceProc, error) {
	p, err := spawnSluice(cfgFile)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%w\n--- sluice output ---\n%s", err, p.out.String())
	}
	return p, nil
}

// spawnSluice starts the sluice binary with cfgFile on a free loopback port
// against the shared broker, without waiting for it to be ready.
func spawnSluice(cfgFile string) (*sluiceProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &sluiceProc{
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out:  &syncBuffer{},
		done: make(chan struct{}),
	}
	p.cmd = exec.Command(sluiceBin, "serve",
		"--config", cfgFile,
		"--brokers", kafkatest.Shared().Addr(),
		"--listen", p.addr,
		"--log-format", "json")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.WaitDelay = 5 * time.Second
	configureProcess(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /readyz until it answers 200.
func (p *sluiceProc) waitReady() error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("sluice exited before it was ready: %v", p.waitErr)
		default:
		}
		resp, err := client.Get(p.httpURL("/readyz"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(pollInterval)
	}
	return fmt.Errorf("sluice on %s not ready after %v (last: %s)", p.addr, readyTimeout, last)
}

// exited returns an error if the process has exited, nil while it runs.
func (p *sluiceProc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("sluice on %s exited: %v", p.addr, p.waitErr)
	default:
		return nil
	}
}

// signal sends sig to the process.
func (p *sluiceProc) signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// wait waits for the process to exit and returns its exit code, killing it
// after timeout.
func (p *sluiceProc) wait(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return -1, fmt.Errorf("did not exit within %v and was killed", timeout)
	}
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0, nil
	case errors.As(p.waitErr, &ee):
		return ee.ExitCode(), nil
	}
	return -1, p.waitErr
}

// terminate sends SIGTERM and returns the exit code, killing the process
// if it has not exited within stopTimeout. Only the first call signals;
// later ones return its result.
func (p *sluiceProc) terminate() (int, error) {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			p.exitCode, p.stopErr = -1, fmt.Errorf("had exited before it was stopped: %v", p.waitErr)
			return
		default:
		}
		_ = p.signal(syscall.SIGTERM)
		p.exitCode, p.stopErr = p.wait(stopTimeout)
	})
	return p.exitCode, p.stopErr
}

// stop terminates the process and reports an error unless it exited 0.
func (p *sluiceProc) stop() error {
	code, err := p.terminate()
	switch {
	case err != nil:
		return err
	case code != 0:
		return fmt.Errorf("exited %d after SIGTERM, want 0", code)
	}
	return nil
}

func (p *sluiceProc) httpURL(path string) string { return "http://" + p.addr + path }
func (p *sluiceProc) wsURL(path string) string   { return "ws://" + p.addr + path }

// metric scrapes /metrics and returns the value of the sample whose name
// and labels are exactly series, as `name{label="v"}`; absent is an error.
func (p *sluiceProc) metric(series string) (float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(p.httpURL("/metrics"))
	if err != nil {
		if exitErr := p.exited(); exitErr != nil {
			return 0, exitErr
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no sample %s in /metrics", series)
}

// logLines returns the process's output lines that contain substr.
func (p *sluiceProc) logLines(substr string) []string {
	var out []string
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// shared is the sluice process shared by tests whose configuration is
// sharedConfig. It is started on first use and stopped after the tests.
var shared struct {
	mu   sync.Mutex
	proc *sluiceProc
	dir  string
	// died lists earlier shared processes that exited on their own; each
	// fails the run at the end.
	died []string
}

// sharedConfig serves the tests that need no special limits: topics are
// not auto-created (tests create their own), frames are limited to 64 KiB,
// and two routes map onto chat.{room}.
const sharedConfig = baseConfig + `
kafka:
  auto_create_topics: false
max_frame_bytes: 65536
routes:
  - {path: "/chat/{room}", topic: "chat.{room}", from: latest, mode: both}
  - {path: "/history/{room}", topic: "chat.{room}", from: earliest, mode: subscribe}
`

// sharedFrameLimit is max_frame_bytes of sharedConfig.
const sharedFrameLimit = 65536

// sharedSluice returns the shared sluice process, starting it on first use.
// When a test using it fails, its output so far is dumped.
func sharedSluice(t testing.TB) *sluiceProc {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if p := shared.proc; p != nil {
		select {
		case <-p.done:
			// It died under an earlier test (which then failed): start a
			// fresh one, so that one crash does not fail every later test.
			shared.died = append(shared.died, fmt.Sprintf("shared sluice on %s exited: %v\n%s", p.addr, p.waitErr, p.out.String()))
			shared.proc = nil
			os.RemoveAll(shared.dir)
		default:
		}
	}
	if shared.proc == nil {
		dir, err := os.MkdirTemp("", "sluice-shared-")
		if err != nil {
			t.Fatal(err)
		}
		p, err := launchSluice(sharedConfig, dir)
		if err != nil {
			os.RemoveAll(dir)
			t.Fatalf("starting the shared sluice: %v", err)
		}
		shared.proc, shared.dir = p, dir
	}
	p := shared.proc
	t.Cleanup(func() {
		select {
		case <-p.done:
			t.Errorf("the shared sluice process exited during the test: %v", p.waitErr)
		default:
		}
		if t.Failed() {
			t.Logf("--- shared sluice output (%s) ---\n%s", p.addr, p.out.String())
		}
	})
	return p
}

// stopSharedSluice stops the shared process, if it was started.
func stopSharedSluice() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var errs []error
	for _, d := range shared.died {
		errs = append(errs, errors.New(d))
	}
	if shared.proc != nil {
		defer os.RemoveAll(shared.dir)
		if err := shared.proc.stop(); err != nil {
			errs = append(errs, fmt.Errorf("%w\n--- output ---\n%s", err, shared.proc.out.String()))
		}
	}
	return errors.Join(errs...)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond until it reports true or timeout passes, then fails
// the test with the last description cond gave.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, desc := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v: %s", timeout, desc)
		}
		time.Sleep(pollInterval)
	}
}

// testCtx returns a context that ends with the test or after d.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
