package integration

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupSubscribe joins a consumer group through a socket: the socket
// is assigned the topic's partitions and receives every record from
// earliest once; acknowledging them is accepted.
func TestGroupSubscribe(t *testing.T) {
	const records = 6
	p := sharedSluice(t)
	topic := uniqueTopic(t, "work")
	createTopic(t, topic, 2)
	recs := make([]*kgo.Record, records)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	produceSync(t, recs...)

	c := dial(t, p.wsURL("/v1/ws"))
	c.send(map[string]any{"op": "subscribe", "id": "g", "topic": topic, "group": uniqueTopic(t, "group"), "from": "earliest"})
	if f := c.waitReply("g"); f.Op != "subscribed" {
		t.Fatalf("group subscribe: %v", f)
	}
	msgs := c.waitMessages(topic, records)
	last := map[int32]int64{}
	for _, m := range msgs {
		last[m.Partition] = max(last[m.Partition], m.Offset)
	}
	for part, o := range last {
		id := fmt.Sprint("ack", part)
		c.send(map[string]any{"op": "ack", "id": id, "topic": topic, "partition": part, "offset": o})
		if f := c.waitReply(id); f.Op != "acked" {
			t.Errorf("ack of %d@%d: %v", part, o, f)
		}
	}
	c.ping("done")
	if got := len(c.messages(topic)); got != records {
		t.Errorf("%d messages, want %d", got, records)
	}
}
