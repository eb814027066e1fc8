package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

// everythingSchema uses every Avro type and logical type the mapping covers.
const everythingSchema = `{
  "type": "record", "name": "Everything", "namespace": "test",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "flag", "type": "boolean"},
    {"name": "count", "type": "int"},
    {"name": "big", "type": "long"},
    {"name": "ratio", "type": "float"},
    {"name": "amount", "type": "double"},
    {"name": "raw", "type": "bytes"},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ts_micros", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tod", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "fixed_price", "type": {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 4}},
    {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "long"}},
    {"name": "note", "type": ["null", "string"]},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
      {"name": "name", "type": "string"},
      {"name": "email", "type": ["null", "string"], "default": null}
    ]}},
    {"name": "choice", "type": ["null", "long", "double", "string"]},
    {"name": "currency", "type": "string", "default": "EUR"},
    {"name": "nothing", "type": "null"}
  ]
}`

// everythingJSON is natural JSON for everythingSchema; currency is omitted
// (default) and ts_micros, day and tod use the accepted string forms.
const everythingJSON = `{
  "id": "o-1", "flag": true, "count": 7, "big": 9007199254740993,
  "ratio": 1.5, "amount": 12.5, "raw": "aGk=",
  "ts": 1700000000123, "ts_micros": "2023-11-14T22:13:20.123456Z",
  "day": "2024-01-02", "tod": "12:34:56.789",
  "price": "12.34", "fixed_price": "-5.5",
  "uid": "123e4567-e89b-12d3-a456-426614174000", "status": "PAID",
  "hash": "AQIDBA==", "tags": ["a", "b"], "attrs": {"k": 5},
  "note": "x", "customer": {"name": "Ann", "email": "a@b.c"},
  "choice": 42, "nothing": null
}`

// everythingDecoded is what subscribers get back: field order of the schema,
// logical types as their documented JSON forms.
const everythingDecoded = `{"id":"o-1","flag":true,"count":7,"big":9007199254740993,` +
	`"ratio":1.5,"amount":12.5,"raw":"aGk=","ts":1700000000123,"ts_micros":1700000000123456,` +
	`"day":19724,"tod":45296789,"price":"12.34","fixed_price":"-5.5000",` +
	`"uid":"123e4567-e89b-12d3-a456-426614174000","status":"PAID","hash":"AQIDBA==",` +
	`"tags":["a","b"],"attrs":{"k":5},"note":"x","customer":{"name":"Ann","email":"a@b.c"},` +
	`"choice":42,"currency":"EUR","nothing":null}`

// everythingNative is the same record as Go values for hamba/avro, i.e. what
// a Confluent serializer encodes.
func everythingNative() map[string]any {
	return map[string]any{
		"id": "o-1", "flag": true, "count": 7, "big": int64(9007199254740993),
		"ratio": float32(1.5), "amount": 12.5, "raw": []byte("hi"),
		"ts":          time.UnixMilli(1700000000123).UTC(),
		"ts_micros":   time.UnixMicro(1700000000123456).UTC(),
		"day":         time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		"tod":         12*time.Hour + 34*time.Minute + 56*time.Second + 789*time.Millisecond,
		"price":       big.NewRat(1234, 100),
		"fixed_price": big.NewRat(-55, 10),
		"uid":         "123e4567-e89b-12d3-a456-426614174000",
		"status":      "PAID",
		"hash":        [4]byte{1, 2, 3, 4},
		"tags":        []any{"a", "b"},
		"attrs":       map[string]any{"k": int64(5)},
		"note":        "x",
		"customer":    map[string]any{"name": "Ann", "email": "a@b.c"},
		"choice":      int64(42),
		"currency":    "EUR",
		"nothing":     nil,
	}
}

// confluentFrame is what a Confluent serializer writes: 0x00, the ID, then
// Avro binary with positive block counts (hamba configured like Java).
func confluentFrame(t *testing.T, schemaText string, id int, v any) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schemaText, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	api := avro.Config{DisableBlockSizeHeader: true}.Freeze()
	payload, err := api.Marshal(s, v)
	if err != nil {
		t.Fatalf("hamba marshal: %v", err)
	}
	return frame(id, payload)
}

func inlineAvro(subjects map[string]string) Config {
	cfg := Config{Kind: KindInline, Subjects: map[string]InlineSchema{}}
	for subj, text := range subjects {
		cfg.Subjects[subj] = InlineSchema{Type: FormatAvro, Schema: text}
	}
	return cfg
}

func TestAvroRoundTripMatchesConfluentBytes(t *testing.T) {
	g := newGovernor(t, inlineAvro(map[string]string{"everything-value": everythingSchema}))
	ctx := context.Background()
	id := mustID(t, everythingSchema)
	want := confluentFrame(t, everythingSchema, id, everythingNative())

	tests := []struct {
		name  string
		input string
	}{
		{"natural JSON", everythingJSON},
		{"wrapped unions", strings.Replace(strings.Replace(everythingJSON,
			`"note": "x"`, `"note": {"string": "x"}`, 1), `"choice": 42`, `"choice": {"long": 42}`, 1)},
		{"decoded output re-encodes", everythingDecoded},
		{"numbers as integral floats", strings.Replace(everythingJSON, `"count": 7`, `"count": 7.0`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.EncodeValue(ctx, "everything", []byte(tt.input), true)
			if err != nil {
				t.Fatalf("EncodeValue: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("framed bytes differ from the Confluent fixture\n got %x\nwant %x", got, want)
			}
			dec, err := g.DecodeValue(ctx, "everything", got)
			if err != nil {
				t.Fatalf("DecodeValue: %v", err)
			}
			if !dec.Framed || dec.SchemaID != id {
				t.Fatalf("Decoded = %+v, want framed id %d", dec, id)
			}
			if string(dec.JSON) != everythingDecoded {
				t.Fatalf("decoded JSON\n got %s\nwant %s", dec.JSON, everythingDecoded)
			}
		})
	}
}

func TestAvroDecodesHambaFixture(t *testing.T) {
	// Records written by another producer (hamba, default block headers with
	// byte sizes) decode too.
	g := newGovernor(t, inlineAvro(map[string]string{"everything-value": everythingSchema}))
	id := mustID(t, everythingSchema)
	s, err := avro.ParseWithCache(everythingSchema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := avro.Marshal(s, everythingNative())
	if err != nil {
		t.Fatal(err)
	}
	dec, err := g.DecodeValue(context.Background(), "everything", frame(id, payload))
	if err != nil {
		t.Fatalf("DecodeValue: %v", err)
	}
	if string(dec.JSON) != everythingDecoded {
		t.Fatalf("decoded JSON\n got %s\nwant %s", dec.JSON, everythingDecoded)
	}
}

func TestAvroMapping(t *testing.T) {
	const schemaText = `{"type":"record","name":"R","fields":[
	  {"name":"u","type":["null","int","string"],"default":null},
	  {"name":"d","type":["double","long"],"default":1.5},
	  {"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"v","type":"long"}]},"default":{"v":3}},
	  {"name":"n","type":["null","Inner"],"default":null},
	  {"name":"f","type":"float","default":0}
	]}`
	g := newGovernor(t, inlineAvro(map[string]string{"m-value": schemaText}))
	ctx := context.Background()
	tests := []struct {
		name, in, out string
	}{
		{"defaults fill missing fields", `{}`, `{"u":null,"d":1.5,"inner":{"v":3},"n":null,"f":0}`},
		{"integral number prefers int branch", `{"u":3}`, `{"u":3,"d":1.5,"inner":{"v":3},"n":null,"f":0}`},
		{"integral number prefers long over double", `{"d":4}`, `{"u":null,"d":4,"inner":{"v":3},"n":null,"f":0}`},
		{"fraction goes to double", `{"d":4.25}`, `{"u":null,"d":4.25,"inner":{"v":3},"n":null,"f":0}`},
		{"string branch", `{"u":"x"}`, `{"u":"x","d":1.5,"inner":{"v":3},"n":null,"f":0}`},
		{"record branch plain", `{"n":{"v":9}}`, `{"u":null,"d":1.5,"inner":{"v":3},"n":{"v":9},"f":0}`},
		{"record branch wrapped by full name", `{"n":{"Inner":{"v":9}}}`, `{"u":null,"d":1.5,"inner":{"v":3},"n":{"v":9},"f":0}`},
		{"NaN as string", `{"f":"NaN"}`, `{"u":null,"d":1.5,"inner":{"v":3},"n":null,"f":"NaN"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := g.EncodeValue(ctx, "m", []byte(tt.in), true)
			if err != nil {
				t.Fatalf("EncodeValue(%s): %v", tt.in, err)
			}
			dec, err := g.DecodeValue(ctx, "m", enc)
			if err != nil {
				t.Fatalf("DecodeValue: %v", err)
			}
			if string(dec.JSON) != tt.out {
				t.Fatalf("got %s, want %s", dec.JSON, tt.out)
			}
		})
	}
}

func TestAvroReportsEveryFailingField(t *testing.T) {
	g := newGovernor(t, inlineAvro(map[string]string{"everything-value": everythingSchema}))
	tests := []struct {
		name  string
		patch map[string]string // field → replacement JSON ("" deletes)
		want  []FieldError
	}{
		{
			name:  "three bad fields",
			patch: map[string]string{"amount": `"12"`, "tags": `["a", 3]`, "customer": `{"email": "a@b.c"}`},
			want: []FieldError{
				{Path: "$.amount", Reason: "expected number, got string"},
				{Path: "$.tags[1]", Reason: "expected string, got number"},
				{Path: "$.customer.name", Reason: "required field missing"},
			},
		},
		{
			name:  "types, ranges, enums, unknown and missing fields",
			patch: map[string]string{"count": `3000000000`, "status": `"LOST"`, "id": "", "bogus": `1`, "price": `"1.234"`},
			want: []FieldError{
				{Path: "$.bogus", Reason: "unknown field (record test.Everything has no such field)"},
				{Path: "$.id", Reason: "required field missing"},
				{Path: "$.count", Reason: "3000000000 is out of range for int"},
				{Path: "$.price", Reason: "1.234 has more than 2 fractional digits"},
				{Path: "$.status", Reason: `"LOST" is not a symbol of enum test.Status [NEW PAID SHIPPED]`},
			},
		},
		{
			name:  "union without matching branch",
			patch: map[string]string{"choice": `true`, "note": `5`, "uid": `"nope"`, "hash": `"AQI="`},
			want: []FieldError{
				{Path: "$.uid", Reason: `expected a UUID string like 123e4567-e89b-12d3-a456-426614174000, got "nope"`},
				{Path: "$.hash", Reason: "expected 4 bytes for fixed test.Hash, got 2"},
				{Path: "$.note", Reason: "expected null or string, got number"},
				{Path: "$.choice", Reason: "expected null, long, double or string, got boolean"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]json.RawMessage
			if err := json.Unmarshal([]byte(everythingJSON), &doc); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.patch {
				if v == "" {
					delete(doc, k)
				} else {
					doc[k] = json.RawMessage(v)
				}
			}
			// Keep the schema's field order so details come out in a known order.
			in := orderedJSON(t, doc)
			_, err := g.EncodeValue(context.Background(), "everything", in, true)
			var ve *ViolationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ViolationError", err)
			}
			if ve.Subject != "everything-value" {
				t.Errorf("Subject = %q", ve.Subject)
			}
			if !reflect.DeepEqual(ve.Details, tt.want) {
				t.Fatalf("details\n got %#v\nwant %#v", ve.Details, tt.want)
			}
		})
	}
}

// orderedJSON writes doc's members in everythingSchema's field order, then
// unknown members.
func orderedJSON(t *testing.T, doc map[string]json.RawMessage) []byte {
	t.Helper()
	order := []string{"bogus", "id", "flag", "count", "big", "ratio", "amount", "raw", "ts", "ts_micros", "day", "tod",
		"price", "fixed_price", "uid", "status", "hash", "tags", "attrs", "note", "customer", "choice", "currency", "nothing"}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, k := range order {
		v, ok := doc[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func TestAvroRejectsBadJSON(t *testing.T) {
	g := newGovernor(t, inlineAvro(map[string]string{"everything-value": everythingSchema}))
	for _, in := range []string{``, `{`, `{"a":1,}`, `[1 2]`, `{"a":"\x01"}`, `{} {}`, `"\ud800"x`, `nul`} {
		_, err := g.EncodeValue(context.Background(), "everything", []byte(in), true)
		var ve *ViolationError
		if !errors.As(err, &ve) || len(ve.Details) != 1 || ve.Details[0].Path != "$" {
			t.Errorf("EncodeValue(%q) = %v, want a ViolationError at $", in, err)
		}
	}
}

func TestJSONParserStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"esc\"\\\/\b\f\n\r\t"`, "esc\"\\/\b\f\n\r\t"},
		{`"\u00e9\ud83d\ude00"`, "é😀"},
		{`"lone \ud800 surrogate"`, "lone \uFFFD surrogate"},
		{`"ünïcödé"`, "ünïcödé"},
	}
	for _, tt := range tests {
		var p jparser
		v, err := p.parse([]byte(tt.in))
		if err != nil || v.kind != jString || v.s != tt.want {
			t.Errorf("parse(%s) = %q, %v; want %q", tt.in, v.s, err, tt.want)
		}
	}
}

func TestDecimalTwosComplement(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, -32768, -32769, 1 << 40, -(1 << 40)} {
		b := twosComplement(big.NewInt(v))
		// Decode with the decoder and compare.
		got := appendDecimal(nil, b, 0)
		if want := `"` + big.NewInt(v).String() + `"`; string(got) != want {
			t.Errorf("%d: bytes %x decode to %s", v, b, got)
		}
		// Minimal: dropping the first byte must change the value.
		if len(b) > 1 {
			if string(appendDecimal(nil, b[1:], 0)) == string(got) {
				t.Errorf("%d: %x is not minimal", v, b)
			}
		}
	}
}

func TestAvroMissingNullableFieldIsNull(t *testing.T) {
	g := newGovernor(t, inlineAvro(map[string]string{"everything-value": everythingSchema}))
	in := strings.Replace(everythingJSON, `"note": "x",`, ``, 1)
	out, err := g.EncodeValue(context.Background(), "everything", []byte(in), true)
	if err != nil {
		t.Fatalf("EncodeValue: %v", err)
	}
	d, err := g.DecodeValue(context.Background(), "everything", out)
	if err != nil || !strings.Contains(string(d.JSON), `"note":null`) {
		t.Fatalf("DecodeValue = %s, %v", d.JSON, err)
	}
}
