package integration

import (
	"fmt"
	"testing"
)

// TestBatchPublish: a batch lands whole on the real broker with one ack and
// is delivered; a batch with one invalid record writes nothing.
func TestBatchPublish(t *testing.T) {
	p := sharedSluice(t)
	topic := uniqueTopic(t, "batch")
	createTopic(t, topic, 3)
	total := func() int64 {
		var n int64
		for _, o := range endOffsets(t, topic) {
			n += o
		}
		return n
	}

	sub := dial(t, p.wsURL("/v1/ws"))
	sub.subscribe("s", topic, "latest")
	pub := dial(t, p.wsURL("/v1/ws"))

	const n = 50
	records := make([]map[string]any, n)
	for i := range records {
		records[i] = map[string]any{"key": fmt.Sprint("k", i%5), "value": map[string]any{"i": i}, "headers": map[string]string{"n": fmt.Sprint(i)}}
	}
	pub.send(map[string]any{"op": "publish", "id": "b1", "topic": topic, "records": records})
	if ack := pub.waitReply("b1"); ack.Op != "published" {
		t.Fatalf("batch answered %v", ack)
	}
	if got := total(); got != n {
		t.Fatalf("kafka holds %d records after the batch, want %d", got, n)
	}
	msgs := sub.waitMessages(topic, n)
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[fmt.Sprintf("%d/%d", m.Partition, m.Offset)] = true
	}
	if len(seen) != n {
		t.Fatalf("subscriber saw %d distinct records, want %d", len(seen), n)
	}

	// One invalid record (bad base64): nothing of the batch is written.
	bad := []map[string]any{{"value": 1}, {"value_b64": "%%"}, {"value": 3}}
	pub.send(map[string]any{"op": "publish", "id": "b2", "topic": topic, "records": bad})
	if e := pub.waitReply("b2"); e.Op != "error" || e.Code != "bad_request" {
		t.Fatalf("invalid batch answered %v", e)
	}
	if got := total(); got != n {
		t.Fatalf("kafka holds %d records after the refused batch, want %d", got, n)
	}
}
