package integration

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSlowConsumer subscribes 20 sockets that read and one that never
// reads (with a tiny receive buffer) to a topic of large records. The
// stalled socket is cut off as a slow consumer, counted in
// sluice_disconnects_total{reason="slow_consumer"}, while the others
// receive every record in order.
//
// Records are produced in rounds, each after the reading sockets caught
// up, so only the stalled socket ever has a long queue.
func TestSlowConsumer(t *testing.T) {
	const (
		fast        = 20
		recordBytes = 128 << 10
		perRound    = 4
		maxRounds   = 100 // 50 MiB: far more than the socket buffers hold
		slowMetric  = `sluice_disconnects_total{reason="slow_consumer"}`
	)
	p := startSluice(t, baseConfig+`
kafka: {auto_create_topics: false}
send_queue_length: 32
write_timeout: 2s
`)
	topic := uniqueTopic(t, "firehose")
	createTopic(t, topic, 1)

	slow := dialWith(t, p.wsURL("/v1/ws"), dialOpts{noRead: true, recvBuffer: 4096})
	slow.name = "slow"
	slow.send(map[string]any{"op": "subscribe", "id": "s", "topic": topic})
	readers := make([]*wsClient, fast)
	for i := range readers {
		c := dialWith(t, p.wsURL("/v1/ws"), dialOpts{dropValues: true})
		c.name = fmt.Sprint("reader ", i)
		c.subscribe("s", topic, "latest")
		readers[i] = c
	}
	// The stalled socket never reads its "subscribed": count instead.
	eventually(t, waitTimeout, func() (bool, string) {
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		n, err := p.metric("sluice_subscriptions")
		return err == nil && n == fast+1, fmt.Sprintf("sluice_subscriptions = %v (%v), want %d", n, err, fast+1)
	})

	value := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), recordBytes)...), `"}`...)
	produced := 0
	cutAfter := -1
	for round := 0; round < maxRounds; round++ {
		recs := make([]*kgo.Record, perRound)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: topic, Value: value}
		}
		produceSync(t, recs...)
		produced += perRound
		for _, c := range readers {
			c.waitMessages(topic, produced)
		}
		if cutAfter >= 0 {
			break // one more round after the cut: the readers still get it
		}
		if n, err := p.metric(slowMetric); err != nil {
			t.Fatal(err)
		} else if n >= 1 {
			cutAfter = produced
		}
	}
	if cutAfter < 0 {
		t.Fatalf("the stalled socket was not cut off after %d records of %d bytes", produced, recordBytes)
	}
	t.Logf("stalled socket cut off after %d records", cutAfter)

	for _, c := range readers {
		msgs := c.messages(topic)
		if len(msgs) != produced {
			t.Errorf("%s: %d messages, want %d", c.name, len(msgs), produced)
		}
		for i, m := range msgs {
			if m.Offset != int64(i) {
				t.Errorf("%s: message %d has offset %d", c.name, i, m.Offset)
				break
			}
		}
		if _, err := c.snapshot(); err != nil {
			t.Errorf("%s: connection ended: %v", c.name, err)
		}
	}

	// Reading the stalled socket now drains what reached it, then finds it
	// closed: with 1008 if the close frame fit, or cut (1006, reset).
	slow.startReading()
	err := slow.waitClosed(waitTimeout)
	t.Logf("stalled socket ended with %v after %d messages", err, len(slow.messages(topic)))
	switch code := closeCode(err); code {
	case websocket.ClosePolicyViolation, websocket.CloseAbnormalClosure:
	case 0:
	default:
		t.Errorf("stalled socket closed with %v, want 1008 or a cut connection", err)
	}
	if got := len(slow.messages(topic)); got >= produced {
		t.Errorf("stalled socket received all %d records", got)
	}
	if n, err := p.metric(slowMetric); err != nil || n < 1 {
		t.Errorf("%s = %v (%v), want ≥ 1", slowMetric, n, err)
	}
}
