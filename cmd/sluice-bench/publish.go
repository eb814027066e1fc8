package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Publish limits.
const (
	// drainTimeout bounds the wait for in-flight acks after a phase.
	drainTimeout = 10 * time.Second
	// minValueSize is the smallest --size: the JSON padding envelope.
	minValueSize = 64
	// sluiceBatchMaxBytes mirrors Sluice's producer batch size with the
	// default kafka.max_record_bytes (1 MiB less 1 KiB, plus 1 KiB of
	// framing), for the raw baseline.
	sluiceBatchMaxBytes = 1 << 20
)

// phaseClock is one phase's measured window: traffic starts at start,
// counting at from, and stops at to.
type phaseClock struct {
	start, from, to time.Time
}

func newPhaseClock(o options) phaseClock {
	now := time.Now()
	return phaseClock{start: now, from: now.Add(o.warmup), to: now.Add(o.warmup + o.duration)}
}

func (c phaseClock) in(t time.Time) bool  { return !t.Before(c.from) && t.Before(c.to) }
func (c phaseClock) total() time.Duration { return c.to.Sub(c.start) }

// counters are a phase's live tallies.
type counters struct {
	records  atomic.Int64 // in the window
	bytes    atomic.Int64 // in the window
	errors   atomic.Int64
	sent     atomic.Int64 // publishes written, in or out of the window
	answered atomic.Int64 // publishes answered, in or out of the window
	closed   atomic.Int64
	firstErr atomic.Pointer[string]
	// batches and batchRecords count the produce batches written to Kafka
	// in the window and their records (records per batch says how well
	// the producer batched).
	batches      atomic.Int64
	batchRecords atomic.Int64
}

func (c *counters) fail(msg string) {
	c.errors.Add(1)
	c.firstErr.CompareAndSwap(nil, &msg)
}

func (c *counters) result(name string, sockets int, clk phaseClock, lat *latency) runResult {
	secs := clk.to.Sub(clk.from).Seconds()
	r := runResult{
		Name: name, Sockets: sockets, Seconds: secs,
		Records: c.records.Load(), Errors: c.errors.Load(), SocketsClosed: c.closed.Load(),
		Latency: lat.summary(),
	}
	r.RecordsPerSec = round3(float64(r.Records) / secs)
	r.MBPerSec = round3(float64(c.bytes.Load()) / secs / 1e6)
	if b := c.batches.Load(); b > 0 {
		r.RecordsPerBatch = round3(float64(c.batchRecords.Load()) / float64(b))
	}
	if p := c.firstErr.Load(); p != nil {
		r.FirstError = *p
	}
	return r
}

// paddedJSON returns a JSON object of exactly size bytes: fields (a JSON
// object body without braces, may be empty) and a "pad" string filling up.
func paddedJSON(fields string, size int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if fields != "" {
		b.WriteString(fields)
		b.WriteByte(',')
	}
	b.WriteString(`"pad":"`)
	if n := size - b.Len() - 2; n > 0 {
		b.WriteString(strings.Repeat("x", n))
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// publishViaSluice runs one publish phase: sockets connections to sl, each
// keeping up to o.inflight publishes of value to topic in flight.
func publishViaSluice(ctx context.Context, o options, sl *sluiceProc, d *dialer, topic string, value []byte, name string, pr *progress, meter func() *cpuMeter) (runResult, error) {
	conns, _, err := d.dialAll(ctx, sl.wsURL(), o.sockets, o.dialConcurrency, nil, nil)
	if err != nil {
		closeAll(conns)
		return runResult{}, err
	}
	defer closeAll(conns)
	var (
		c    counters
		lat  = newLatency()
		stop atomic.Bool
		wg   sync.WaitGroup
	)
	m := meter()
	clk := newPhaseClock(o)
	endBar := pr.phase(ctx, name, clk.total(), "acks", c.records.Load)
	batchesDone := make(chan struct{})
	go func() {
		defer close(batchesDone)
		countBatches(ctx, sl, clk, &c)
	}()
	for i, conn := range conns {
		slots := make(chan struct{}, o.inflight)
		readerDone := make(chan struct{})
		wg.Add(2)
		go func() { // reader: acks release slots
			defer wg.Done()
			defer close(readerDone)
			var buf []byte
			for {
				msg, err := readMessageInto(conn, buf[:0])
				buf = msg
				if err != nil {
					if !stop.Load() {
						c.fail(fmt.Sprintf("socket %d: %v", i, err))
						c.closed.Add(1)
					}
					return
				}
				now := time.Now()
				sent, ok := sentTime(msg)
				switch frameOp(msg) {
				case "published":
					if ok && clk.in(now) {
						c.records.Add(int64(o.batch))
						c.bytes.Add(int64(o.batch * len(value)))
						lat.record(i, now.Sub(sent))
					}
				case "error":
					c.fail(string(msg))
				default:
					continue
				}
				c.answered.Add(1)
				select {
				case <-slots:
				default:
				}
			}
		}()
		go func() { // writer: keeps the window full
			defer wg.Done()
			fw := newFrameWriter(uint64(i) + 1)
			for {
				// Wait for one free slot, then take every other free one
				// (up to --coalesce) and write all their frames at once.
				select {
				case slots <- struct{}{}:
				case <-readerDone:
					return
				case <-ctx.Done():
					return
				}
				n := 1
			more:
				for n < o.coalesce {
					select {
					case slots <- struct{}{}:
						n++
					default:
						break more
					}
				}
				now := time.Now()
				if stop.Load() || !now.Before(clk.to) {
					return
				}
				fw.reset()
				for range n {
					appendPublishFrame(fw, now, topic, value, o.batch)
				}
				// gorilla's SetWriteDeadline applies only to its own writes.
				nc := conn.NetConn()
				_ = nc.SetWriteDeadline(now.Add(writeWait))
				if err := fw.flush(nc); err != nil {
					c.fail(fmt.Sprintf("socket %d write: %v", i, err))
					return
				}
				c.sent.Add(int64(n))
			}
		}()
	}
	waitUntil(ctx, clk.to)
	cores := m.cores()
	<-batchesDone
	// Let in-flight acks arrive, then close the sockets to end the readers.
	drainUntil := time.Now().Add(drainTimeout)
	for c.answered.Load() < c.sent.Load() && time.Now().Before(drainUntil) && ctx.Err() == nil {
		time.Sleep(pollInterval)
	}
	stop.Store(true)
	endBar()
	closeAll(conns)
	wg.Wait()
	r := c.result(name, len(conns), clk, lat)
	r.CPUCores = cores
	return r, ctx.Err()
}

// appendPublishFrame adds one publish frame of batch records of value to
// fw; its id is the send time, which the ack echoes.
func appendPublishFrame(fw *frameWriter, now time.Time, topic string, value []byte, batch int) {
	start := fw.begin()
	frame := append(fw.buf, `{"op":"publish","id":"`...)
	frame = strconv.AppendInt(frame, now.UnixNano(), 10)
	frame = append(frame, `","topic":"`...)
	frame = append(frame, topic...)
	if batch == 1 {
		frame = append(frame, `","value":`...)
		frame = append(frame, value...)
	} else {
		frame = append(frame, `","records":[`...)
		for r := range batch {
			if r > 0 {
				frame = append(frame, ',')
			}
			frame = append(frame, `{"value":`...)
			frame = append(frame, value...)
			frame = append(frame, '}')
		}
		frame = append(frame, ']')
	}
	fw.buf = append(frame, '}')
	fw.end(start)
}

// sentTime reads the send time the bench put in a reply's id.
func sentTime(msg []byte) (time.Time, bool) {
	const key = `"id":"`
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return time.Time{}, false
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// publishRaw is the baseline: the franz-go producer, configured as Sluice
// configures its own (acks=all, idempotent, same linger, batch size and
// partitioner), writes value to topic from o.sockets goroutines that each
// keep o.inflight records in flight.
func publishRaw(ctx context.Context, o options, brokers, topic string, value []byte, name string, pr *progress, meter func() *cpuMeter) (runResult, error) {
	var (
		c   counters
		lat = newLatency()
		wg  sync.WaitGroup
		clk phaseClock // set before the first record
	)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.ClientID("sluice-bench"),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(o.linger),
		kgo.ProducerBatchMaxBytes(sluiceBatchMaxBytes),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.WithHooks(batchHook{clk: &clk, c: &c}),
	)
	if err != nil {
		return runResult{}, err
	}
	defer cl.Close()
	m := meter()
	clk = newPhaseClock(o)
	endBar := pr.phase(ctx, name, clk.total(), "acks", c.records.Load)
	for i := range o.sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots := make(chan struct{}, o.inflight*o.batch) // as many records in flight as Sluice's sockets have
			for {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				sent := time.Now()
				if !sent.Before(clk.to) {
					return
				}
				rec := &kgo.Record{Topic: topic, Value: value}
				cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
					now := time.Now()
					<-slots
					if err != nil {
						c.fail(err.Error())
						return
					}
					if clk.in(now) {
						c.records.Add(1)
						c.bytes.Add(int64(len(value)))
						lat.record(i, now.Sub(sent))
					}
				})
			}
		}()
	}
	wg.Wait()
	cores := m.cores()
	fctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	_ = cl.Flush(fctx)
	endBar()
	r := c.result(name, o.sockets, clk, lat)
	r.CPUCores = cores
	return r, ctx.Err()
}

// waitUntil sleeps until t or ctx ends.
func waitUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// Sluice's franz-go metrics of produce batches and their records.
const (
	metricProduceBatches = "sluice_kafka_produce_batches_total"
	metricProduceRecords = "sluice_kafka_produce_records_total"
)

// countBatches adds to c the produce batches Sluice wrote to Kafka inside
// clk's window and their records, from its /metrics at the window's edges.
// A Sluice that cannot be scraped leaves them zero.
func countBatches(ctx context.Context, sl *sluiceProc, clk phaseClock, c *counters) {
	waitUntil(ctx, clk.from)
	before, err := sl.metrics(ctx, metricProduceBatches, metricProduceRecords)
	if err != nil {
		return
	}
	waitUntil(ctx, clk.to)
	after, err := sl.metrics(ctx, metricProduceBatches, metricProduceRecords)
	if err != nil {
		return
	}
	c.batches.Add(int64(after[metricProduceBatches] - before[metricProduceBatches]))
	c.batchRecords.Add(int64(after[metricProduceRecords] - before[metricProduceRecords]))
}

// batchHook counts the raw producer's batches written inside the window.
type batchHook struct {
	clk *phaseClock
	c   *counters
}

// OnProduceBatchWritten implements kgo.HookProduceBatchWritten.
func (h batchHook) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	if h.clk.in(time.Now()) {
		h.c.batches.Add(1)
		h.c.batchRecords.Add(int64(m.NumRecords))
	}
}
