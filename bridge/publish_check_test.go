package bridge

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// parsingSchemas stands for an Avro encoder: it parses every value in full,
// refusing what is not valid JSON and UTF-8, and says so (parsedJSON).
type parsingSchemas struct{}

func (parsingSchemas) EncodeValue(_ context.Context, _ string, v []byte, isJSON bool) ([]byte, bool, error) {
	if isJSON && (!json.Valid(v) || !utf8.Valid(v)) {
		return nil, true, &SchemaViolation{Subject: "orders-value", Message: "value is not JSON"}
	}
	return append([]byte("enc:"), v...), isJSON, nil
}
func (parsingSchemas) EncodeKey(_ context.Context, _ string, k []byte) ([]byte, error) { return k, nil }
func (parsingSchemas) DecodeValue(context.Context, string, []byte) (Decoded, error) {
	return Decoded{}, nil
}

// TestPublishValueCheckedOnce sends publishes whose value is not valid JSON
// in every way the frame parser only delimits (it leaves checking to
// whichever reads the value in full): each is refused with its id, and
// nothing reaches Kafka, whether no schema applies, one applies that does
// not parse the value (rejectingSchemas, like JSON Schema), or one that
// does. A valid publish around them is written.
func TestPublishValueCheckedOnce(t *testing.T) {
	// Values the frame parser delimits, leaving the frame well formed.
	invalid := []string{
		`{"a":1,}`, `{"a":[1}]`, `{"a":"x\qy"}`, `"tab` + "\t" + `"`, "\"\xff\xfe\"", `{"a":01}`,
		`{"a":"\"}"]`, `[1 2]`, `{"a" 1}`,
	}
	// Values that break the frame: a frame error, without an id.
	breaking := []string{`[1,2`, `{"a":1}}`, `tru`, `"open`}
	for _, tc := range []struct {
		name    string
		schemas Schemas
		code    string
	}{
		{"no schema", nil, "bad_request"},
		{"schema that does not parse", rejectingSchemas{}, "bad_request"},
		{"schema that parses", parsingSchemas{}, "schema_violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, func(_ *Config, d *Deps) { d.Schemas = tc.schemas })
			c := env.dial(ProtocolPath)
			c.sendRaw(websocket.TextMessage, []byte(`{"op":"publish","id":"first","topic":"orders","value":{"ok":"a \"q\" \\ é"}}`))
			if f := c.expect("published"); f.str("id") != "first" {
				t.Fatalf("published %v", f)
			}
			for i, v := range invalid {
				c.sendRaw(websocket.TextMessage, []byte(`{"op":"publish","id":"bad","topic":"orders","value":`+v+`}`))
				if f := c.next(); f.str("op") != "error" || f.str("code") != tc.code || f.str("id") != "bad" {
					t.Fatalf("value %d %q: answer %v, want error %s with the publish's id", i, v, f, tc.code)
				}
			}
			for i, v := range breaking {
				c.sendRaw(websocket.TextMessage, []byte(`{"op":"publish","id":"bad","topic":"orders","value":`+v+`}`))
				if f := c.next(); f.str("op") != "error" || f.str("code") != "bad_request" || !strings.Contains(f.str("message"), "not a JSON object") {
					t.Fatalf("frame-breaking value %d %q: answer %v", i, v, f)
				}
			}
			c.send(map[string]any{"op": "publish", "id": "last", "topic": "orders", "value": []int{1}})
			c.expect("published")
			if n := env.endOffsets("orders"); n != 2 {
				t.Fatalf("%d records in orders, want the 2 valid ones", n)
			}
			// Ops other than publish check a value field at once.
			c.sendRaw(websocket.TextMessage, []byte(`{"op":"ping","id":"p","value":{"a":}}`))
			if f := c.expectError(); f.str("code") != "bad_request" || !strings.Contains(f.str("message"), "not a JSON object") {
				t.Fatalf("ping with a bad value: %v", f)
			}
		})
	}
}
