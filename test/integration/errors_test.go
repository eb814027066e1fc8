package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestBadRequests sends frames the protocol refuses: each is answered with
// a bad_request error frame and the socket stays open, as a ping answered
// after it shows.
func TestBadRequests(t *testing.T) {
	p := sharedSluice(t)
	topic := uniqueTopic(t, "t")
	createTopic(t, topic, 1)
	c := dial(t, p.wsURL("/v1/ws"))
	cases := []struct {
		name   string
		mt     int
		data   string
		wantID string
	}{
		{"malformed JSON", websocket.TextMessage, `{"op":"publish",`, ""},
		{"not an object", websocket.TextMessage, `[1,2,3]`, ""},
		{"unknown op", websocket.TextMessage, `{"op":"frobnicate","id":"u1"}`, "u1"},
		{"no op", websocket.TextMessage, `{"id":"n1"}`, "n1"},
		{"binary frame", websocket.BinaryMessage, `{"op":"ping","id":"b1"}`, ""},
		{"bad topic name", websocket.TextMessage, `{"op":"publish","id":"t1","topic":"no/slashes","value":1}`, "t1"},
		{"publish without value", websocket.TextMessage, fmt.Sprintf(`{"op":"publish","id":"v1","topic":%q}`, topic), "v1"},
		{"bad base64", websocket.TextMessage, fmt.Sprintf(`{"op":"publish","id":"x1","topic":%q,"value_b64":"***"}`, topic), "x1"},
		{"value and value_b64", websocket.TextMessage, fmt.Sprintf(`{"op":"publish","id":"x2","topic":%q,"value":1,"value_b64":"AA=="}`, topic), "x2"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := c.count(func(f frame) bool { return f.Op == "error" })
			c.sendRaw(tc.mt, []byte(tc.data))
			pingID := fmt.Sprint("ping", i)
			c.ping(pingID)
			frames, _ := c.snapshot()
			var errs []frame
			for _, f := range frames {
				if f.Op == "error" {
					errs = append(errs, f)
				}
			}
			if len(errs) != before+1 {
				t.Fatalf("%d new error frames, want 1 (frames: %v)", len(errs)-before, tail(frames, 4))
			}
			e := errs[len(errs)-1]
			if e.Code != "bad_request" || e.ID != tc.wantID || e.Message == "" {
				t.Errorf("got %v, want bad_request with id %q and a message", e, tc.wantID)
			}
		})
	}
	if got := endOffsets(t, topic)[0]; got != 0 {
		t.Errorf("refused publishes wrote %d records", got)
	}
}

// TestMissingTopic publishes and subscribes to a topic that does not exist
// with auto_create_topics off: both are answered not_found, the socket
// stays open, and the topic is not created.
func TestMissingTopic(t *testing.T) {
	p := sharedSluice(t)
	topic := uniqueTopic(t, "missing")
	c := dial(t, p.wsURL("/v1/ws"))

	c.send(map[string]any{"op": "publish", "id": "p1", "topic": topic, "key": "k", "value": map[string]any{"a": 1}})
	f := c.waitReply("p1")
	if f.Op != "error" || f.Code != "not_found" || f.Topic != topic {
		t.Errorf("publish to a missing topic: %v, want not_found naming the topic", f)
	}
	c.send(map[string]any{"op": "subscribe", "id": "s1", "topic": topic})
	f = c.waitReply("s1")
	if f.Op != "error" || f.Code != "not_found" || f.Topic != topic {
		t.Errorf("subscribe to a missing topic: %v, want not_found naming the topic", f)
	}
	c.ping("still-open")
	if topicExists(t, topic) {
		t.Errorf("topic %s was created", topic)
	}

	// A route onto a missing topic answers the same way.
	room := uniqueTopic(t, "room")
	r := dial(t, p.wsURL("/chat/"+room))
	r.sendRaw(websocket.TextMessage, []byte(`{"text":"anyone?"}`))
	f = r.waitFrame("error", func(f frame) bool { return f.Op == "error" && f.Code == "not_found" })
	if f.Topic != "chat."+room {
		t.Errorf("route publish to a missing topic: %v", f)
	}
	if topicExists(t, "chat."+room) {
		t.Errorf("topic chat.%s was created", room)
	}
}

// TestOversizedFrame sends a frame over max_frame_bytes: the server closes
// the socket with 1009, and other sockets carry on.
func TestOversizedFrame(t *testing.T) {
	p := sharedSluice(t)
	topic := uniqueTopic(t, "big")
	createTopic(t, topic, 1)
	other := dial(t, p.wsURL("/v1/ws"))

	cases := []struct {
		name string
		mt   int
	}{
		{"text", websocket.TextMessage},
		{"binary", websocket.BinaryMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, p.wsURL("/v1/ws"))
			c.ping("first")
			value := strings.Repeat("x", sharedFrameLimit)
			frame := fmt.Sprintf(`{"op":"publish","id":"big","topic":%q,"value":%q}`, topic, value)
			// The server may close before it has read the whole frame, so a
			// failed write is expected; the close frame is what counts.
			_ = c.trySend(tc.mt, []byte(frame))
			err := c.waitClosed(waitTimeout)
			if code := closeCode(err); code != websocket.CloseMessageTooBig {
				t.Fatalf("connection ended with %v, want close %d", err, websocket.CloseMessageTooBig)
			}
		})
	}
	other.ping("other")
	// A frame exactly at the limit is accepted.
	atLimit := dial(t, p.wsURL("/v1/ws"))
	head := fmt.Sprintf(`{"op":"publish","id":"edge","topic":%q,"value":"`, topic)
	pad := sharedFrameLimit - len(head) - len(`"}`)
	atLimit.sendRaw(websocket.TextMessage, []byte(head+strings.Repeat("y", pad)+`"}`))
	if f := atLimit.waitReply("edge"); f.Op != "published" {
		t.Errorf("frame of exactly max_frame_bytes: %v, want published", f)
	}
	if got := endOffsets(t, topic)[0]; got != 1 {
		t.Errorf("topic holds %d records, want 1", got)
	}
}
