package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Fan-out limits.
const (
	// tailGrace is how long sockets keep reading after the producer stops.
	tailGrace = time.Second
	// rateTick is the producer's pacing step at a fixed rate.
	rateTick = time.Millisecond
	// fanoutMaxBuffered bounds the flat-out producer's buffered records.
	fanoutMaxBuffered = 10_000
	// tsField is the value field carrying the produce time in Unix ns; the
	// record timestamp is set to the same instant (its frame field is ms).
	tsField = `"ts":`
)

// fanoutPhase subscribes o.sockets sockets at url to topic, produces to
// topic at o.rate (or flat out) and measures deliveries and produce→socket
// latency.
func fanoutPhase(ctx context.Context, o options, url string, d *dialer, brokers, topic, name string, pr *progress, meter func() *cpuMeter) (runResult, error) {
	var connected int64
	var cmu sync.Mutex
	endDial := pr.phase(ctx, name+" dial", time.Duration(o.sockets)*time.Millisecond, "sockets", func() int64 { cmu.Lock(); defer cmu.Unlock(); return connected })
	conns, failed, err := d.dialAll(ctx, url, o.sockets, o.dialConcurrency,
		func(_ int, c *websocket.Conn) error { return subscribeAndWait(c, topic) },
		func() { cmu.Lock(); connected++; cmu.Unlock() })
	endDial()
	if err != nil {
		closeAll(conns)
		return runResult{}, fmt.Errorf("%s: %d of %d sockets failed: %w", name, failed, o.sockets, err)
	}
	defer closeAll(conns)

	var (
		c          counters
		deliveries counters
		lat        = newLatency()
		stopping   = make(chan struct{})
		wg         sync.WaitGroup
	)
	m := meter()
	clk := newPhaseClock(o)
	endBar := pr.phase(ctx, name, clk.total(), "deliveries", deliveries.records.Load)
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					select {
					case <-stopping:
					default:
						deliveries.closed.Add(1)
						deliveries.fail(fmt.Sprintf("socket %d: %v (close code %d)", i, err, closeCode(err)))
					}
					return
				}
				now := time.Now()
				if frameOp(msg) != "message" {
					continue
				}
				ts, ok := valueTS(msg)
				if ok && clk.in(now) {
					deliveries.records.Add(1)
					deliveries.bytes.Add(int64(len(msg)))
					lat.record(i, now.Sub(ts))
				}
			}
		}()
	}
	if err := runProducer(ctx, o, brokers, topic, clk, &c); err != nil {
		c.fail(err.Error())
	}
	cores := m.cores()
	waitUntil(ctx, time.Now().Add(tailGrace))
	close(stopping)
	endBar()
	closeAll(conns)
	wg.Wait()

	r := c.result(name, len(conns), clk, lat)
	r.Deliveries = deliveries.records.Load()
	r.DeliveriesPerSec = round3(float64(r.Deliveries) / r.Seconds)
	r.MBPerSec = round3(float64(deliveries.bytes.Load()) / r.Seconds / 1e6)
	r.SocketsClosed = deliveries.closed.Load()
	r.Errors += deliveries.errors.Load()
	if r.FirstError == "" {
		if p := deliveries.firstErr.Load(); p != nil {
			r.FirstError = *p
		}
	}
	r.CPUCores = cores
	return r, ctx.Err()
}

// produce writes records of o.size bytes to topic until clk ends, at o.rate
// records per second or, with rate 0, as fast as the buffer drains.
func produce(ctx context.Context, cl *kgo.Client, o options, topic string, clk phaseClock, c *counters) {
	var n int64
	start := time.Now()
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(clk.to) {
			break
		}
		if o.rate > 0 {
			due := int64(now.Sub(start).Seconds() * float64(o.rate))
			if n >= due {
				time.Sleep(rateTick)
				continue
			}
		}
		ts := time.Now()
		rec := &kgo.Record{Topic: topic, Timestamp: ts, Value: paddedJSON(tsField+strconv.FormatInt(ts.UnixNano(), 10), o.size)}
		n++
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				c.fail(err.Error())
				return
			}
			if clk.in(ts) {
				c.records.Add(1)
				c.bytes.Add(int64(o.size))
			}
		})
	}
	fctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	_ = cl.Flush(fctx)
}

// valueTS reads the produce time from a message frame's value.
func valueTS(msg []byte) (time.Time, bool) {
	i := bytes.Index(msg, []byte(tsField))
	if i < 0 {
		return time.Time{}, false
	}
	rest := msg[i+len(tsField):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	ns, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// broadcastProc is the bare broadcast server, a child process of the bench.
type broadcastProc struct {
	*childProc
	addr string
}

// startBroadcast runs "sluice-bench internal-broadcast-server" for topic.
func startBroadcast(ctx context.Context, o options, brokers, topic string) (*broadcastProc, error) {
	c, err := startChild(broadcastCommand, "--brokers", brokers, "--topic", topic,
		"--listen", "127.0.0.1:0", "--send-queue", strconv.Itoa(o.sendQueue))
	if err != nil {
		return nil, err
	}
	p := &broadcastProc{childProc: c}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(c.stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "listening ")
		if !ok || !found {
			p.stop()
			return nil, errors.New("the broadcast server did not start")
		}
		p.addr = addr
	case <-time.After(readyTimeout):
		p.stop()
		return nil, errors.New("the broadcast server did not start in time")
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	return p, nil
}
