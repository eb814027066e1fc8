package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFilesystemStableIDsAndReload(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	writeFile(t, dir, "orders-value.avsc", orderV1, base)
	writeFile(t, dir, "notes.txt", "ignored", base)

	cfg := Config{Dir: dir, PollInterval: 10 * time.Millisecond}
	g1 := newGovernor(t, cfg)
	g2 := newGovernor(t, Config{Dir: dir, PollInterval: -1}) // a "restarted" process, no polling

	in := []byte(`{"id":"o-1","amount":12.5}`)
	rec1, err := g1.EncodeValue(ctx, "orders", in, true)
	if err != nil {
		t.Fatal(err)
	}
	rec1b, err := g2.EncodeValue(ctx, "orders", in, true)
	if err != nil {
		t.Fatal(err)
	}
	id1 := frameID(t, rec1)
	if id1 != frameID(t, rec1b) || id1 != mustID(t, orderV1) {
		t.Fatalf("ids differ between instances: %d, %d, derived %d", id1, frameID(t, rec1b), mustID(t, orderV1))
	}
	// Whitespace and key order do not change the ID.
	reordered := strings.ReplaceAll(`{"fields":[{"name":"id","type":"string"},{"type":"double","name":"amount"}],"name":"Order","type":"record"}`, ",", " , ")
	if mustID(t, reordered) != id1 {
		t.Fatalf("reformatted schema has a different ID")
	}

	// Change the file: the watcher of g1 picks up version 2.
	writeFile(t, dir, "orders-value.avsc", orderV2, base.Add(time.Minute))
	id2 := mustID(t, orderV2)
	var rec2 []byte
	waitFor(t, 5*time.Second, func() bool {
		rec2, err = g1.EncodeValue(ctx, "orders", in, true)
		return err == nil && frameID(t, rec2) == id2
	})
	// g2 does not poll; Reload picks it up on demand.
	if err := g2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, err := g2.EncodeValue(ctx, "orders", in, true); err != nil || frameID(t, rec) != id2 {
		t.Fatalf("after Reload: %x, %v", rec, err)
	}

	tests := []struct {
		name string
		rec  []byte
		want string
	}{
		{"old id still decodes", rec1, `{"id":"o-1","amount":12.5}`},
		{"new id decodes", rec2, `{"id":"o-1","amount":12.5,"currency":"EUR"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, g := range []*Governor{g1, g2} {
				d, err := g.DecodeValue(ctx, "orders", tt.rec)
				if err != nil || string(d.JSON) != tt.want {
					t.Fatalf("DecodeValue = %s, %v; want %s", d.JSON, err, tt.want)
				}
			}
		})
	}

	// A broken edit keeps the previous schema and reports the problem.
	writeFile(t, dir, "orders-value.avsc", `{"type":`, base.Add(2*time.Minute))
	if err := g2.Reload(ctx); err == nil || !strings.Contains(err.Error(), "orders-value.avsc") {
		t.Fatalf("Reload of a broken file = %v", err)
	}
	if rec, err := g2.EncodeValue(ctx, "orders", in, true); err != nil || frameID(t, rec) != id2 {
		t.Fatalf("after broken edit: %x, %v", rec, err)
	}

	// After a restart, old IDs resolve when the old file is kept in history/.
	if err := os.Mkdir(filepath.Join(dir, historyDir), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "orders-value.avsc", orderV2, base.Add(3*time.Minute))
	writeFile(t, filepath.Join(dir, historyDir), "orders-value.v1.avsc", orderV1, base)
	g3 := newGovernor(t, Config{Dir: dir, PollInterval: -1})
	if d, err := g3.DecodeValue(ctx, "orders", rec1); err != nil || d.SchemaID != id1 {
		t.Fatalf("restarted DecodeValue of v1 = %+v, %v", d, err)
	}
	if rec, err := g3.EncodeValue(ctx, "orders", in, true); err != nil || frameID(t, rec) != id2 {
		t.Fatalf("history must not become latest: %x, %v", rec, err)
	}
}

func TestFilesystemStartupErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a-value.avsc", `{"type":"record"}`, time.Now())
	writeFile(t, dir, "b-value.json", `{"type": 5}`, time.Now())
	_, err := New(Config{Dir: dir}, nil)
	if err == nil || !strings.Contains(err.Error(), "a-value.avsc") || !strings.Contains(err.Error(), "b-value.json") {
		t.Fatalf("New = %v, want both files reported", err)
	}
	if _, err := New(Config{Dir: filepath.Join(dir, "missing")}, nil); err == nil {
		t.Fatal("New with a missing directory succeeded")
	}
}

const chatDraft7 = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "user": {"type": "string", "minLength": 1},
    "text": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}}
  },
  "required": ["user", "text"],
  "additionalProperties": false
}`

func TestInlineJSONSchema(t *testing.T) {
	compose, err := os.ReadFile("../compose/schemas/chat.lobby-value.json")
	if err != nil {
		t.Fatal(err)
	}
	g := newGovernor(t, Config{Subjects: map[string]InlineSchema{
		"chat.draft7-value": {Type: FormatJSON, Schema: chatDraft7},
		"chat.lobby-value":  {Type: FormatJSON, Schema: string(compose)},
	}})
	ctx := context.Background()
	tests := []struct {
		name, topic, in string
		want            []FieldError // nil: valid
	}{
		{"draft 7 valid", "chat.draft7", `{"user":"ann","text":"hi","tags":["x"]}`, nil},
		{"draft 7 every error", "chat.draft7", `{"user":"","tags":["x",3],"extra":1}`, []FieldError{
			{Path: "$", Reason: "additional properties 'extra' not allowed"},
			{Path: "$", Reason: "missing property 'text'"},
			{Path: "$.user", Reason: "minLength: got 0, want 1"},
			{Path: "$.tags[1]", Reason: "got number, want string"},
		}},
		{"2020-12 valid", "chat.lobby", `{"user":"ann","text":"hi"}`, nil},
		{"2020-12 every error", "chat.lobby", `{"user":5}`, []FieldError{
			{Path: "$", Reason: "missing property 'text'"},
			{Path: "$.user", Reason: "got number, want string"},
		}},
		{"not JSON", "chat.lobby", `{"user":`, []FieldError{{Path: "$"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := g.EncodeValue(ctx, tt.topic, []byte(tt.in), true)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("EncodeValue: %v", err)
				}
				d, err := g.DecodeValue(ctx, tt.topic, out)
				if err != nil || string(d.JSON) != tt.in || d.SchemaID != frameID(t, out) {
					t.Fatalf("DecodeValue = %+v, %v", d, err)
				}
				return
			}
			var ve *ViolationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want ViolationError", err)
			}
			got := sortedDetails(ve.Details)
			want := sortedDetails(tt.want)
			if tt.name == "not JSON" {
				if len(got) != 1 || got[0].Path != "$" {
					t.Fatalf("details = %v", got)
				}
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("details\n got %q\nwant %q", got, want)
			}
		})
	}
}

func sortedDetails(d []FieldError) []FieldError {
	out := append([]FieldError(nil), d...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Path+out[j].Reason < out[i].Path+out[i].Reason {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestKeys(t *testing.T) {
	g := newGovernor(t, Config{
		Subjects: map[string]InlineSchema{
			"orders-key":   {Type: FormatAvro, Schema: `"string"`},
			"orders-value": {Type: FormatAvro, Schema: orderV1},
			"users-key":    {Type: FormatAvro, Schema: `{"type":"record","name":"UserKey","fields":[{"name":"tenant","type":"string"},{"name":"id","type":"long"}]}`},
			"chat-key":     {Type: FormatJSON, Schema: `{"type":"object","required":["room"]}`},
		},
		Rules: []Rule{{Topic: "pinned-key", Subject: "orders-value", KeySubject: "absent-key"}},
	})
	ctx := context.Background()
	tests := []struct {
		name, topic, key string
		want             []byte // nil: expect a ViolationError
	}{
		{"avro string key", "orders", "o-1", frame(mustID(t, `"string"`), []byte{6, 'o', '-', '1'})},
		{"avro record key from JSON", "users", `{"tenant":"t","id":2}`,
			frame(mustID(t, `{"type":"record","name":"UserKey","fields":[{"name":"tenant","type":"string"},{"name":"id","type":"long"}]}`), []byte{2, 't', 4})},
		{"bad record key", "users", `{"tenant":"t"}`, nil},
		{"json schema key", "chat", `{"room":"a"}`, frame(mustID(t, `{"type":"object","required":["room"]}`), []byte(`{"room":"a"}`))},
		{"bad json schema key", "chat", `{}`, nil},
		{"no key subject passes through", "logs", "anything", []byte("anything")},
		{"configured key subject missing", "pinned-key", "k", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := g.EncodeKey(ctx, tt.topic, []byte(tt.key))
			if tt.want == nil {
				var ve *ViolationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want ViolationError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("EncodeKey: %v", err)
			}
			if string(out) != string(tt.want) {
				t.Fatalf("EncodeKey = %x, want %x", out, tt.want)
			}
		})
	}
	out, err := g.EncodeKey(ctx, "orders", []byte("o-1"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := g.DecodeKey(ctx, "orders", out); err != nil || string(d.JSON) != `"o-1"` {
		t.Fatalf("DecodeKey = %s, %v", d.JSON, err)
	}
	if k, err := g.EncodeKey(ctx, "orders", nil); k != nil || err != nil {
		t.Fatalf("nil key = %v, %v", k, err)
	}
}

func TestUnknownSubjectPolicy(t *testing.T) {
	ctx := context.Background()
	subjects := map[string]InlineSchema{"orders-value": {Type: FormatAvro, Schema: orderV1}}
	tests := []struct {
		name      string
		policy    UnknownSubjectPolicy
		strategy  Strategy
		topic     string
		violation bool
	}{
		{"passthrough default", "", "", "logs", false},
		{"reject", UnknownReject, "", "logs", true},
		{"governed topic unaffected", UnknownReject, "", "orders", false},
		{"record strategy without rule passes", UnknownPassthrough, StrategyRecord, "logs", false},
		{"record strategy without rule rejects", UnknownReject, StrategyRecord, "logs", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGovernor(t, Config{Subjects: subjects, UnknownSubject: tt.policy, Strategy: tt.strategy})
			in := []byte(`{"id":"o","amount":1}`)
			out, err := g.EncodeValue(ctx, tt.topic, in, true)
			var ve *ViolationError
			if tt.violation != errors.As(err, &ve) {
				t.Fatalf("EncodeValue = %q, %v; violation wanted: %v", out, err, tt.violation)
			}
		})
	}
}

func TestRecordStrategies(t *testing.T) {
	g := newGovernor(t, Config{
		Strategy: StrategyTopicRecord,
		Subjects: map[string]InlineSchema{
			"events-io.sluice.Order": {Type: FormatAvro, Schema: orderV1},
		},
		Rules: []Rule{{Topic: "events", RecordName: "io.sluice.Order"}},
	})
	out, err := g.EncodeValue(context.Background(), "events", []byte(`{"id":"o","amount":1}`), true)
	if err != nil || frameID(t, out) != mustID(t, orderV1) {
		t.Fatalf("EncodeValue = %x, %v", out, err)
	}
}

func TestDisabledGovernorPassesThrough(t *testing.T) {
	g := newGovernor(t, Config{})
	ctx := context.Background()
	in := []byte("\x00\x00\x00\x00\x01anything")
	if out, err := g.EncodeValue(ctx, "t", in, false); err != nil || string(out) != string(in) {
		t.Fatalf("EncodeValue = %q, %v", out, err)
	}
	if out, err := g.EncodeKey(ctx, "t", in); err != nil || string(out) != string(in) {
		t.Fatalf("EncodeKey = %q, %v", out, err)
	}
	if d, err := g.DecodeValue(ctx, "t", in); err != nil || d.Framed || d.JSON != nil {
		t.Fatalf("DecodeValue = %+v, %v", d, err)
	}
	if err := g.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}
