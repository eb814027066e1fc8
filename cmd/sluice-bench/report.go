package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// result is what one bench run reports; --json prints it as is.
type result struct {
	Scenario    string      `json:"scenario"`
	StartedAt   time.Time   `json:"started_at"`
	Machine     machine     `json:"machine"`
	Params      params      `json:"params"`
	Runs        []runResult `json:"runs"`
	Ratios      []ratio     `json:"ratios,omitempty"`
	Connections *connResult `json:"connections,omitempty"`
	Notes       []string    `json:"notes,omitempty"`
}

type machine struct {
	NProc    int    `json:"nproc"`
	CPU      string `json:"cpu"`
	MemBytes int64  `json:"mem_bytes"`
	Go       string `json:"go"`
	NoFile   uint64 `json:"rlimit_nofile"`
}

type params struct {
	Sockets    int     `json:"sockets"`
	Size       int     `json:"size"`
	Rate       int     `json:"rate,omitempty"`
	Inflight   int     `json:"inflight,omitempty"`
	Batch      int     `json:"batch,omitempty"`
	Coalesce   int     `json:"coalesce,omitempty"`
	Rounds     int     `json:"rounds"`
	Partitions int     `json:"partitions"`
	Duration   float64 `json:"duration_s"`
	Warmup     float64 `json:"warmup_s"`
	Linger     string  `json:"linger"`
	SendQueue  int     `json:"send_queue"`
	Brokers    string  `json:"brokers"`
	Sluice     string  `json:"sluice"`
}

// runResult is one measured phase: Sluice or a baseline.
type runResult struct {
	Name    string  `json:"name"`
	Sockets int     `json:"sockets,omitempty"`
	Seconds float64 `json:"seconds"`
	// Records is what was acknowledged (publish) or produced (fanout)
	// inside the measured window.
	Records       int64   `json:"records"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	// Deliveries are message frames received by the sockets (fanout).
	Deliveries       int64              `json:"deliveries,omitempty"`
	DeliveriesPerSec float64            `json:"deliveries_per_sec,omitempty"`
	Latency          latencySummary     `json:"latency"`
	Errors           int64              `json:"errors"`
	FirstError       string             `json:"first_error,omitempty"`
	SocketsClosed    int64              `json:"sockets_closed"`
	CPUCores         map[string]float64 `json:"cpu_cores,omitempty"`
	// RecordsPerBatch is the mean records per produce batch written to
	// Kafka in the window (publish, schema).
	RecordsPerBatch float64 `json:"records_per_batch,omitempty"`
}

// ratio compares Sluice with a baseline; Target is the goal it should reach.
type ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target float64 `json:"target"`
	Met    bool    `json:"met"`
	// PerRound holds each round's ratio when the phases ran in rounds
	// (--rounds); Value is then their median.
	PerRound []float64 `json:"per_round,omitempty"`
}

func newRatio(name string, num, den, target float64) ratio {
	r := ratio{Name: name, Target: target}
	if den > 0 {
		r.Value = round3(num / den)
	}
	r.Met = r.Value >= target
	return r
}

// safeRatio is num/den, 0 when den is 0.
func safeRatio(num, den float64) float64 {
	if den <= 0 {
		return 0
	}
	return num / den
}

// medianRatio summarises per-round ratios: their median is the value, and
// with more than one round the name lists every round's.
func medianRatio(name string, perRound []float64, target float64) ratio {
	if len(perRound) == 0 {
		return ratio{Name: name, Target: target}
	}
	sorted := slices.Clone(perRound)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	if len(perRound) > 1 {
		parts := make([]string, len(perRound))
		for i, v := range perRound {
			parts[i] = strconv.FormatFloat(v, 'f', 3, 64)
		}
		name = fmt.Sprintf("%s (median of %d rounds: %s)", name, len(perRound), strings.Join(parts, ", "))
	}
	r := ratio{Name: name, Value: round3(med), Target: target, PerRound: perRound}
	r.Met = r.Value >= target
	return r
}

func newResult(o options, e *env, sluiceAddr string) *result {
	return &result{
		Scenario:  o.scenario,
		StartedAt: time.Now().UTC().Truncate(time.Second),
		Machine:   machine{NProc: runtime.NumCPU(), CPU: cpuModel(), MemBytes: memTotal(), Go: runtime.Version(), NoFile: e.noFile},
		Params: params{
			Sockets: o.sockets, Size: o.size, Rate: o.rate, Inflight: o.inflight, Batch: o.batch, Coalesce: o.coalesce, Rounds: o.rounds, Partitions: o.partitions,
			Duration: o.duration.Seconds(), Warmup: o.warmup.Seconds(), Linger: o.linger.String(),
			SendQueue: o.sendQueue, Brokers: e.brokers, Sluice: sluiceAddr,
		},
	}
}

// writeTable prints the result for people.
func (r *result) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\nscenario %s: %d sockets, %d-byte values, %gs measured after %gs warm-up; %d× %s, %.1f GiB\n",
		r.Scenario, r.Params.Sockets, r.Params.Size, r.Params.Duration, r.Params.Warmup, r.Machine.NProc, r.Machine.CPU, float64(r.Machine.MemBytes)/(1<<30))
	if len(r.Runs) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\trecords/s\tMB/s\tdeliveries/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\tclosed\trec/batch\tCPU cores\t")
		for _, run := range r.Runs {
			deliv := "-"
			if run.Deliveries > 0 || r.Scenario == "fanout" {
				deliv = strconv.FormatFloat(run.DeliveriesPerSec, 'f', 0, 64)
			}
			perBatch := "-"
			if run.RecordsPerBatch > 0 {
				perBatch = strconv.FormatFloat(run.RecordsPerBatch, 'f', 1, 64)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%s\t%s\t\n",
				run.Name, run.RecordsPerSec, run.MBPerSec, deliv, run.Latency.P50, run.Latency.P99, run.Latency.P999, run.Latency.Max,
				run.Errors, run.SocketsClosed, perBatch, formatCores(run.CPUCores))
		}
		tw.Flush()
	}
	if c := r.Connections; c != nil {
		c.writeTable(w)
	}
	for _, q := range r.Ratios {
		if q.Target == 0 {
			fmt.Fprintf(w, "ratio %s: %.3f\n", q.Name, q.Value)
			continue
		}
		verdict := "below target"
		if q.Met {
			verdict = "meets target"
		}
		fmt.Fprintf(w, "ratio %s: %.3f (target ≥ %.2f, %s)\n", q.Name, q.Value, q.Target, verdict)
	}
	for _, run := range r.Runs {
		if run.FirstError != "" {
			fmt.Fprintf(w, "%s first error: %s\n", run.Name, run.FirstError)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func formatCores(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"sluice", "broadcast", "kafka", "bench"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// progress draws a one-line bar on stderr while a phase runs, only when
// stderr is a terminal.
type progress struct {
	w       io.Writer
	enabled bool
}

// progressTick is how often the bar is redrawn.
const progressTick = 250 * time.Millisecond

func newProgress(w io.Writer, want bool) *progress {
	return &progress{w: w, enabled: want && w == io.Writer(os.Stderr) && isTerminal(os.Stderr)}
}

// phase shows the bar of one phase of length total; count returns a live
// figure shown with label. The returned func stops and clears the bar.
func (p *progress) phase(ctx context.Context, name string, total time.Duration, label string, count func() int64) func() {
	if !p.enabled {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(progressTick)
		defer t.Stop()
		const width = 30
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintf(p.w, "\r\033[K")
				return
			case <-t.C:
			}
			el := time.Since(start)
			frac := min(1, float64(el)/float64(total))
			n := int(frac * width)
			fmt.Fprintf(p.w, "\r\033[K%-16s [%s%s] %3.0f%%  %d %s", name, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, count(), label)
		}
	}()
	return func() { cancel(); <-done }
}
