package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
)

func TestMain(m *testing.M) {
	code := kafkatest.Main(m)
	if binaries.dir != "" {
		_ = os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// Limits of the smoke test.
const (
	// buildTimeout bounds building the two binaries.
	buildTimeout = 5 * time.Minute
	// runTimeout bounds one bench run.
	runTimeout = 2 * time.Minute
)

// binaries are the bench and sluice binaries, built once per test binary.
var binaries struct {
	once          sync.Once
	dir           string // removed by TestMain
	bench, sluice string
	err           error
}

func build(t *testing.T) (bench, sluice string) {
	t.Helper()
	binaries.once.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-bench-smoke-")
		if err != nil {
			binaries.err = err
			return
		}
		binaries.dir = dir
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		for _, b := range []struct{ out, pkg string }{{"sluice-bench", "./cmd/sluice-bench"}, {"sluice", "./cmd/sluice"}} {
			cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
			cmd.Dir = filepath.Join("..", "..")
			if out, err := cmd.CombinedOutput(); err != nil {
				binaries.err = &buildError{pkg: b.pkg, out: string(out), err: err}
				return
			}
		}
		binaries.bench, binaries.sluice = filepath.Join(dir, "sluice-bench"), filepath.Join(dir, "sluice")
	})
	if binaries.err != nil {
		t.Fatalf("building: %v", binaries.err)
	}
	return binaries.bench, binaries.sluice
}

type buildError struct {
	pkg, out string
	err      error
}

func (e *buildError) Error() string { return "go build " + e.pkg + ": " + e.err.Error() + "\n" + e.out }

// result is the part of the --json output the smoke test checks.
type result struct {
	Scenario string `json:"scenario"`
	Machine  struct {
		NProc int `json:"nproc"`
	} `json:"machine"`
	Params struct {
		Sockets int `json:"sockets"`
		Size    int `json:"size"`
	} `json:"params"`
	Runs []struct {
		Name             string  `json:"name"`
		Records          int64   `json:"records"`
		RecordsPerSec    float64 `json:"records_per_sec"`
		MBPerSec         float64 `json:"mb_per_sec"`
		Deliveries       int64   `json:"deliveries"`
		DeliveriesPerSec float64 `json:"deliveries_per_sec"`
		Errors           int64   `json:"errors"`
		FirstError       string  `json:"first_error"`
		Latency          struct {
			Count int64   `json:"count"`
			P50   float64 `json:"p50_ms"`
			P99   float64 `json:"p99_ms"`
			P999  float64 `json:"p999_ms"`
		} `json:"latency"`
		RecordsPerBatch float64 `json:"records_per_batch"`
	} `json:"runs"`
	Ratios []struct {
		Name  string  `json:"name"`
		Value float64 `json:"value"`
	} `json:"ratios"`
	Connections *struct {
		Requested       int     `json:"requested"`
		Accepted        int     `json:"accepted"`
		RSSAfter        int64   `json:"rss_after_bytes"`
		HeapAfter       int64   `json:"heap_inuse_after_bytes"`
		GoroutinesAfter int64   `json:"goroutines_after"`
		AcceptSeconds   float64 `json:"accept_seconds"`
		RSSPerConn      float64 `json:"rss_per_conn_bytes"`
		SluiceProcs     int     `json:"sluice_procs"`
		DialProcs       int     `json:"dial_procs"`
	} `json:"connections"`
}

func TestScenarios(t *testing.T) {
	bench, sluice := build(t)
	brokers := kafkatest.Shared().Addr()
	common := []string{"--brokers", brokers, "--sluice-bin", sluice, "--json", "--duration", "1s", "--warmup", "500ms", "--partitions", "1"}
	tests := []struct {
		scenario string
		args     []string
		runs     []string // names of the runs, in order
		ratios   int
		delivers bool
	}{
		{"publish", []string{"--sockets", "2", "--size", "256", "--inflight", "8"}, []string{"sluice", "franz-go"}, 1, false},
		{"schema", []string{"--sockets", "2", "--size", "256", "--inflight", "8"}, []string{"sluice-plain", "sluice-avro", "franz-go"}, 2, false},
		{"fanout", []string{"--sockets", "10", "--size", "128", "--rate", "200"}, []string{"sluice", "bare-broadcast"}, 1, true},
		{"connections", []string{"--sockets", "50", "--source-addrs", "3"}, nil, 0, false},
		// Several Sluices on one address and several client processes,
		// as runs beyond one process's RLIMIT_NOFILE have.
		{"connections", []string{"--sockets", "40", "--sluice-procs", "2", "--dial-procs", "2"}, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(append([]string{tc.scenario}, tc.args...), " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
			defer cancel()
			args := append(append([]string{"--scenario", tc.scenario}, common...), tc.args...)
			cmd := exec.CommandContext(ctx, bench, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.WaitDelay = 10 * time.Second
			if err := cmd.Run(); err != nil {
				t.Fatalf("sluice-bench %v: %v\n--- stderr ---\n%s", args, err, stderr.String())
			}
			var res result
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
			}
			t.Logf("table:\n%s", stderr.String())
			if res.Scenario != tc.scenario || res.Machine.NProc < 1 || res.Params.Sockets < 1 {
				t.Errorf("scenario %q, nproc %d, sockets %d: want %q and positive counts", res.Scenario, res.Machine.NProc, res.Params.Sockets, tc.scenario)
			}
			if len(res.Runs) != len(tc.runs) {
				t.Fatalf("got %d runs, want %v", len(res.Runs), tc.runs)
			}
			for i, r := range res.Runs {
				if r.Name != tc.runs[i] {
					t.Errorf("run %d is %q, want %q", i, r.Name, tc.runs[i])
				}
				if r.Records <= 0 || r.RecordsPerSec <= 0 || r.Latency.Count <= 0 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.Latency.P999 < r.Latency.P99 {
					t.Errorf("run %s: records %d (%v/s), latency %+v: want positive, ordered figures", r.Name, r.Records, r.RecordsPerSec, r.Latency)
				}
				if (tc.scenario == "publish" || tc.scenario == "schema") && r.RecordsPerBatch <= 0 {
					t.Errorf("run %s: %v records per produce batch: want positive", r.Name, r.RecordsPerBatch)
				}
				if r.Errors != 0 {
					t.Errorf("run %s: %d errors, first: %s", r.Name, r.Errors, r.FirstError)
				}
				if tc.delivers && (r.Deliveries <= 0 || r.DeliveriesPerSec <= 0) {
					t.Errorf("run %s: %d deliveries: want some", r.Name, r.Deliveries)
				}
			}
			if len(res.Ratios) != tc.ratios {
				t.Errorf("got %d ratios, want %d", len(res.Ratios), tc.ratios)
			}
			for _, q := range res.Ratios {
				if q.Value <= 0 {
					t.Errorf("ratio %s is %v, want positive", q.Name, q.Value)
				}
			}
			if tc.scenario == "connections" {
				c := res.Connections
				if c == nil {
					t.Fatal("no connections section")
				}
				if c.Accepted != c.Requested || c.RSSAfter <= 0 || c.HeapAfter <= 0 || c.GoroutinesAfter <= 0 || c.AcceptSeconds <= 0 {
					t.Errorf("connections %+v: want every socket accepted and positive figures", *c)
				}
				if wantSpread := slices.Contains(tc.args, "--sluice-procs"); wantSpread != (c.SluiceProcs == 2 && c.DialProcs == 2) || !wantSpread && (c.SluiceProcs != 1 || c.DialProcs != 1) {
					t.Errorf("connections ran in %d Sluice and %d client processes", c.SluiceProcs, c.DialProcs)
				}
			}
		})
	}
}
