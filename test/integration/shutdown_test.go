package integration

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// TestShutdown sends SIGTERM to a sluice with sockets open (subscribers,
// a route socket, an idle socket and one publishing flat out): every
// socket receives close 1001, the process exits 0, and every publish that
// was acknowledged before the close is in Kafka.
func TestShutdown(t *testing.T) {
	const minAcks = 200
	p := startSluice(t, baseConfig+`
kafka: {auto_create_topics: false}
routes:
  - {path: "/chat/{room}", topic: "chat.{room}"}
`)
	topic := uniqueTopic(t, "orders")
	createTopic(t, topic, 3)
	room := uniqueTopic(t, "room")
	createTopic(t, "chat."+room, 1)

	var sockets []*wsClient
	for i := range 3 {
		c := dial(t, p.wsURL("/v1/ws"))
		c.name = fmt.Sprint("subscriber ", i)
		c.subscribe("s", topic, "latest")
		sockets = append(sockets, c)
	}
	route := dial(t, p.wsURL("/chat/"+room))
	route.name = "route"
	route.waitFrame("subscribed", func(f frame) bool { return f.Op == "subscribed" })
	idle := dial(t, p.wsURL("/v1/ws"))
	idle.name = "idle"
	idle.ping("hello")
	pub := dial(t, p.wsURL("/v1/ws"))
	pub.name = "publisher"
	sockets = append(sockets, route, idle, pub)

	// Publish until the socket no longer takes frames.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 1_000_000 {
			data, _ := json.Marshal(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": topic, "key": fmt.Sprint("k", i%7), "value": map[string]any{"n": i}})
			if pub.trySend(websocket.TextMessage, data) != nil {
				return
			}
		}
	}()
	eventually(t, waitTimeout, func() (bool, string) {
		n := pub.count(func(f frame) bool { return f.Op == "published" })
		return n >= minAcks, fmt.Sprintf("%d of %d publishes acked", n, minAcks)
	})

	code, err := p.terminate()
	if err != nil || code != 0 {
		t.Errorf("after SIGTERM: exit code %d, %v; want 0", code, err)
	}
	for _, c := range sockets {
		err := c.waitClosed(waitTimeout)
		if closeCode(err) != websocket.CloseGoingAway {
			t.Errorf("%s: connection ended with %v, want close 1001", c.name, err)
		}
	}
	wg.Wait()
	if len(p.logLines(`"msg":"stopped"`)) != 1 {
		t.Errorf("no \"stopped\" log line after SIGTERM")
	}

	// Every acknowledged publish is in Kafka, at the offset of its ack.
	frames, _ := pub.snapshot()
	acked := map[int32]map[int64]string{} // partition → offset → id
	var errs []frame
	for _, f := range frames {
		switch f.Op {
		case "published":
			if acked[f.Partition] == nil {
				acked[f.Partition] = map[int64]string{}
			}
			acked[f.Partition][f.Offset] = f.ID
		case "error":
			errs = append(errs, f)
		}
	}
	if len(errs) > 0 {
		t.Logf("publishes answered with errors during shutdown: %v", tail(errs, 5))
	}
	total := 0
	for part, offs := range acked {
		var end int64
		for o := range offs {
			end = max(end, o+1)
		}
		recs := readRange(t, topic, part, 0, end)
		for _, r := range recs {
			id, ok := offs[r.Offset]
			if !ok {
				continue
			}
			total++
			var v struct{ N int }
			if err := json.Unmarshal(r.Value, &v); err != nil || fmt.Sprint(v.N) != id {
				t.Errorf("%s[%d]@%d holds %s, but the ack of publish %s pointed there", topic, part, r.Offset, r.Value, id)
			}
		}
	}
	acks := pub.count(func(f frame) bool { return f.Op == "published" })
	if total != acks {
		t.Errorf("%d of %d acknowledged publishes found in Kafka", total, acks)
	}
	t.Logf("%d publishes acknowledged before shutdown, all in Kafka", acks)
}
