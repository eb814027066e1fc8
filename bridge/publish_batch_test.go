package bridge

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// rejectingSchemas refuses values that contain "bad", with a field detail.
type rejectingSchemas struct{}

func (rejectingSchemas) EncodeValue(_ context.Context, _ string, v []byte, _ bool) ([]byte, bool, error) {
	if bytes.Contains(v, []byte("bad")) {
		return nil, false, &SchemaViolation{Subject: "t-value", Message: "bad value", Details: []FieldError{{Path: "$.n", Reason: "is bad"}}}
	}
	return v, false, nil
}
func (rejectingSchemas) EncodeKey(_ context.Context, _ string, k []byte) ([]byte, error) {
	return k, nil
}
func (rejectingSchemas) DecodeValue(context.Context, string, []byte) (Decoded, error) {
	return Decoded{}, nil
}

func TestBatchPublish(t *testing.T) {
	env := newTestEnv(t, func(c *Config, d *Deps) {
		d.Schemas = rejectingSchemas{}
		c.MaxInflightPublishes = 8
	})
	sub := env.dial(ProtocolPath)
	sub.send(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	sub.expect("subscribed")
	pub := env.dial(ProtocolPath)

	records := []map[string]any{}
	for i := range 5 {
		records = append(records, map[string]any{"key": "k", "value": map[string]any{"n": i}, "headers": map[string]string{"i": fmt.Sprint(i)}})
	}
	pub.send(map[string]any{"op": "publish", "id": "b1", "topic": "orders", "records": records})
	ack := pub.expect("published")
	results, _ := ack["results"].([]any)
	if ack.str("id") != "b1" || len(results) != 5 {
		t.Fatalf("batch ack = %v", ack)
	}
	for i := range 5 {
		m := sub.expect("message")
		r := results[i].(map[string]any)
		if m.num("offset") != int64(r["offset"].(float64)) || m["value"].(map[string]any)["n"] != float64(i) {
			t.Fatalf("message %d = %v, result %v", i, m, r)
		}
	}

	end := func() int64 { return env.endOffsets("orders") }
	before := end()
	for _, tc := range []struct {
		name    string
		records []map[string]any
		code    string
		failed  []int
	}{
		{"one invalid record", []map[string]any{{"value": 1}, {"value": "bad"}, {"value": 3}, {"value_b64": "%%"}}, "schema_violation", []int{1, 3}},
		{"too many records", make([]map[string]any, 9), "too_large", nil},
		{"empty batch", []map[string]any{}, "bad_request", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.records {
				if tc.records[i] == nil {
					tc.records[i] = map[string]any{"value": i}
				}
			}
			pub.send(map[string]any{"op": "publish", "id": "bad", "topic": "orders", "records": tc.records})
			f := pub.expectError()
			if f.str("code") != tc.code {
				t.Fatalf("error = %v, want %s", f, tc.code)
			}
			if tc.failed != nil {
				details, _ := f["details"].([]any)
				var got []int
				for _, d := range details {
					got = append(got, int(d.(map[string]any)["index"].(float64)))
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.failed) {
					t.Fatalf("failed indexes %v, want %v (%v)", got, tc.failed, f)
				}
			}
		})
	}
	// Nothing of the refused batches reached Kafka.
	pub.send(map[string]any{"op": "ping", "id": "p"})
	pub.expect("pong")
	if after := end(); after != before {
		t.Fatalf("refused batches wrote %d records", after-before)
	}
}
