package registry

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
)

// recursiveSchema exercises recursion, zero-size items and every container.
const recursiveSchema = `{"type":"record","name":"Node","fields":[
  {"name":"value","type":["null","long","string","bytes"]},
  {"name":"next","type":["null","Node"],"default":null},
  {"name":"empties","type":{"type":"array","items":"null"}},
  {"name":"kids","type":{"type":"map","values":"Node"}}
]}`

func fuzzGovernor(tb testing.TB) (*Governor, []int) {
	tb.Helper()
	g, err := New(Config{Subjects: map[string]InlineSchema{
		"everything-value": {Type: FormatAvro, Schema: everythingSchema},
		"node-value":       {Type: FormatAvro, Schema: recursiveSchema},
		"chat-value":       {Type: FormatJSON, Schema: chatDraft7},
	}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = g.Close() })
	var ids []int
	for _, text := range []string{everythingSchema, recursiveSchema, chatDraft7} {
		id, _, _ := deriveID([]byte(text))
		ids = append(ids, id)
	}
	return g, ids
}

// FuzzDecodeValue checks that no input makes decoding panic, and that every
// successful decode yields valid JSON. Each input is tried as-is and as the
// payload of every known schema ID.
func FuzzDecodeValue(f *testing.F) {
	g, ids := fuzzGovernor(f)
	ctx := context.Background()
	rec, err := g.EncodeValue(ctx, "everything", []byte(everythingJSON), true)
	if err != nil {
		f.Fatal(err)
	}
	node, err := g.EncodeValue(ctx, "node", []byte(`{"value":"x","next":{"value":1,"empties":[null],"kids":{}},"empties":[],"kids":{"a":{"value":null,"empties":[],"kids":{}}}}`), true)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	f.Add(rec[5:])
	f.Add(node)
	f.Add(node[5:])
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 1})
	f.Add([]byte(`{"user":"a","text":"b"}`))
	f.Add([]byte{0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(value []byte) {
			d, err := g.DecodeValue(ctx, "topic", value)
			if err != nil {
				if !d.Framed || d.JSON != nil {
					t.Fatalf("failed decode returned %+v", d)
				}
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownSchemaID) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			if d.Framed && !json.Valid(d.JSON) {
				t.Fatalf("decoded invalid JSON %q from %x", d.JSON, value)
			}
		}
		check(data)
		for _, id := range ids {
			check(frame(id, data))
		}
	})
}

func TestDecodeRandomBytesNeverPanics(t *testing.T) {
	g, ids := fuzzGovernor(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		b := make([]byte, rng.IntN(64))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		id := ids[i%len(ids)]
		for _, v := range [][]byte{b, frame(id, b)} {
			if d, err := g.DecodeValue(ctx, "t", v); err == nil && d.Framed && !json.Valid(d.JSON) {
				t.Fatalf("invalid JSON %q from %x", d.JSON, v)
			}
			// Raw bytes published to a governed topic never panic either.
			_, _ = g.EncodeValue(ctx, "everything", v, false)
			_, _ = g.EncodeValue(ctx, "everything", v, true)
		}
	}
}

// FuzzEncodeValue checks that arbitrary JSON never panics the encoder and
// that every accepted document round-trips to an equivalent encoding.
func FuzzEncodeValue(f *testing.F) {
	g, _ := fuzzGovernor(f)
	ctx := context.Background()
	f.Add([]byte(everythingJSON))
	f.Add([]byte(`{"value":{"bytes":"AA=="},"empties":[null,null],"kids":{}}`))
	f.Add([]byte(`{"a":[1,2,{"b":"\u00e9"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, topic := range []string{"everything", "node"} {
			out, err := g.EncodeValue(ctx, topic, data, true)
			if err != nil {
				var ve *ViolationError
				if !errors.As(err, &ve) {
					t.Fatalf("non-violation error: %v", err)
				}
				continue
			}
			d, err := g.DecodeValue(ctx, topic, out)
			if err != nil {
				t.Fatalf("decoding own output: %v", err)
			}
			again, err := g.EncodeValue(ctx, topic, d.JSON, true)
			if err != nil {
				t.Fatalf("re-encoding %s: %v", d.JSON, err)
			}
			if string(again) != string(out) {
				d2, _ := g.DecodeValue(ctx, topic, again)
				if string(d2.JSON) != string(d.JSON) {
					t.Fatalf("round trip changed %s into %s", d.JSON, d2.JSON)
				}
			}
		}
	})
}
