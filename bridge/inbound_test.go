package bridge

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var inboundSeeds = []string{
	// Values the parser only delimits (skimValue): escaped quotes, runs of
	// backslashes, brackets inside strings, mismatched brackets.
	`{"op":"publish","topic":"t","value":"a\\\"b\\\\"}`,
	`{"op":"publish","topic":"t","value":{"a":"}\"]","b":[{"c":"\\"}]},"id":"x"}`,
	`{"op":"publish","topic":"t","value":{"a":[1}],"id":"x"}`,
	`{"op":"publish","topic":"t","value":{"a":"\q"}}`,
	`{"op":"ping","value":[1,}`,
	`{"op":"publish","id":"42","topic":"orders","key":"o-1","value":{"id":"o-1","amount":12.5,"tags":["a","b"],"n":null,"ok":true},"headers":{"source":"web"}}`,
	`{"op":"subscribe","id":"1","topic":"orders","from":{"offsets":{"0":4}},"on_gap":"earliest","filter":{"keys":["a"],"headers":{"x":"y"}}}`,
	`{"op":"publish","topic":"t","value_b64":"AAE=","key_b64":"AA=="}`,
	`{"op":"ack","topic":"t","partition":3,"offset":99}`,
	`{"op":"auth","token":"a.b.c","id":"\u0041\n"}`,
	` { "op" : "ping" , "id" : "x" } `,
	`{"op":"publish","value":"h\u00e9llo \"q\" \\ \/","topic":"a"}`,
	`{"op":"publish","value":-0.5e+10,"topic":"a"}`,
	`{"op":"publish","value":[],"topic":"a","value":{}}`,
	`{"op":null,"id":null,"key":null,"from":null}`,
	`{}`,
	`{"op":"publish","value":{"a":[1,2,{"b":[true,false,null]}]}}`,
	`{"unknown":{"deep":[1,2,3]},"op":"ping"}`,
	`{"op":1}`, `{"op":"x",}`, `{"op":"x"} extra`, `[1]`, `{"value":01}`, `{"value":1.}`, `{"value":"\x"}`,
	`{"value":tru}`, `{"value":"unterminated}`, `{"value":"a` + "\x01" + `"}`, `{"value":"` + "\xff" + `"}`, `{"id":"a"`, ``, `{"value":[1,2}`,
	`{"partition":"x"}`, `{"headers":[1]}`,
	`{"op":"publish","topic":"t","records":[{"key":"a","value":{"n":1}},{"value_b64":"AA==","headers":{"h":"v"}},{"value":null,"extra":1}]}`,
	`{"op":"publish","records":[]}`, `{"records":null}`, `{"records":{}}`, `{"records":[1]}`, `{"records":[{"value":}]}`,
}

// TestParseInboundMatchesEncodingJSON checks the hand-written parser
// against encoding/json: same verdict, same fields.
func TestParseInboundMatchesEncodingJSON(t *testing.T) {
	for _, seed := range inboundSeeds {
		checkInboundAgainstStdlib(t, []byte(seed))
	}
}

func FuzzParseInbound(f *testing.F) {
	for _, s := range inboundSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkInboundAgainstStdlib(t, data)
	})
}

// inboundKeys are the protocol's field names, matched exactly.
var inboundKeys = []string{"op", "id", "topic", "from", "on_gap", "key", "key_b64", "value", "value_b64", "headers", "token", "filter", "group", "partition", "offset", "records"}

// caseVariant reports whether data has a top-level key that differs from
// a protocol field only in case: encoding/json folds case, the protocol
// (and the hand parser) does not.
func caseVariant(data []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	for k, v := range m {
		for _, known := range inboundKeys {
			if k != known && strings.EqualFold(k, known) {
				return true
			}
		}
		if k == "records" {
			var recs []json.RawMessage
			if json.Unmarshal(v, &recs) == nil {
				for _, r := range recs {
					if caseVariant(r) {
						return true
					}
				}
			}
		}
	}
	return false
}

func checkInboundAgainstStdlib(t *testing.T, data []byte) {
	t.Helper()
	if caseVariant(data) {
		return
	}
	var got inbound
	gotErr := parseInbound(data, &got)
	if gotErr == nil && got.valueUnchecked {
		// The value's check is deferred (to the publish, or at once for
		// other ops), never skipped: parsing plus checkValue must accept
		// what encoding/json accepts.
		gotErr = checkValue(got.Value)
	}
	var want inbound
	wantErr := json.Unmarshal(data, &want)
	if (gotErr == nil) != (wantErr == nil) {
		// encoding/json accepts invalid UTF-8 in strings (replacing it);
		// the hand parser refuses it, which is stricter and fine.
		if gotErr != nil && wantErr == nil && !json.Valid(data) {
			return
		}
		if gotErr != nil && wantErr == nil && !validUTF8Strings(data) {
			return
		}
		// A top-level null decodes to nothing with encoding/json ("no op");
		// the hand parser wants an object. Both end in bad_request.
		if gotErr != nil && wantErr == nil && reflect.DeepEqual(want, inbound{}) {
			return
		}
		t.Fatalf("%q: parseInbound err %v, encoding/json err %v", data, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if got.Value != nil && !json.Valid(got.Value) {
		t.Fatalf("%q: value %q accepted but not valid JSON", data, got.Value)
	}
	// encoding/json keeps "null" for a RawMessage; compare normalized.
	if string(want.Value) == "null" && got.Value != nil && string(got.Value) == "null" {
		want.Value, got.Value = nil, nil
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("%q:\n got %+v\nwant %+v", data, normalize(got), normalize(want))
	}
}

func validUTF8Strings(data []byte) bool {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	p := jsonScanner{data: data}
	p.ws()
	return p.skip(0) == nil
}

// normalize makes raw JSON fields comparable (compact form).
func normalize(in inbound) inbound {
	compact := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		var out []byte
		var v any
		if json.Unmarshal(b, &v) == nil {
			out, _ = json.Marshal(v)
		}
		return out
	}
	in.Value = compact(in.Value)
	in.valueUnchecked, in.knownTopic = false, ""
	if string(in.From) == "null" {
		in.From = nil // both mean "latest" to parseFrom
	}
	in.From = compact(in.From)
	return in
}

func BenchmarkParseInbound(b *testing.B) {
	data := []byte(`{"op":"publish","id":"42","topic":"orders","key":"o-1","value":{"id":"o-1","amount":12.5,"currency":"EUR","quantity":2,"customer":{"name":"Ann","email":null},"tags":["a","b","c"],"note":"a longer note to make the value about as big as a real one"},"headers":{"source":"web"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var in inbound
		if err := parseInbound(data, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePublish1KiB parses the publish frame sluice-bench sends: a
// 1 KiB JSON value, mostly one long string.
func BenchmarkParsePublish1KiB(b *testing.B) {
	data := publishFrame1KiB()
	for _, bc := range []struct {
		name  string
		check bool
	}{{"governed", false}, {"ungoverned", true}} {
		// A governed (Avro) publish leaves checking the value to the
		// encoder; an ungoverned one checks it after parsing.
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var in inbound
				if err := parseInbound(data, &in); err != nil {
					b.Fatal(err)
				}
				if bc.check {
					if err := checkValue(in.Value); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// publishFrame1KiB is the publish frame sluice-bench sends.
func publishFrame1KiB() []byte {
	return []byte(`{"op":"publish","id":"1764450000123456789","topic":"sluice-bench-publish","value":{"pad":"` + strings.Repeat("x", 1014) + `"}}`)
}

// TestParsePublishAllocationBudget holds parsing a publish frame to its
// budget: the id and topic strings, and only the id when the topic is the
// one the socket named last (the session passes it as knownTopic); the
// value stays a sub-slice of the frame and the parsed frame lives on the
// stack.
func TestParsePublishAllocationBudget(t *testing.T) {
	data := publishFrame1KiB()
	for _, tc := range []struct {
		name, knownTopic string
		budget           float64
	}{
		{"first publish", "", 2},
		{"other topic than the last", "sluice-bench-other", 2},
		{"same topic as the last", "sluice-bench-publish", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := testing.AllocsPerRun(200, func() {
				in := inbound{knownTopic: tc.knownTopic}
				if err := parseInbound(data, &in); err != nil {
					t.Fatal(err)
				}
				if in.Topic != "sluice-bench-publish" {
					t.Fatalf("topic %q", in.Topic)
				}
			})
			if n > tc.budget {
				t.Fatalf("parsing a publish allocates %.1f times, budget %g", n, tc.budget)
			}
		})
	}
}

// TestKnownTopicOnlyForUnescapedEqualStrings checks that the parser takes
// the known topic only for the same string written without escapes: an
// escaped string whose raw bytes equal the known topic decodes to
// something else.
func TestKnownTopicOnlyForUnescapedEqualStrings(t *testing.T) {
	for _, tc := range []struct {
		frame, known, want string
	}{
		{`{"op":"publish","topic":"orders","value":1}`, "orders", "orders"},
		{`{"op":"publish","topic":"orders","value":1}`, "order", "orders"},
		{`{"op":"publish","topic":"a\nb","value":1}`, `a\nb`, "a\nb"},
		{`{"op":"publish","topic":"a\u0041","value":1}`, `a\u0041`, "aA"},
	} {
		in := inbound{knownTopic: tc.known}
		if err := parseInbound([]byte(tc.frame), &in); err != nil {
			t.Fatal(err)
		}
		if in.Topic != tc.want {
			t.Errorf("%s with known topic %q: topic %q, want %q", tc.frame, tc.known, in.Topic, tc.want)
		}
	}
}
