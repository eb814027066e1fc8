package bridge

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// benchSessions makes n sessions whose queues are drained by the
// benchmark itself (no sockets), subscribed live to partition 0 of ts.
func benchSessions(n int, ts *topicState) []*session {
	sessions := make([]*session, n)
	for i := range sessions {
		// writerActive: the benchmark drains the queue itself, no writer runs.
		s := &session{queueMax: 1 << 20, writerActive: true, room: make(chan struct{}, 1), closing: make(chan struct{})}
		sub := &subscription{sess: s, topic: ts.name, ts: ts, cursors: []cursor{{live: true}}}
		ts.subs[sub] = struct{}{}
		sessions[i] = s
	}
	return sessions
}

// warmQueues delivers fanoutDrainEvery records and drains, so every queue
// has grown to the capacity the measured loop needs: what is measured is
// the steady state, not each queue's first growth. It returns the next
// offset.
func warmQueues(ts *topicState, sessions []*session, rec *kgo.Record, recs []*kgo.Record, render func(*kgo.Record) []byte, m *metrics) int64 {
	var i int64
	for ; i < fanoutDrainEvery; i++ {
		rec.Offset = i
		ts.deliver(0, recs, render, m)
	}
	drain(sessions)
	return i
}

// fanoutDrainEvery is how many records the fan-out benchmark queues before
// it drains the queues.
const fanoutDrainEvery = 32

func drain(sessions []*session) {
	for _, s := range sessions {
		s.queue = s.queue[:0]
	}
}

// BenchmarkFanout measures delivering one record to every subscriber of a
// topic: the frame is rendered once, then queued to each socket. Reported
// per delivery; allocations are per record (the one shared frame).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			m, _ := newMetrics(nil, nil)
			ts := &topicState{name: "orders", subs: map[*subscription]struct{}{}, next: map[int32]int64{0: 0}, counters: m.countersFor("orders")}
			sessions := benchSessions(n, ts)
			rec := &kgo.Record{Topic: "orders", Key: []byte("o-1"), Value: []byte(`{"id":"o-1","amount":12.5,"tags":["a","b"]}`), Timestamp: time.Now()}
			recs := []*kgo.Record{rec}
			render := func(r *kgo.Record) []byte { return encodeMessage(r, renderedValue{json: r.Value}) }
			i := warmQueues(ts, sessions, rec, recs, render, m)
			b.ReportAllocs()
			for b.Loop() {
				rec.Offset = i
				i++
				ts.deliver(0, recs, render, m)
				if i%fanoutDrainEvery == 0 {
					b.StopTimer()
					drain(sessions)
					b.StartTimer()
				}
			}
			b.StopTimer()
			drain(sessions)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

// BenchmarkEncodeMessage measures rendering one record into its frame.
func BenchmarkEncodeMessage(b *testing.B) {
	rec := &kgo.Record{Topic: "orders", Partition: 2, Offset: 123456, Key: []byte("o-1"),
		Value:     []byte(`{"id":"o-1","amount":12.5,"currency":"EUR","quantity":2,"customer":{"name":"Ann"}}`),
		Headers:   []kgo.RecordHeader{{Key: "source", Value: []byte("web")}},
		Timestamp: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeMessage(rec, renderedValue{json: rec.Value})
	}
}

// BenchmarkParseFrame measures encoding/json on the same publish frame as
// BenchmarkParseInbound, as the baseline the hand parser replaces.
func BenchmarkParseFrame(b *testing.B) {
	data := []byte(`{"op":"publish","id":"42","topic":"orders","key":"o-1","value":{"id":"o-1","amount":12.5,"currency":"EUR","quantity":2,"customer":{"name":"Ann","email":null},"tags":["a","b","c"],"note":"a longer note to make the value about as big as a real one"},"headers":{"source":"web"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var in inbound
		if err := json.Unmarshal(data, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFanoutAllocationBudget holds the fan-out to its allocation budget:
// what a record costs (its one shared frame) does not grow with the
// number of subscribers, so nothing is allocated per delivery.
func TestFanoutAllocationBudget(t *testing.T) {
	const maxPerRecord = 1 // the frame, rendered into one allocation
	perRecord := func(n int) float64 {
		m, _ := newMetrics(nil, nil)
		ts := &topicState{name: "orders", subs: map[*subscription]struct{}{}, next: map[int32]int64{0: 0}, counters: m.countersFor("orders")}
		sessions := benchSessions(n, ts)
		rec := &kgo.Record{Topic: "orders", Key: []byte("o-1"), Value: []byte(`{"id":"o-1"}`), Timestamp: time.Now()}
		recs := []*kgo.Record{rec}
		render := func(r *kgo.Record) []byte { return encodeMessage(r, renderedValue{json: r.Value}) }
		i := warmQueues(ts, sessions, rec, recs, render, m)
		return testing.AllocsPerRun(200, func() {
			rec.Offset = i
			i++
			ts.deliver(0, recs, render, m)
			if i%fanoutDrainEvery == 0 {
				drain(sessions)
			}
		})
	}
	one, many := perRecord(1), perRecord(500)
	if many > one || many > maxPerRecord {
		t.Fatalf("allocations per record: %.1f to 1 subscriber, %.1f to 500 (budget %d, none per delivery)", one, many, maxPerRecord)
	}
}
