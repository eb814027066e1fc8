package main

import (
	"context"
	"fmt"
	"io"
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
// topic, and reports what they cost Sluice.
func connectionsScenario(ctx context.Context, o options, sl *sluiceProc, d *dialer, topic string, pr *progress) (*connResult, error) {
	res := &connResult{Requested: o.sockets, SourceAddrs: o.sourceAddrs, RSSTarget: rssTargetPerConn}
	before, err := sl.metrics(ctx, metricHeapInuse, metricGoroutines)
	if err != nil {
		return nil, err
	}
	res.RSSBefore, _ = procRSS(sl.pid)
	res.HeapBefore, res.GoroutinesBefore = int64(before[metricHeapInuse]), int64(before[metricGoroutines])

	var accepted atomic.Int64
	endBar := pr.phase(ctx, "connections", time.Duration(o.sockets)*time.Millisecond/2, "sockets", accepted.Load)
	start := time.Now()
	conns, failed, err := d.dialAll(ctx, sl.wsURL(), o.sockets, o.dialConcurrency,
		func(_ int, c *websocket.Conn) error { return subscribeAndWait(c, topic) },
		func() { accepted.Add(1) })
	elapsed := time.Since(start)
	endBar()
	defer closeAll(conns)
	res.Accepted, res.Failed = len(conns), failed
	res.AcceptSeconds = round3(elapsed.Seconds())
	res.AcceptPerSec = round3(float64(len(conns)) / elapsed.Seconds())
	if err != nil {
		res.FirstError = err.Error()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Idle sockets must keep reading, or pings pile up unanswered.
	for _, c := range conns {
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	waitUntil(ctx, time.Now().Add(settleTime))
	after, err := sl.metrics(ctx, metricHeapInuse, metricGoroutines)
	if err != nil {
		return nil, err
	}
	res.RSSAfter, _ = procRSS(sl.pid)
	res.HeapAfter, res.GoroutinesAfter = int64(after[metricHeapInuse]), int64(after[metricGoroutines])
	res.BenchRSSAfter, _ = procRSS(selfPID())
	if n := float64(len(conns)); n > 0 {
		res.RSSPerConn = round3(float64(res.RSSAfter-res.RSSBefore) / n)
		res.HeapPerConn = round3(float64(res.HeapAfter-res.HeapBefore) / n)
		res.GoroutinesPer = round3(float64(res.GoroutinesAfter-res.GoroutinesBefore) / n)
	}
	res.RSSTargetMet = res.RSSAfter > 0 && res.RSSPerConn <= rssTargetPerConn
	return res, nil
}
