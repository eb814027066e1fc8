package bridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/topics"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSubscribeThenPublishAcrossSockets(t *testing.T) {
	env := newTestEnv(t, nil)
	sub := env.dial(ProtocolPath)
	pub := env.dial(ProtocolPath)

	sub.send(map[string]any{"op": "subscribe", "id": "s1", "topic": "orders"})
	got := sub.expect("subscribed")
	if got.str("id") != "s1" || got.str("topic") != "orders" {
		t.Fatalf("subscribed = %v", got)
	}
	if offs, _ := got["offsets"].(map[string]any); len(offs) != 3 {
		t.Fatalf("subscribed offsets = %v, want 3 partitions", got["offsets"])
	}

	const n = 30
	acks := map[string]frame{}
	for i := range n {
		pub.send(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": "orders", "key": "k" + fmt.Sprint(i%3),
			"value": map[string]any{"n": i}, "headers": map[string]string{"h": "v"}})
	}
	for len(acks) < n {
		f := pub.expect("published")
		acks[f.str("id")] = f
	}
	lastOffset := map[int64]int64{}
	for range n {
		m := sub.expect("message")
		p, off := m.num("partition"), m.num("offset")
		if prev, ok := lastOffset[p]; ok && off != prev+1 {
			t.Fatalf("partition %d: offset %d after %d", p, off, prev)
		}
		lastOffset[p] = off
		v := m["value"].(map[string]any)
		ack := acks[fmt.Sprint(int(v["n"].(float64)))]
		if ack.num("partition") != p || ack.num("offset") != off {
			t.Fatalf("message %v does not match ack %v", m, ack)
		}
		if m.str("key") != "k"+fmt.Sprint(int(v["n"].(float64))%3) {
			t.Fatalf("key = %q", m.str("key"))
		}
		if h, _ := m["headers"].(map[string]any); h["h"] != "v" {
			t.Fatalf("headers = %v", m["headers"])
		}
		if m.num("timestamp") < time.Now().Add(-time.Minute).UnixMilli() {
			t.Fatalf("timestamp %d is not recent", m.num("timestamp"))
		}
	}
}

func TestValueEncodings(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders"})
	c.expect("subscribed")
	c.send(map[string]any{"op": "publish", "id": "a", "topic": "orders", "key": "same", "value_b64": "AAEC/w=="})
	c.send(map[string]any{"op": "publish", "id": "b", "topic": "orders", "key": "same", "value": "text"})
	c.send(map[string]any{"op": "publish", "id": "c", "topic": "orders", "key": "same", "value": nil})
	var msgs []frame
	acks := 0
	for len(msgs) < 3 || acks < 3 {
		f := c.next()
		switch f.str("op") {
		case "message":
			msgs = append(msgs, f)
		case "published":
			acks++
		default:
			t.Fatalf("unexpected frame %v", f)
		}
	}
	if m := msgs[0]; m.str("value_b64") != "AAEC/w==" || m["value"] != nil {
		t.Fatalf("binary value = %v", m)
	}
	if m := msgs[1]; m["value"] != "text" {
		t.Fatalf("string value = %v", m)
	}
	m := msgs[2]
	if _, has := m["value"]; !has || m["value"] != nil || m.str("value_b64") != "" {
		t.Fatalf("tombstone = %v, want value:null", m)
	}
}

func TestFromEarliestOffsetsAndTimestamp(t *testing.T) {
	env := newTestEnv(t, nil)
	pub := env.dial(ProtocolPath)
	var acks []frame
	for i := range 9 {
		if i == 6 {
			time.Sleep(20 * time.Millisecond) // distinct timestamps for the timestamp start
		}
		pub.send(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": "orders", "key": "k", "value": i})
		acks = append(acks, pub.expect("published"))
	}
	partition := acks[0].num("partition")

	t.Run("earliest", func(t *testing.T) {
		c := env.dial(ProtocolPath)
		c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders", "from": "earliest"})
		c.expect("subscribed")
		for i := range 9 {
			if m := c.expect("message"); m.num("value") != int64(i) {
				t.Fatalf("message %d = %v", i, m)
			}
		}
	})
	t.Run("offsets", func(t *testing.T) {
		c := env.dial(ProtocolPath)
		c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders",
			"from": map[string]any{"offsets": map[string]int64{"0": 4, "1": 4, "2": 4}}})
		c.expect("subscribed")
		if m := c.expect("message"); m.num("value") != 4 || m.num("partition") != partition {
			t.Fatalf("first resumed message = %v", m)
		}
	})
	t.Run("last", func(t *testing.T) {
		c := env.dial(ProtocolPath)
		c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders", "from": map[string]any{"last": 2}})
		c.expect("subscribed")
		if m := c.expect("message"); m.num("value") != 7 {
			t.Fatalf("last 2 starts with %v", m)
		}
		if m := c.expect("message"); m.num("value") != 8 {
			t.Fatalf("last 2 continues with %v", m)
		}
	})
	t.Run("live after history", func(t *testing.T) {
		c := env.dial(ProtocolPath)
		c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders", "from": "earliest"})
		c.expect("subscribed")
		pub.send(map[string]any{"op": "publish", "id": "x", "topic": "orders", "key": "k", "value": 9})
		for i := range 10 {
			if m := c.expect("message"); m.num("value") != int64(i) {
				t.Fatalf("message %d = %v", i, m)
			}
		}
	})
}

func TestTimestampStart(t *testing.T) {
	env := newTestEnv(t, nil)
	pub := env.dial(ProtocolPath)
	for i := range 3 {
		pub.send(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": "orders", "key": "k", "value": i})
		pub.expect("published")
	}
	time.Sleep(30 * time.Millisecond)
	cut := time.Now().UnixMilli()
	time.Sleep(30 * time.Millisecond)
	for i := 3; i < 5; i++ {
		pub.send(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": "orders", "key": "k", "value": i})
		pub.expect("published")
	}
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders", "from": map[string]any{"timestamp": cut}})
	c.expect("subscribed")
	if m := c.expect("message"); m.num("value") != 3 {
		t.Fatalf("timestamp start = %v, want value 3", m)
	}
}

func TestErrorsKeepSocketOpen(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.Kafka.MaxRecordBytes = 65536 })
	c := env.dial(ProtocolPath)
	for _, tc := range []struct {
		name  string
		mt    int
		data  string
		code  string
		match string
	}{
		{"malformed json", websocket.TextMessage, `{"op":`, "bad_request", "not a JSON object"},
		{"unknown op", websocket.TextMessage, `{"op":"dance","id":"9"}`, "bad_request", "unknown op"},
		{"no op", websocket.TextMessage, `{"id":"9"}`, "bad_request", "no \"op\""},
		{"binary frame", websocket.BinaryMessage, `{"op":"ping"}`, "bad_request", "binary"},
		{"missing topic", websocket.TextMessage, `{"op":"publish","id":"1","topic":"nope","value":1}`, "not_found", "nope"},
		{"bad topic name", websocket.TextMessage, `{"op":"subscribe","id":"1","topic":"a b"}`, "bad_request", "invalid topic"},
		{"bad from", websocket.TextMessage, `{"op":"subscribe","id":"1","topic":"orders","from":"yesterday"}`, "bad_request", "yesterday"},
		{"no value", websocket.TextMessage, `{"op":"publish","id":"1","topic":"orders"}`, "bad_request", "value"},
		{"bad base64", websocket.TextMessage, `{"op":"publish","id":"1","topic":"orders","value_b64":"%%"}`, "bad_request", "base64"},
		{"not subscribed", websocket.TextMessage, `{"op":"unsubscribe","id":"1","topic":"orders"}`, "not_found", "not subscribed"},
		{"too large record", websocket.TextMessage, `{"op":"publish","id":"1","topic":"orders","value":"` + strings.Repeat("x", 70000) + `"}`, "too_large", "max_record_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.sendRaw(tc.mt, []byte(tc.data))
			f := c.expectError()
			if f.str("code") != tc.code || !strings.Contains(f.str("message"), tc.match) {
				t.Fatalf("error = %v, want code %s mentioning %q", f, tc.code, tc.match)
			}
		})
	}
	c.send(map[string]any{"op": "ping", "id": "p"})
	if f := c.expect("pong"); f.str("id") != "p" {
		t.Fatalf("pong = %v", f)
	}
	if got := metricValue(t, env.reg, "sluice_errors_total", map[string]string{"code": "bad_request"}); got < 8 {
		t.Fatalf("sluice_errors_total{code=bad_request} = %v", got)
	}
}

func (c *wsClient) expectError() frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.str("op") == "error" {
			return f
		}
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.ReadLimit = 1024 })
	c := env.dial(ProtocolPath)
	c.sendRaw(websocket.TextMessage, []byte(`{"op":"publish","topic":"orders","value":"`+strings.Repeat("x", 2000)+`"}`))
	if code := c.closeCode(); code != CloseTooBig {
		t.Fatalf("close code = %d, want %d", code, CloseTooBig)
	}
}

func TestSlowConsumerIsCutOffOthersKeepUp(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		// Large enough that the fast reader never falls this far behind on
		// a loaded machine; far too small for 600 × 60 KB to a socket that
		// never reads.
		c.SendQueueLength = 128
		c.WriteTimeout = 2 * time.Second
	})
	slow := env.dial(ProtocolPath)
	fast := env.dial(ProtocolPath)
	producer, err := kgo.NewClient(kgo.SeedBrokers(env.cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	slow.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders"})
	slow.expect("subscribed")
	fast.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders"})
	fast.expect("subscribed")

	const n = 600
	big := strings.Repeat("y", 60000)
	received := make(chan int, 1)
	go func() {
		count := 0
		for count < n {
			_ = fast.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, data, err := fast.conn.ReadMessage()
			if err != nil {
				break
			}
			if strings.Contains(string(data[:20]), `"message"`) {
				count++
			}
		}
		received <- count
	}()
	for i := range n {
		rec := &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprint(i)), Value: []byte(`"` + big + `"`)}
		if err := producer.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-received; got != n {
		t.Fatalf("fast subscriber got %d of %d messages", got, n)
	}
	waitFor(t, "slow consumer metric", func() bool {
		return metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "slow_consumer"}) == 1
	})
	// The slow socket, read at last, ends in a 1008 close, or in a cut
	// connection (1006) when its buffers were too full for the close frame.
	_ = slow.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		if _, _, err := slow.conn.ReadMessage(); err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok || ce.Code != ClosePolicy && ce.Code != websocket.CloseAbnormalClosure {
				t.Fatalf("slow consumer ended with %v, want close 1008 or 1006", err)
			}
			break
		}
	}
}

func TestRouteMode(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		c.Routes = []topics.RouteConfig{{Path: "/chat/{room}", Topic: "chat.{room}"}}
		c.Kafka.AutoCreateTopics = true
	})
	a := env.dial("/chat/lobby")
	b := env.dial("/chat/lobby")
	a.expect("subscribed")
	b.expect("subscribed")
	a.sendRaw(websocket.TextMessage, []byte(`{"user":"ann","text":"hi"}`))
	fa, fb := readInto(a), readInto(b)
	var msgA, msgB, ackA frame
	deadline := time.After(10 * time.Second)
	for msgA == nil || msgB == nil || ackA == nil {
		var f frame
		select {
		case f = <-fa:
			switch f.str("op") {
			case "message":
				msgA = f
			case "published":
				ackA = f
			}
		case f = <-fb:
			if f.str("op") == "message" {
				msgB = f
			}
		case <-deadline:
			ts := env.srv.hub.get("chat.lobby")
			ts.mu.Lock()
			state := fmt.Sprintf("tail next=%v", ts.next)
			for s := range ts.subs {
				for p, c := range s.cursors {
					state += fmt.Sprintf(" [p%d live=%v next=%d]", p, c.live, c.next)
				}
			}
			ts.mu.Unlock()
			t.Fatalf("route frames missing: message a=%v b=%v, ack=%v; %s", msgA, msgB, ackA, state)
		}
	}
	for _, m := range []frame{msgA, msgB} {
		v, _ := m["value"].(map[string]any)
		if m.str("topic") != "chat.lobby" || v["text"] != "hi" {
			t.Fatalf("message = %v", m)
		}
	}
	if ackA.str("topic") != "chat.lobby" || ackA.num("offset") != msgA.num("offset") {
		t.Fatalf("published = %v, message = %v", ackA, msgA)
	}
	// An unknown path is a 404 before any upgrade.
	url := "ws" + strings.TrimPrefix(env.http.URL, "http") + "/nowhere"
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != 404 {
		t.Fatalf("dial /nowhere: %v, %v", resp, err)
	}
}

func TestShutdownClosesSocketsWith1001(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders"})
	c.expect("subscribed")
	done := make(chan error, 1)
	go func() { done <- env.srv.Shutdown(t.Context()) }()
	if code := c.closeCode(); code != CloseGoingAway {
		t.Fatalf("close code = %d, want 1001", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders"})
	c.expect("subscribed")
	c.send(map[string]any{"op": "subscribe", "id": "2", "topic": "orders"})
	if f := c.expectError(); f.str("code") != "bad_request" {
		t.Fatalf("double subscribe = %v", f)
	}
	c.send(map[string]any{"op": "unsubscribe", "id": "3", "topic": "orders"})
	c.expect("unsubscribed")
	c.send(map[string]any{"op": "publish", "id": "4", "topic": "orders", "value": 1})
	c.expect("published")
	c.send(map[string]any{"op": "ping", "id": "5"})
	for {
		f := c.next()
		if f.str("op") == "message" {
			t.Fatalf("message after unsubscribe: %v", f)
		}
		if f.str("op") == "pong" {
			break
		}
	}
	if env.srv.hub.get("orders") != nil {
		t.Fatal("topic still tailed after its last subscriber left")
	}
}

func TestFilters(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders",
		"filter": map[string]any{"keys": []string{"a", "c"}, "headers": map[string]string{"env": "prod"}}})
	c.expect("subscribed")
	for i, rec := range []struct{ key, env string }{{"a", "prod"}, {"b", "prod"}, {"c", "dev"}, {"c", "prod"}} {
		c.send(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": "orders", "key": rec.key, "value": i, "headers": map[string]string{"env": rec.env}})
	}
	var got []int64
	for len(got) < 2 {
		f := c.next()
		if f.str("op") == "message" {
			got = append(got, f.num("value"))
		}
	}
	if fmt.Sprint(got) != "[0 3]" && fmt.Sprint(got) != "[3 0]" {
		t.Fatalf("filtered values = %v, want 0 and 3", got)
	}
}

func TestParseFrom(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind fromKind
		err  bool
	}{
		{``, fromLatest, false},
		{`"latest"`, fromLatest, false},
		{`"earliest"`, fromEarliest, false},
		{`{"timestamp":1732000000000}`, fromTimestamp, false},
		{`{"offsets":{"0":5,"2":7}}`, fromOffsets, false},
		{`{"last":10}`, fromLast, false},
		{`"soon"`, 0, true},
		{`{"offsets":{"x":5}}`, 0, true},
		{`{"offsets":{"0":-1}}`, 0, true},
		{`{"timestamp":1,"last":2}`, 0, true},
		{`{"bogus":1}`, 0, true},
		{`42`, 0, true},
	} {
		got, err := parseFrom(json.RawMessage(tc.in))
		if (err != nil) != tc.err || (!tc.err && got.kind != tc.kind) {
			t.Errorf("parseFrom(%s) = %+v, %v", tc.in, got, err)
		}
	}
}
