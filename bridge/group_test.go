package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupMember is one socket of a consumer group in a test.
type groupMember struct {
	c        *wsClient
	frames   chan frame
	assigned map[int64]bool
}

// readInto feeds every frame of c into a channel until the socket ends.
func readInto(c *wsClient) chan frame {
	ch := make(chan frame, 1024)
	go func() {
		defer close(ch)
		for {
			var f frame
			if err := c.conn.ReadJSON(&f); err != nil {
				return
			}
			ch <- f
		}
	}()
	return ch
}

// poll returns the member's next frame, or nil after a short wait.
func (m *groupMember) poll() frame {
	select {
	case f := <-m.frames:
		return f
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}

func TestConsumerGroupSharesPartitionsAndRedelivers(t *testing.T) {
	env := newTestEnv(t, nil)
	admin := kadm.NewClient(env.srv.client)
	if _, err := admin.CreateTopic(t.Context(), 6, 1, nil, "work"); err != nil {
		t.Fatal(err)
	}
	members := make([]*groupMember, 3)
	for i := range members {
		c := env.dial(ProtocolPath)
		c.send(map[string]any{"op": "subscribe", "id": "g", "topic": "work", "group": "billing", "from": "earliest"})
		c.expect("subscribed")
		members[i] = &groupMember{c: c, frames: readInto(c), assigned: map[int64]bool{}}
	}
	// Wait until the six partitions are split among the three sockets.
	owners := func() int {
		n := 0
		for _, m := range members {
			n += len(m.assigned)
		}
		return n
	}
	spread := func() bool {
		for _, m := range members {
			if len(m.assigned) == 0 {
				return false
			}
		}
		return owners() == 6
	}
	deadline := time.Now().Add(30 * time.Second)
	for !spread() && time.Now().Before(deadline) {
		for _, m := range members {
			f := m.poll()
			ps, _ := f["partitions"].([]any)
			for _, p := range ps {
				switch f.str("op") {
				case "assigned":
					m.assigned[int64(p.(float64))] = true
				case "revoked":
					delete(m.assigned, int64(p.(float64)))
				}
			}
		}
	}
	for i, m := range members {
		if len(m.assigned) == 0 {
			t.Fatalf("member %d got no partition: %v", i, members)
		}
	}

	producer, err := kgo.NewClient(kgo.SeedBrokers(env.cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	const perPartition = 20
	for p := range int32(6) {
		for i := range perPartition {
			rec := &kgo.Record{Topic: "work", Partition: p, Value: []byte(fmt.Sprintf(`{"p":%d,"i":%d}`, p, i))}
			if err := producer.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Member 0 reads its records but acks none, then drops.
	dropped := members[0]
	seen := 0
	for seen < perPartition*len(dropped.assigned) && time.Now().Before(deadline) {
		if f := dropped.poll(); f.str("op") == "message" {
			seen++
		}
	}
	dropped.c.conn.Close()

	// The survivors ack everything they get, including the dropped
	// member's records, redelivered after the rebalance.
	got := map[string]int{}
	deadline = time.Now().Add(30 * time.Second)
	for len(got) < 6*perPartition && time.Now().Before(deadline) {
		for _, m := range members[1:] {
			f := m.poll()
			if f.str("op") != "message" {
				continue
			}
			got[fmt.Sprintf("%d/%d", f.num("partition"), f.num("offset"))]++
			m.c.send(map[string]any{"op": "ack", "topic": "work", "partition": f.num("partition"), "offset": f.num("offset")})
		}
	}
	if len(got) != 6*perPartition {
		t.Fatalf("survivors saw %d distinct records, want %d", len(got), 6*perPartition)
	}
	// After every ack, the group's committed offsets reach the log end.
	waitFor(t, "committed offsets at the log end", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		committed, err := admin.FetchOffsets(ctx, "billing")
		if err != nil {
			return false
		}
		for p := range int32(6) {
			o, ok := committed.Lookup("work", p)
			if !ok || o.At != perPartition {
				return false
			}
		}
		return true
	})
}

func TestGroupRejectsOffsetsStart(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "g", "topic": "orders", "group": "g1", "from": map[string]any{"last": 3}})
	if f := c.expectError(); f.str("code") != "bad_request" {
		t.Fatalf("group with from.last = %v", f)
	}
	c.send(map[string]any{"op": "ack", "id": "a", "topic": "orders", "partition": 0, "offset": 1})
	if f := c.expectError(); f.str("code") != "not_found" {
		t.Fatalf("ack without group = %v", f)
	}
}
