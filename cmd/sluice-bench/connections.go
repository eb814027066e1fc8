package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"
)

// settleTime is how long the bench waits after the last connection before
// it reads Sluice's memory, so the figures are not caught mid-handshake.
const settleTime = 2 * time.Second

// Metric names scraped from Sluice's /metrics.
const (
	metricHeapInuse  = "go_memstats_heap_inuse_bytes"
	metricGoroutines = "go_goroutines"
)

// connResult is the connections scenario's report.
type connResult struct {
	Requested     int     `json:"requested"`
	Accepted      int     `json:"accepted"`
	Failed        int     `json:"failed"`
	FirstError    string  `json:"first_error,omitempty"`
	AcceptSeconds float64 `json:"accept_seconds"`
	AcceptPerSec  float64 `json:"accepts_per_sec"`
	SourceAddrs   int     `json:"source_addrs"`
	// SluiceProcs Sluice processes shared the address (listen_reuse_port)
	// and DialProcs processes opened the sockets: each process is held
	// under RLIMIT_NOFILE. Figures are summed over the Sluice processes.
	SluiceProcs int `json:"sluice_procs"`
	DialProcs   int `json:"dial_procs"`

	RSSBefore        int64   `json:"rss_before_bytes"`
	RSSAfter         int64   `json:"rss_after_bytes"`
	RSSPerConn       float64 `json:"rss_per_conn_bytes"`
	HeapBefore       int64   `json:"heap_inuse_before_bytes"`
	HeapAfter        int64   `json:"heap_inuse_after_bytes"`
	HeapPerConn      float64 `json:"heap_inuse_per_conn_bytes"`
	GoroutinesBefore int64   `json:"goroutines_before"`
	GoroutinesAfter  int64   `json:"goroutines_after"`
	GoroutinesPer    float64 `json:"goroutines_per_conn"`
	BenchRSSAfter    int64   `json:"bench_rss_after_bytes"`
	RSSTarget        float64 `json:"rss_per_conn_target_bytes"`
	RSSTargetMet     bool    `json:"rss_per_conn_target_met"`
}

// rssTargetPerConn is the goal: at most 8 KiB RSS per idle connection.
const rssTargetPerConn = 8 << 10

func (c *connResult) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tbefore\tafter\tper connection\t")
	fmt.Fprintf(tw, "sluice RSS (VmRSS)\t%s\t%s\t%s\t\n", mib(c.RSSBefore), mib(c.RSSAfter), kib(c.RSSPerConn))
	fmt.Fprintf(tw, "sluice heap in use\t%s\t%s\t%s\t\n", mib(c.HeapBefore), mib(c.HeapAfter), kib(c.HeapPerConn))
	fmt.Fprintf(tw, "sluice goroutines\t%d\t%d\t%.2f\t\n", c.GoroutinesBefore, c.GoroutinesAfter, c.GoroutinesPer)
	tw.Flush()
	fmt.Fprintf(w, "%d of %d sockets accepted and subscribed in %.2fs (%.0f/s) from %d source addresses; %d failed; bench RSS %s\n",
		c.Accepted, c.Requested, c.AcceptSeconds, c.AcceptPerSec, c.SourceAddrs, c.Failed, mib(c.BenchRSSAfter))
	if c.SluiceProcs > 1 || c.DialProcs > 1 {
		fmt.Fprintf(w, "held by %d Sluice processes sharing the address (listen_reuse_port), opened from %d client processes; figures summed\n", c.SluiceProcs, c.DialProcs)
	}
	verdict := "below target"
	if c.RSSTargetMet {
		verdict = "meets target"
	}
	fmt.Fprintf(w, "RSS per idle connection %s (target ≤ %s, %s)\n", kib(c.RSSPerConn), kib(c.RSSTarget), verdict)
	if c.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", c.FirstError)
	}
}

func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.2f KiB", b/1024) }

// connectionsScenario opens o.sockets idle sockets, each subscribed to one
// topic, and reports what they cost Sluice: procs are its processes (one,
// or several sharing the address; figures are summed), and dialProcs the
// processes the sockets are opened from (1: this one).
func connectionsScenario(ctx context.Context, o options, procs []*sluiceProc, dialProcs int, d *dialer, topic string, pr *progress) (*connResult, error) {
	res := &connResult{Requested: o.sockets, SourceAddrs: o.sourceAddrs, RSSTarget: rssTargetPerConn, SluiceProcs: len(procs), DialProcs: dialProcs}
	before, err := sluiceFigures(ctx, procs)
	if err != nil {
		return nil, err
	}
	res.RSSBefore, res.HeapBefore, res.GoroutinesBefore = before.rss, before.heapInuse, before.goroutines

	var accepted atomic.Int64
	endBar := pr.phase(ctx, "connections", time.Duration(o.sockets)*time.Millisecond/2, "sockets", accepted.Load)
	start := time.Now()
	url := procs[0].wsURL()
	var (
		n         int
		failed    int
		firstErr  string
		clientRSS int64
	)
	if dialProcs <= 1 {
		conns, f, err := d.dialAll(ctx, url, o.sockets, o.dialConcurrency,
			func(_ int, c *websocket.Conn) error { return subscribeAndWait(c, topic) },
			func() { accepted.Add(1) })
		defer closeAll(conns)
		n, failed = len(conns), f
		if err != nil {
			firstErr = err.Error()
		}
		keepReading(conns) // idle sockets must keep reading, or pings pile up unanswered
	} else {
		kids, rep, err := dialSpread(ctx, o, url, topic, o.sockets, dialProcs)
		defer func() {
			for _, k := range kids {
				k.stop()
			}
		}()
		if err != nil {
			return nil, err
		}
		n, failed, firstErr, clientRSS = rep.Accepted, rep.Failed, rep.FirstError, rep.RSS
		accepted.Store(int64(n))
	}
	elapsed := time.Since(start)
	endBar()
	res.Accepted, res.Failed, res.FirstError = n, failed, firstErr
	res.AcceptSeconds = round3(elapsed.Seconds())
	res.AcceptPerSec = round3(float64(n) / elapsed.Seconds())
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	waitUntil(ctx, time.Now().Add(settleTime))
	after, err := sluiceFigures(ctx, procs)
	if err != nil {
		return nil, err
	}
	res.RSSAfter, res.HeapAfter, res.GoroutinesAfter = after.rss, after.heapInuse, after.goroutines
	res.BenchRSSAfter, _ = procRSS(selfPID())
	res.BenchRSSAfter += clientRSS
	if n > 0 {
		res.RSSPerConn = round3(float64(res.RSSAfter-res.RSSBefore) / float64(n))
		res.HeapPerConn = round3(float64(res.HeapAfter-res.HeapBefore) / float64(n))
		res.GoroutinesPer = round3(float64(res.GoroutinesAfter-res.GoroutinesBefore) / float64(n))
	}
	res.RSSTargetMet = res.RSSAfter > 0 && res.RSSPerConn <= rssTargetPerConn
	return res, nil
}

// figures are memory and goroutine figures of Sluice, summed over its
// processes.
type figures struct {
	rss, heapInuse, goroutines int64
}

// sluiceFigures reads RSS from /proc and heap in use and goroutines from
// /metrics, or from each process's own pprof when it shares its address.
func sluiceFigures(ctx context.Context, procs []*sluiceProc) (figures, error) {
	var f figures
	for _, p := range procs {
		rss, _ := procRSS(p.pid)
		f.rss += rss
		if p.pprofAddr == "" {
			m, err := p.metrics(ctx, metricHeapInuse, metricGoroutines)
			if err != nil {
				return f, err
			}
			f.heapInuse += int64(m[metricHeapInuse])
			f.goroutines += int64(m[metricGoroutines])
			continue
		}
		heap, goroutines, err := p.pprofFigures(ctx)
		if err != nil {
			return f, err
		}
		f.heapInuse += heap
		f.goroutines += goroutines
	}
	return f, nil
}

// pprofFigures reads heap in use ("# HeapInuse = N" of the heap profile's
// text form) and the goroutine count ("goroutine profile: total N") from
// the process's pprof listener.
func (p *sluiceProc) pprofFigures(ctx context.Context) (heapInuse, goroutines int64, err error) {
	heapText, err := httpGetText(ctx, "http://"+p.pprofAddr+"/debug/pprof/heap?debug=1")
	if err != nil {
		return 0, 0, err
	}
	grText, err := httpGetText(ctx, "http://"+p.pprofAddr+"/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, 0, err
	}
	heap, ok1 := numberAfter(heapText, "# HeapInuse = ")
	gr, ok2 := numberAfter(grText, "goroutine profile: total ")
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("pprof of sluice %d: no HeapInuse or goroutine total", p.pid)
	}
	return heap, gr, nil
}

// numberAfter parses the decimal number that follows prefix in text.
func numberAfter(text, prefix string) (int64, bool) {
	_, rest, ok := strings.Cut(text, prefix)
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	v, err := strconv.ParseInt(rest[:end], 10, 64)
	return v, err == nil
}
