package bridge

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPublishedFrame renders the ack of a publish for ids and topics that
// fit the record's own space and ones that do not, and checks the frame
// is a final text frame carrying exactly the JSON encoding/json would
// give.
func TestPublishedFrame(t *testing.T) {
	for _, tc := range []struct{ name, id, topic string }{
		{"no id", "", "orders"},
		{"usual", "1764450000123456789", "sluice-bench-publish"},
		{"escapes", "a\"b\\c\n\u2028é", "orders"},
		{"longer than the space", strings.Repeat("id-", 100), strings.Repeat("t", 200)},
		{"escapes longer than the space", strings.Repeat("\"", 150), "orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var space [ackSpaceBytes]byte
			frame := finishPublished(publishedPrefix(space[:], tc.id, tc.topic), 2, 1234567)
			payload := textPayload(t, frame)
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatalf("ack %q is not JSON: %v", payload, err)
			}
			want := map[string]any{"op": "published", "topic": tc.topic, "partition": 2.0, "offset": 1234567.0}
			if tc.id != "" {
				want["id"] = tc.id
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("ack %s, want %s", gotJSON, wantJSON)
			}
		})
	}
}

// TestPublishedFrameAllocationBudget: the ack of a publish with an id and
// topic of usual length is rendered in the record's own space.
func TestPublishedFrameAllocationBudget(t *testing.T) {
	p := new(pendingPublish)
	n := testing.AllocsPerRun(200, func() {
		b := publishedPrefix(p.ackSpace[:], "1764450000123456789", "sluice-bench-publish")
		_ = finishPublished(b, 2, 1234567)
	})
	if n != 0 {
		t.Fatalf("rendering an ack allocates %.1f times, want 0", n)
	}
}

// textPayload checks frame is one final, unmasked text frame and returns
// its payload.
func textPayload(t *testing.T, frame []byte) []byte {
	t.Helper()
	if len(frame) < 2 || frame[0] != 0x80|opText || frame[1]&0x80 != 0 {
		t.Fatalf("frame header % x: want a final unmasked text frame", frame[:min(len(frame), 2)])
	}
	n, h := int(frame[1]&0x7f), 2
	switch n {
	case 126:
		n, h = int(frame[2])<<8|int(frame[3]), 4
	case 127:
		t.Fatal("unexpected 64-bit length")
	}
	if len(frame) != h+n {
		t.Fatalf("frame is %d bytes, header says %d", len(frame), h+n)
	}
	return frame[h:]
}
