package integration

import (
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFanOut subscribes 50 sockets to one topic: each receives all 200
// records, in order per partition, exactly once.
func TestFanOut(t *testing.T) {
	const (
		sockets    = 50
		records    = 200
		partitions = 3
	)
	p := sharedSluice(t)
	topic := uniqueTopic(t, "fanout")
	createTopic(t, topic, partitions)

	clients := make([]*wsClient, sockets)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tryDial(t, p.wsURL("/v1/ws"), dialOpts{})
			mu.Lock()
			defer mu.Unlock()
			clients[i], errs = c, append(errs, err)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		c.name = fmt.Sprint("socket ", i)
		c.send(map[string]any{"op": "subscribe", "id": "s", "topic": topic})
	}
	for _, c := range clients {
		if f := c.waitReply("s"); f.Op != "subscribed" {
			t.Fatalf("%s: %v", c.name, f)
		}
	}

	recs := make([]*kgo.Record, records)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	produceSync(t, recs...)

	for _, c := range clients {
		msgs := c.waitMessages(topic, records)
		next := map[int32]int64{}
		for _, m := range msgs {
			if m.Offset != next[m.Partition] {
				t.Fatalf("%s: %v, want offset %d", c.name, m, next[m.Partition])
			}
			next[m.Partition]++
			if want := fmt.Sprintf(`{"n":%d}`, m.Offset*partitions+int64(m.Partition)); string(m.Value) != want {
				t.Fatalf("%s: %v value %s, want %s", c.name, m, m.Value, want)
			}
		}
		if len(msgs) != records {
			t.Fatalf("%s: %d messages, want %d", c.name, len(msgs), records)
		}
	}
}
