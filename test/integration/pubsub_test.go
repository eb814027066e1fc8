package integration

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestPublishSubscribe publishes through one socket while another is
// subscribed: every publish is acked once, every ack matches exactly one
// delivered message, offsets rise strictly per partition, and each key's
// records arrive in publish order.
func TestPublishSubscribe(t *testing.T) {
	const (
		partitions = 3
		keys       = 10
		records    = 300
	)
	p := sharedSluice(t)
	topic := uniqueTopic(t, "orders")
	createTopic(t, topic, partitions)

	sub := dial(t, p.wsURL("/v1/ws"))
	subscribed := sub.subscribe("s1", topic, "latest")
	if len(subscribed.Offsets) != partitions {
		t.Fatalf("subscribed offsets %v: want %d partitions", subscribed.Offsets, partitions)
	}
	for part, o := range subscribed.Offsets {
		if o != 0 {
			t.Errorf("subscribed offset of new topic's partition %s = %d, want 0", part, o)
		}
	}

	pub := dial(t, p.wsURL("/v1/ws"))
	for i := range records {
		pub.send(map[string]any{
			"op": "publish", "id": fmt.Sprint("p", i), "topic": topic,
			"key":   fmt.Sprint("k", i%keys),
			"value": map[string]any{"n": i},
		})
	}
	acks := map[string]frame{} // id → published
	for i := range records {
		id := fmt.Sprint("p", i)
		f := pub.waitReply(id)
		if f.Op != "published" || f.Topic != topic {
			t.Fatalf("publish %s: got %v", id, f)
		}
		acks[id] = f
	}
	if n := pub.count(func(f frame) bool { return f.Op == "published" }); n != records {
		t.Errorf("%d published replies for %d publishes", n, records)
	}

	msgs := sub.waitMessages(topic, records)
	type pos struct {
		p int32
		o int64
	}
	delivered := map[pos]frame{}
	lastOffset := map[int32]int64{}
	lastN := map[string]int{}
	for _, m := range msgs {
		if prev, ok := lastOffset[m.Partition]; ok && m.Offset <= prev {
			t.Errorf("partition %d: offset %d after %d", m.Partition, m.Offset, prev)
		} else if !ok && m.Offset != 0 {
			t.Errorf("partition %d starts at offset %d, want 0 (subscribed offset)", m.Partition, m.Offset)
		}
		lastOffset[m.Partition] = m.Offset
		if _, dup := delivered[pos{m.Partition, m.Offset}]; dup {
			t.Errorf("%v delivered twice", m)
		}
		delivered[pos{m.Partition, m.Offset}] = m

		var v struct{ N int }
		if err := json.Unmarshal(m.Value, &v); err != nil || m.Key == nil {
			t.Fatalf("%v: key %v value %s: %v", m, m.Key, m.Value, err)
		}
		if *m.Key != fmt.Sprint("k", v.N%keys) {
			t.Errorf("%v: key %q for value %d", m, *m.Key, v.N)
		}
		if prev, ok := lastN[*m.Key]; ok && v.N <= prev {
			t.Errorf("key %s: value %d delivered after %d", *m.Key, v.N, prev)
		}
		lastN[*m.Key] = v.N
	}
	for id, a := range acks {
		m, ok := delivered[pos{a.Partition, a.Offset}]
		if !ok {
			t.Errorf("ack %v of %s matches no delivered message", a, id)
			continue
		}
		var v struct{ N int }
		_ = json.Unmarshal(m.Value, &v)
		if want := id[1:]; fmt.Sprint(v.N) != want {
			t.Errorf("ack of %s points at %v with value %s", id, m, m.Value)
		}
	}
	if len(delivered) != len(acks) {
		t.Errorf("%d messages delivered for %d acks", len(delivered), len(acks))
	}
	// Nothing beyond the published records was delivered.
	sub.ping("after")
	if got := len(sub.messages(topic)); got != records {
		t.Errorf("%d messages, want %d", got, records)
	}
}
