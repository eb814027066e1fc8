package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Limits of the environment the bench sets up.
const (
	// readyTimeout bounds the wait for a started Sluice's /readyz.
	readyTimeout = 60 * time.Second
	// stopTimeout is how long a child has to exit after SIGTERM.
	stopTimeout = 20 * time.Second
	// topicTimeout bounds creating a topic and waiting for its leaders.
	topicTimeout = 30 * time.Second
	// buildTimeout bounds go build of ./cmd/sluice.
	buildTimeout = 5 * time.Minute
	// pollInterval is the pause between readiness checks.
	pollInterval = 50 * time.Millisecond
	// wantNoFile is the RLIMIT_NOFILE the bench asks for; children inherit it.
	wantNoFile = 1 << 20
)

// env is what a scenario runs against: a broker and a Sluice, either given
// or started (and then stopped) by the bench.
type env struct {
	opts    options
	brokers string
	broker  *kafkatest.Broker // started by the bench, or nil
	tmp     string
	bin     string // sluice binary, when the bench starts Sluice
	log     io.Writer
	noFile  uint64   // RLIMIT_NOFILE after raising it
	topics  []string // created by the bench; deleted on close from a broker it did not start
}

// newEnv raises the file limit, starts the broker when none is given and
// finds or builds the sluice binary. Call close when done.
func newEnv(ctx context.Context, o options, log io.Writer) (*env, error) {
	e := &env{opts: o, brokers: o.brokers, log: log}
	e.noFile = raiseNoFile()
	tmp, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return nil, err
	}
	e.tmp = tmp
	if o.sluiceURL == "" {
		if o.sluiceBin != "" {
			e.bin = o.sluiceBin
		} else if e.bin, err = buildSluice(ctx, tmp, log); err != nil {
			e.close()
			return nil, err
		}
	}
	if e.brokers == "" {
		fmt.Fprintln(log, "starting a Kafka broker (test/kafkatest)…")
		b, err := kafkatest.Start(ctx, kafkatest.Options{})
		if err != nil {
			e.close()
			return nil, fmt.Errorf("starting Kafka: %w", err)
		}
		e.broker, e.brokers = b, b.Addr()
	}
	return e, nil
}

func (e *env) close() {
	if e.broker != nil {
		e.broker.Close()
	} else if len(e.topics) > 0 {
		// A broker given with --brokers keeps running: leave no topics
		// behind (a publish run writes gigabytes).
		if err := deleteTopics(e.brokers, e.topics); err != nil {
			fmt.Fprintf(e.log, "note: deleting the bench's topics: %v\n", err)
		}
	}
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}

// raiseNoFile lifts RLIMIT_NOFILE as far as the process may (the hard limit
// too when running as root) and returns the soft limit in force. Children
// started afterwards (Sluice, the broadcast server) inherit it.
func raiseNoFile() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Max < wantNoFile {
		raised := syscall.Rlimit{Cur: wantNoFile, Max: wantNoFile}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return wantNoFile
		}
	}
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// buildSluice builds ./cmd/sluice of the module the working directory is in.
func buildSluice(ctx context.Context, dir string, log io.Writer) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	fmt.Fprintln(log, "building ./cmd/sluice…")
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	bin := filepath.Join(dir, "sluice")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sluice: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot walks up from the working directory to Sluice's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/sluicehq/sluice\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the Sluice module: run from the repository or pass --sluice-bin")
		}
		dir = parent
	}
}

// createTopic creates topic and waits until every partition has a leader.
// createTopics creates fresh topics and remembers them for close.
func (e *env) createTopics(ctx context.Context, partitions int, names ...string) error {
	for _, n := range names {
		if err := createTopic(ctx, e.brokers, n, partitions); err != nil {
			return err
		}
		e.topics = append(e.topics, n)
	}
	return nil
}

// deleteTopics deletes topics, waiting at most topicTimeout.
func deleteTopics(brokers string, topics []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), topicTimeout)
	defer cancel()
	resps, err := kadm.NewClient(cl).DeleteTopics(ctx, topics...)
	if err != nil {
		return err
	}
	return resps.Error()
}

func createTopic(ctx context.Context, brokers, topic string, partitions int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, topicTimeout)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic); err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	for {
		details, err := adm.ListTopics(ctx, topic)
		if err == nil {
			if d, ok := details[topic]; ok && d.Err == nil && len(d.Partitions) == partitions {
				ready := true
				for _, p := range d.Partitions {
					if p.Err != nil || p.Leader < 0 {
						ready = false
					}
				}
				if ready {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for topic %s: %w", topic, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// topicName returns a fresh topic name for one run.
func topicName(kind string) string {
	return fmt.Sprintf("sluice-bench-%s-%d", kind, time.Now().UnixNano())
}

// sluiceProc is a Sluice the bench talks to: one it started, or one given
// by --sluice-url (then cmd is nil).
type sluiceProc struct {
	addr      string // host:port
	pprofAddr string // its own pprof listener, when it shares addr with others
	pid       int    // 0 when unknown
	cmd       *exec.Cmd
	logPath   string
	done      chan struct{}
}

// sluiceConfig is the configuration of a Sluice the bench starts; extra is
// appended YAML (the registry of the schema scenario).
func sluiceConfig(o options, extra string) string {
	linger := o.linger.String()
	if o.linger == 0 {
		linger = "-1ns" // Sluice's zero means its default; negative means none
	}
	if o.sluicePprof != "" {
		extra = fmt.Sprintf("pprof_listen: %q\n", o.sluicePprof) + extra
	}
	return fmt.Sprintf(`auth: {mode: none}
log: {format: json, level: warn}
send_queue_length: %d
kafka:
  linger: %s
%s`, o.sendQueue, linger, extra)
}

// sluice returns the Sluice to measure: --sluice-url, or a process started
// with a configuration of sluiceConfig(extra).
func (e *env) sluice(ctx context.Context, name, extra string) (*sluiceProc, error) {
	if e.opts.sluiceURL != "" {
		u := strings.TrimPrefix(strings.TrimPrefix(strings.TrimRight(e.opts.sluiceURL, "/"), "http://"), "ws://")
		return &sluiceProc{addr: u, pid: e.opts.sluicePID}, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := e.startSluice(ctx, name, sluiceConfig(e.opts, extra), net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "")
	if err != nil {
		return nil, err
	}
	return p, nil
}

// sluices starts n Sluice processes that share one address through
// listen_reuse_port, each on its own loopback pprof address (the shared
// address's /metrics reaches any one of them, so each process's figures
// are read from its own pprof). With n == 1 it is sluice.
func (e *env) sluices(ctx context.Context, name, extra string, n int) ([]*sluiceProc, error) {
	if n <= 1 || e.opts.sluiceURL != "" {
		p, err := e.sluice(ctx, name, extra)
		if err != nil {
			return nil, err
		}
		return []*sluiceProc{p}, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var procs []*sluiceProc
	for i := range n {
		pport, err := freePort()
		if err != nil {
			stopAll(procs)
			return nil, err
		}
		pprofAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(pport))
		o := e.opts
		o.sluicePprof = pprofAddr
		cfg := sluiceConfig(o, "listen_reuse_port: true\n"+extra)
		p, err := e.startSluice(ctx, fmt.Sprintf("%s-%d", name, i+1), cfg, addr, pprofAddr)
		if err != nil {
			stopAll(procs)
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// stopAll stops every started Sluice, in parallel.
func stopAll(procs []*sluiceProc) {
	done := make(chan struct{})
	for _, p := range procs {
		go func() {
			p.stop()
			done <- struct{}{}
		}()
	}
	for range procs {
		<-done
	}
}

// startSluice runs a Sluice with cfg listening on addr and waits until it
// is ready: its /readyz, or with pprofAddr (one of several processes on a
// shared address, where /readyz may reach another) its pprof listener,
// which opens after the endpoint's.
func (e *env) startSluice(ctx context.Context, name, cfg, addr, pprofAddr string) (*sluiceProc, error) {
	cfgFile := filepath.Join(e.tmp, name+".yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	p := &sluiceProc{addr: addr, pprofAddr: pprofAddr, logPath: filepath.Join(e.tmp, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(e.bin, "serve", "--config", cfgFile, "--brokers", e.brokers, "--listen", p.addr, "--log-format", "json")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = childAttrs()
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting sluice: %w", err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		_ = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	readyURL := "http://" + p.addr + "/readyz"
	if pprofAddr != "" {
		readyURL = "http://" + pprofAddr + "/debug/pprof/"
	}
	if err := p.waitReady(ctx, readyURL); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\n--- sluice output ---\n%s", err, p.logTail())
	}
	return p, nil
}

// childAttrs puts a child in its own process group and, on Linux, has the
// kernel kill it when the bench dies, so no child outlives a crashed run.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (p *sluiceProc) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return errors.New("sluice exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(pollInterval)
	}
	return fmt.Errorf("sluice on %s not ready after %v (last: %s)", p.addr, readyTimeout, last)
}

// stop ends a started Sluice: SIGTERM, then SIGKILL after stopTimeout.
func (p *sluiceProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-p.done
	}
}

// logTail returns the end of a started Sluice's output.
func (p *sluiceProc) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	const max = 8 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

// wsURL is the JSON protocol endpoint.
func (p *sluiceProc) wsURL() string { return "ws://" + p.addr + "/v1/ws" }

// httpGetText fetches a loopback URL's body.
func httpGetText(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// metrics scrapes /metrics and returns the samples named in names.
func (p *sluiceProc) metrics(ctx context.Context, names ...string) (map[string]float64, error) {
	text, err := httpGetText(ctx, "http://"+p.addr+"/metrics")
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(names))
	for _, line := range strings.Split(text, "\n") {
		series, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(series, "#") {
			continue
		}
		name, _, _ := strings.Cut(series, "{")
		for _, n := range names {
			if name == n {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					out[n] += f // summed over the name's label values
				}
			}
		}
	}
	return out, nil
}

// quietLogger is the franz-go logger of the bench's clients: errors only.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}
