package integration

import (
	"encoding/base64"
	"testing"

	"github.com/gorilla/websocket"
)

// TestRouteMode connects two sockets to /chat/{room}: each is subscribed
// to chat.{room} at once, every frame either sends is published (JSON text
// as JSON, anything else as bytes) and answered "published" without id,
// and both receive every record. A subscribe-only route from earliest then
// replays the room and refuses frames.
func TestRouteMode(t *testing.T) {
	p := sharedSluice(t)
	room := uniqueTopic(t, "room")
	topic := "chat." + room
	createTopic(t, topic, 1)

	alice := dial(t, p.wsURL("/chat/"+room))
	bob := dial(t, p.wsURL("/chat/"+room))
	for _, c := range []*wsClient{alice, bob} {
		f := c.waitFrame("subscribed", func(f frame) bool { return f.Op == "subscribed" })
		if f.Topic != topic || f.ID != "" || f.Offsets["0"] != 0 {
			t.Fatalf("route subscribed: %v, want topic %s at offset 0 without id", f, topic)
		}
	}

	sends := []struct {
		name   string
		from   *wsClient
		mt     int
		data   string
		json   string // the message's JSON value, or
		binary string // its value_b64 bytes
	}{
		{"JSON text", alice, websocket.TextMessage, `{"text":"hi bob"}`, `{"text":"hi bob"}`, ""},
		{"JSON string", bob, websocket.TextMessage, `"hi alice"`, `"hi alice"`, ""},
		{"plain text", alice, websocket.TextMessage, `not json`, "", "not json"},
		{"binary", bob, websocket.BinaryMessage, "\x00\x01\xff", "", "\x00\x01\xff"},
	}
	for i, s := range sends {
		s.from.sendRaw(s.mt, []byte(s.data))
		want := i + 1
		// The sender hears "published" for each of its frames, in order.
		ack := s.from.waitFrame("published", func(f frame) bool {
			return f.Op == "published" && f.Offset == int64(i)
		})
		if ack.ID != "" || ack.Topic != topic {
			t.Errorf("%s: ack %v", s.name, ack)
		}
		for _, c := range []*wsClient{alice, bob} {
			m := c.waitMessages(topic, want)[i]
			if m.Offset != int64(i) {
				t.Errorf("%s: message %v, want offset %d", s.name, m, i)
			}
			if s.json != "" {
				if string(m.Value) != s.json || m.ValueB64 != nil {
					t.Errorf("%s: value %s (b64 %v), want %s", s.name, m.Value, m.ValueB64, s.json)
				}
				continue
			}
			if m.ValueB64 == nil || *m.ValueB64 != base64.StdEncoding.EncodeToString([]byte(s.binary)) {
				t.Errorf("%s: value_b64 %v value %s, want bytes %q", s.name, m.ValueB64, m.Value, s.binary)
			}
		}
	}
	if n := alice.count(func(f frame) bool { return f.Op == "error" }) + bob.count(func(f frame) bool { return f.Op == "error" }); n != 0 {
		t.Errorf("%d error frames on route sockets", n)
	}

	history := dial(t, p.wsURL("/history/"+room))
	history.waitFrame("subscribed", func(f frame) bool { return f.Op == "subscribed" })
	msgs := history.waitMessages(topic, len(sends))
	for i, m := range msgs {
		if m.Offset != int64(i) {
			t.Errorf("history route: message %d at offset %d", i, m.Offset)
		}
	}
	history.sendRaw(websocket.TextMessage, []byte(`{"text":"may I?"}`))
	f := history.waitFrame("error", func(f frame) bool { return f.Op == "error" })
	if f.Code != "bad_request" {
		t.Errorf("publish on a subscribe-only route: %v, want bad_request", f)
	}
	if got := endOffsets(t, topic)[0]; got != int64(len(sends)) {
		t.Errorf("topic holds %d records, want %d", got, len(sends))
	}
}
