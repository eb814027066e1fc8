package registry

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
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

// jsonParserSeeds are documents at the edges of JSON: escapes, surrogates,
// numbers, whitespace, invalid UTF-8, trailing data.
var jsonParserSeeds = []string{
	`{"a":[1,-2.5e+3,0,true,false,null,"x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00"],"b":{}}`,
	`"\ud800"`, `"\udc00\ud800x"`, `[-0, 0.0, 1E9, 1e-9]`, " \t\r\n{ } ",
	`01`, `1.`, `.5`, `-`, `+1`, `1e`, `tru`, `nul`, `"\x"`, `"\u12g4"`, `"a` + "\x01" + `"`,
	"\"\xff\"", "\"\xe2\x82\"", `{"a":1,}`, `[1,]`, `{"a" 1}`, `{1:2}`, `{} {}`, `[`, `"`, ``,
	`{"note":"` + string(make([]byte, 40)) + `"}`,
}

// checkParserAgainstStdlib holds the registry's JSON parser to encoding/json
// plus UTF-8: a document parses exactly when json.Valid accepts it and it
// is valid UTF-8 (outside strings valid JSON is ASCII). The bridge relies
// on this when an Avro schema applies: it then leaves checking a published
// value to this parser (EncodeValueParsed).
func checkParserAgainstStdlib(t *testing.T, p *jparser, data []byte) {
	t.Helper()
	_, err := p.parse(data)
	want := json.Valid(data) && utf8.Valid(data)
	if (err == nil) != want {
		t.Fatalf("%q: parse error %v, but json.Valid && utf8.Valid is %v", data, err, want)
	}
}

func FuzzJSONParser(f *testing.F) {
	for _, s := range jsonParserSeeds {
		f.Add([]byte(s))
	}
	var p jparser
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParserAgainstStdlib(t, &p, data)
	})
}

// TestJSONParserAgreesWithStdlib runs the fuzz check over the seeds and
// 50,000 seeded mutations of them, so every test run covers it.
func TestJSONParserAgreesWithStdlib(t *testing.T) {
	var p jparser
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []byte("{}[]\":,\\ \t\nu0123456789abcdefeE+-.truefalsnul\x00\x1f\x7f\xc3\xa9\xff\xed\xa0\x80")
	for _, s := range jsonParserSeeds {
		checkParserAgainstStdlib(t, &p, []byte(s))
	}
	for range 50000 {
		d := []byte(jsonParserSeeds[rng.IntN(len(jsonParserSeeds))])
		for range 1 + rng.IntN(4) {
			switch i := rng.IntN(len(d) + 1); rng.IntN(3) {
			case 0:
				d = append(d[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, d[i:]...)...)
			case 1:
				if i < len(d) {
					d = append(d[:i], d[i+1:]...)
				}
			default:
				if i < len(d) {
					d[i] = alphabet[rng.IntN(len(alphabet))]
				}
			}
		}
		checkParserAgainstStdlib(t, &p, d)
	}
}
