package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// demoSchemaDir holds the demo schemas the tests copy into their catalogs.
const demoSchemaDir = "../../compose/schemas"

// orderValid is a valid Order (compose/schemas/orders-value.avsc) in
// natural JSON; the fields it leaves out have defaults.
const orderValid = `{"id":"o-1","amount":12.5,"created_at":1732000000000,"quantity":2,"customer":{"name":"Ann"},"note":"gift"}`

// orderDecoded is orderValid as a subscriber gets it back: every field,
// in schema order, defaults filled in, unions as their plain value.
const orderDecoded = `{"id":"o-1","amount":12.5,"currency":"EUR","created_at":1732000000000,"status":"NEW","quantity":2,"tags":[],"attributes":{},"note":"gift","customer":{"name":"Ann","email":null}}`

// avroOrder is the Go shape of the Order record for hamba/avro.
type avroOrder struct {
	ID         string            `avro:"id"`
	Amount     float64           `avro:"amount"`
	Currency   string            `avro:"currency"`
	CreatedAt  time.Time         `avro:"created_at"`
	Status     string            `avro:"status"`
	Quantity   int64             `avro:"quantity"`
	Tags       []string          `avro:"tags"`
	Attributes map[string]string `avro:"attributes"`
	Note       *string           `avro:"note"`
	Customer   avroCustomer      `avro:"customer"`
}

type avroCustomer struct {
	Name  string  `avro:"name"`
	Email *string `avro:"email"`
}

// readDemoSchema returns the text of a file of compose/schemas.
func readDemoSchema(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(demoSchemaDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// localSchemaID derives the ID of a filesystem or inline schema the way
// docs/schemas.md specifies it, independently of the registry package:
// canonical JSON (sorted keys, numbers as written, no whitespace, Go
// escaping), SHA-256, first four bytes big-endian with the top bit cleared,
// 0 becoming 1.
func localSchemaID(t testing.TB, text []byte) uint32 {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	canonical, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canonical)
	id := binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff
	if id == 0 {
		id = 1
	}
	return id
}

// frameValue prepends the Confluent wire-format header to payload.
func frameValue(id uint32, payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(out[1:], id)
	return append(out, payload...)
}

// unframe splits a Confluent-framed value, failing the test unless it is
// one.
func unframe(t testing.TB, value []byte) (uint32, []byte) {
	t.Helper()
	if len(value) < 5 || value[0] != 0 {
		t.Fatalf("value is not Confluent-framed (magic byte 0, 4-byte ID): % x", value[:min(len(value), 16)])
	}
	return binary.BigEndian.Uint32(value[1:5]), value[5:]
}

// assertJSONEqual fails unless got and want are the same JSON value.
func assertJSONEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want: %v", what, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// schemaFieldError is one entry of a schema_violation's details.
type schemaFieldError struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// publishValue sends a publish of the JSON value and returns the reply.
func publishValue(c *wsClient, id, topic, key, value string) frame {
	c.t.Helper()
	op := map[string]any{"op": "publish", "id": id, "topic": topic, "value": json.RawMessage(value)}
	if key != "" {
		op["key"] = key
	}
	c.send(op)
	return c.waitReply(id)
}

// requireViolation checks that f is a schema_violation whose details name
// at least every path of wantPaths, and returns the details.
func requireViolation(t testing.TB, f frame, wantPaths ...string) []schemaFieldError {
	t.Helper()
	if f.Op != "error" || f.Code != "schema_violation" {
		t.Fatalf("got %v, want a schema_violation error", f)
	}
	var details []schemaFieldError
	if err := json.Unmarshal(f.Details, &details); err != nil {
		t.Fatalf("details %s: %v", f.Details, err)
	}
	var paths []string
	for _, d := range details {
		if d.Reason == "" {
			t.Errorf("detail %+v has no reason", d)
		}
		paths = append(paths, d.Path)
	}
	if len(details) < len(wantPaths) {
		t.Errorf("%d details %v, want at least %d", len(details), details, len(wantPaths))
	}
	for _, p := range wantPaths {
		if !slices.Contains(paths, p) {
			t.Errorf("details %+v do not name %s", details, p)
		}
	}
	return details
}

// rawFrames dials url without the frame-typed client, so that fields the
// shared frame type does not carry (schema_id) can be checked.
type rawFrames struct {
	t    testing.TB
	conn *websocket.Conn
}

func dialRaw(t testing.TB, url string) *rawFrames {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: dialTimeout}
	conn, _, err := d.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dialling %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawFrames{t: t, conn: conn}
}

func (r *rawFrames) send(v any) {
	r.t.Helper()
	_ = r.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := r.conn.WriteJSON(v); err != nil {
		r.t.Fatal(err)
	}
}

// next reads frames until one has op, and returns it with every field.
func (r *rawFrames) next(op string) map[string]json.RawMessage {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		var f map[string]json.RawMessage
		if err := r.conn.ReadJSON(&f); err != nil {
			r.t.Fatalf("waiting for %s: %v", op, err)
		}
		if string(f["op"]) == `"`+op+`"` {
			return f
		}
		if string(f["op"]) == `"error"` {
			r.t.Fatalf("waiting for %s: got error frame %v", op, f)
		}
	}
}

// TestSchemaFilesystem governs topics with a filesystem catalog holding
// the demo schemas and checks, against the real broker, what lands in
// Kafka, what is refused, and what subscribers get back.
func TestSchemaFilesystem(t *testing.T) {
	orderText := readDemoSchema(t, "orders-value.avsc")
	chatText := readDemoSchema(t, "chat.lobby-value.json")
	orderID := localSchemaID(t, orderText)
	chatID := localSchemaID(t, chatText)
	orderSchema := avro.MustParse(string(orderText))

	// A topic governed by subject naming alone: its file is <topic>-value.avsc.
	zeroTopic := uniqueTopic(t, "zero")

	dir := t.TempDir()
	for name, text := range map[string][]byte{
		"orders-value.avsc":         orderText,
		"chat.lobby-value.json":     chatText,
		zeroTopic + "-value.avsc":   orderText,
		"ignored-because-it.txt":    []byte("not a schema"),
		".hidden-orders-value.avsc": []byte("{"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startSluice(t, fmt.Sprintf(`
auth: {mode: none}
log: {format: json, level: info}
kafka: {auto_create_topics: false}
registry:
  dir: %q
  poll_interval: -1s
  rules:
    - {topic: "it.*.orders.*", subject: orders-value}
    - {topic: "it.*.chat.*", subject: chat.lobby-value}
`, dir))

	t.Run("valid publish is framed Avro", func(t *testing.T) {
		topic := uniqueTopic(t, "orders")
		createTopic(t, topic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		if f := publishValue(c, "p1", topic, "o-1", orderValid); f.Op != "published" {
			t.Fatalf("publish: %v", f)
		}

		// franz-go reads the exact bytes; kcat, a third-party client,
		// reads the same.
		recs := readRange(t, topic, 0, 0, 1)
		raw := recs[0].Value
		if string(recs[0].Key) != "o-1" {
			t.Errorf("key %q, want o-1 (an ungoverned key is written as is)", recs[0].Key)
		}
		if out := runKcat(t, "", "-C", "-t", topic, "-o", "beginning", "-c", "1", "-e", "-f", "%s"); out != string(raw) {
			t.Errorf("kcat read % x, franz-go read % x", out, raw)
		}

		id, payload := unframe(t, raw)
		if id != orderID {
			t.Errorf("schema ID %d, want %d (derived from the schema text as docs/schemas.md says)", id, orderID)
		}
		var got avroOrder
		if err := avro.Unmarshal(orderSchema, payload, &got); err != nil {
			t.Fatalf("hamba/avro cannot decode the payload: %v", err)
		}
		want := avroOrder{
			ID: "o-1", Amount: 12.5, Currency: "EUR", CreatedAt: time.UnixMilli(1732000000000).UTC(),
			Status: "NEW", Quantity: 2, Tags: []string{}, Attributes: map[string]string{},
			Note: new("gift"), Customer: avroCustomer{Name: "Ann"},
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("decoded Avro\n got %s\nwant %s", gotJSON, wantJSON)
		}

		// A subscriber gets it back as natural JSON.
		c.subscribe("s1", topic, "earliest")
		m := c.waitMessages(topic, 1)[0]
		if m.ValueB64 != nil {
			t.Fatalf("subscriber got value_b64 %s, want decoded JSON", *m.ValueB64)
		}
		assertJSONEqual(t, "subscriber's value", m.Value, []byte(orderDecoded))
	})

	t.Run("invalid publish lists every field and writes nothing", func(t *testing.T) {
		topic := uniqueTopic(t, "orders")
		createTopic(t, topic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		bad := `{"id":5,"amount":"lots","created_at":1732000000000,"quantity":2.5,"customer":{},"colour":"red"}`
		f := publishValue(c, "bad", topic, "", bad)
		requireViolation(t, f, "$.id", "$.amount", "$.quantity", "$.customer.name", "$.colour")
		if f.Topic != topic {
			t.Errorf("error names topic %q, want %q", f.Topic, topic)
		}
		// Not JSON of the right shape at all: a violation too.
		requireViolation(t, publishValue(c, "str", topic, "", `"just a string"`))
		c.ping("open")
		if got := endOffsets(t, topic)[0]; got != 0 {
			t.Errorf("refused publishes wrote %d records", got)
		}
	})

	t.Run("kcat framed Avro reaches a WebSocket decoded", func(t *testing.T) {
		topic := uniqueTopic(t, "orders")
		createTopic(t, topic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		c.subscribe("s", topic, "latest")

		rec := avroOrder{
			ID: "o-kcat", Amount: 99.25, Currency: "USD", CreatedAt: time.UnixMilli(1700000000123),
			Status: "SHIPPED", Quantity: 7, Tags: []string{"a", "b"}, Attributes: map[string]string{"gift": "yes"},
			Customer: avroCustomer{Name: "Bo", Email: new("bo@example.com")},
		}
		payload, err := avro.Marshal(orderSchema, rec)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "order.bin")
		if err := os.WriteFile(file, frameValue(orderID, payload), 0o644); err != nil {
			t.Fatal(err)
		}
		// Without -l, kcat sends each file as one message, bytes unchanged.
		runKcat(t, "", "-P", "-t", topic, "-k", "o-kcat", file)

		m := c.waitMessages(topic, 1)[0]
		if m.ValueB64 != nil {
			t.Fatalf("got value_b64 %s, want decoded JSON", *m.ValueB64)
		}
		assertJSONEqual(t, "decoded value", m.Value, []byte(`{"id":"o-kcat","amount":99.25,"currency":"USD","created_at":1700000000123,"status":"SHIPPED","quantity":7,"tags":["a","b"],"attributes":{"gift":"yes"},"note":null,"customer":{"name":"Bo","email":"bo@example.com"}}`))
		if m.Key == nil || *m.Key != "o-kcat" {
			t.Errorf("key %v, want o-kcat", m.Key)
		}
	})

	t.Run("unknown schema ID arrives as value_b64 with schema_id", func(t *testing.T) {
		topic := uniqueTopic(t, "orders")
		createTopic(t, topic, 1)
		r := dialRaw(t, p.wsURL("/v1/ws"))
		r.send(map[string]any{"op": "subscribe", "id": "s", "topic": topic})
		r.next("subscribed")

		unknownID := orderID ^ 0x5a5a5a
		undecodable := frameValue(unknownID, []byte{0x02, 'x', 0x7f})
		payload, err := avro.Marshal(orderSchema, avroOrder{ID: "after", Status: "PAID", Customer: avroCustomer{Name: "C"}, CreatedAt: time.UnixMilli(0)})
		if err != nil {
			t.Fatal(err)
		}
		produceSync(t,
			&kgo.Record{Topic: topic, Value: undecodable},
			&kgo.Record{Topic: topic, Value: frameValue(orderID, payload)})

		m := r.next("message")
		var b64 string
		var schemaID uint32
		if err := json.Unmarshal(m["value_b64"], &b64); err != nil {
			t.Fatalf("message %v has no value_b64: %v", m, err)
		}
		if got, _ := base64.StdEncoding.DecodeString(b64); !bytes.Equal(got, undecodable) {
			t.Errorf("value_b64 is % x, want the record's bytes % x", got, undecodable)
		}
		if err := json.Unmarshal(m["schema_id"], &schemaID); err != nil || schemaID != unknownID {
			t.Errorf("schema_id %s, want %d", m["schema_id"], unknownID)
		}
		if _, ok := m["value"]; ok {
			t.Errorf("message carries both value and value_b64: %v", m)
		}
		// The next record, decodable, follows it.
		m = r.next("message")
		var next struct{ ID string }
		if err := json.Unmarshal(m["value"], &next); err != nil || next.ID != "after" {
			t.Errorf("record after the undecodable one: %v", m)
		}
	})

	t.Run("raw bytes to a governed topic", func(t *testing.T) {
		topic := uniqueTopic(t, "orders")
		createTopic(t, topic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		payload, err := avro.Marshal(orderSchema, avroOrder{ID: "raw", Status: "PAID", CreatedAt: time.UnixMilli(5), Customer: avroCustomer{Name: "R"}})
		if err != nil {
			t.Fatal(err)
		}
		framed := frameValue(orderID, payload)
		cases := []struct {
			name  string
			value []byte
			ok    bool
		}{
			{"unframed bytes", []byte("plain bytes"), false},
			{"unknown schema ID", frameValue(orderID^1, payload), false},
			{"truncated payload", framed[:len(framed)-3], false},
			{"framed with the subject's ID", framed, true},
		}
		for i, tc := range cases {
			id := fmt.Sprint("b", i)
			c.send(map[string]any{"op": "publish", "id": id, "topic": topic, "value_b64": base64.StdEncoding.EncodeToString(tc.value)})
			f := c.waitReply(id)
			switch {
			case tc.ok && f.Op != "published":
				t.Errorf("%s: %v, want published", tc.name, f)
			case !tc.ok && (f.Op != "error" || f.Code != "schema_violation"):
				t.Errorf("%s: %v, want schema_violation", tc.name, f)
			}
		}
		recs := readRange(t, topic, 0, 0, 1)
		if !bytes.Equal(recs[0].Value, framed) {
			t.Errorf("written % x, want the framed bytes unchanged % x", recs[0].Value, framed)
		}
		if got := endOffsets(t, topic)[0]; got != 1 {
			t.Errorf("topic holds %d records, want 1", got)
		}
	})

	t.Run("JSON Schema topic", func(t *testing.T) {
		topic := uniqueTopic(t, "chat")
		createTopic(t, topic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		const msg = `{"user":"ann","text":"hello"}`
		if f := publishValue(c, "ok", topic, "", msg); f.Op != "published" {
			t.Fatalf("valid publish: %v", f)
		}
		f := publishValue(c, "bad", topic, "", `{"user":"","text":5,"extra":true}`)
		requireViolation(t, f, "$.user", "$.text", "$")
		requireViolation(t, publishValue(c, "missing", topic, "", `{"user":"ann"}`), "$")

		if got := endOffsets(t, topic)[0]; got != 1 {
			t.Fatalf("topic holds %d records, want only the valid one", got)
		}
		raw := readRange(t, topic, 0, 0, 1)[0].Value
		id, payload := unframe(t, raw)
		if id != chatID {
			t.Errorf("schema ID %d, want %d", id, chatID)
		}
		if string(payload) != msg {
			t.Errorf("payload %q, want the document unchanged %q", payload, msg)
		}
		c.subscribe("s", topic, "earliest")
		assertJSONEqual(t, "subscriber's value", c.waitMessages(topic, 1)[0].Value, []byte(msg))
	})

	t.Run("subject named after the topic", func(t *testing.T) {
		createTopic(t, zeroTopic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		if f := publishValue(c, "ok", zeroTopic, "", orderValid); f.Op != "published" {
			t.Fatalf("publish: %v", f)
		}
		requireViolation(t, publishValue(c, "bad", zeroTopic, "", `{"id":"o-2"}`), "$.amount", "$.created_at", "$.quantity", "$.customer")
		if id, _ := unframe(t, readRange(t, zeroTopic, 0, 0, 1)[0].Value); id != orderID {
			t.Errorf("schema ID %d, want %d", id, orderID)
		}
	})

	t.Run("ungoverned topic passes through", func(t *testing.T) {
		topic := uniqueTopic(t, "free")
		createTopic(t, topic, 1)
		c := dial(t, p.wsURL("/v1/ws"))
		if f := publishValue(c, "ok", topic, "", `{"anything":true}`); f.Op != "published" {
			t.Fatalf("publish: %v", f)
		}
		if v := readRange(t, topic, 0, 0, 1)[0].Value; string(v) != `{"anything":true}` {
			t.Errorf("value %q, want the JSON unchanged", v)
		}
	})
}

// fakeRegistry serves franz-go's srfake on a real loopback listener until
// the test ends.
func fakeRegistry(t *testing.T) (*srfake.Registry, string) {
	t.Helper()
	reg := srfake.NewRegistry()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("stopping the fake registry: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("fake registry: %v", err)
		}
	})
	return reg, "http://" + ln.Addr().String()
}

// orderV2 is the Order schema evolved compatibly: a new field with a
// default.
func orderV2(t testing.TB, v1 []byte) string {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(v1, &s); err != nil {
		t.Fatal(err)
	}
	s["fields"] = append(s["fields"].([]any), map[string]any{"name": "priority", "type": "string", "default": "normal"})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSchemaRegistryHTTP governs a topic through a Confluent-compatible
// registry over HTTP (srfake), evolves its subject, and reads both versions
// back decoded.
func TestSchemaRegistryHTTP(t *testing.T) {
	reg, url := fakeRegistry(t)
	topic := uniqueTopic(t, "orders")
	pinned := uniqueTopic(t, "pinned")
	subject := topic + "-value"
	v1 := readDemoSchema(t, "orders-value.avsc")
	id1, _, err := reg.RegisterSchema(subject, sr.Schema{Schema: string(v1), Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, topic, 1)
	createTopic(t, pinned, 1)
	p := startSluice(t, fmt.Sprintf(`
auth: {mode: none}
log: {format: json, level: info}
kafka: {auto_create_topics: false}
registry:
  url: %q
  max_age: 300ms
  rules:
    - {topic: %q, subject: %q, version: "1"}
`, url, pinned, subject))
	c := dial(t, p.wsURL("/v1/ws"))

	if f := publishValue(c, "v1", topic, "", orderValid); f.Op != "published" {
		t.Fatalf("valid publish: %v", f)
	}
	requireViolation(t, publishValue(c, "bad", topic, "", `{"id":"o-x","amount":"free","created_at":"yesterday","quantity":1,"customer":{"name":"A"}}`),
		"$.amount", "$.created_at")
	if got := endOffsets(t, topic)[0]; got != 1 {
		t.Fatalf("topic holds %d records, want 1", got)
	}

	// Evolve the subject: v2 adds a field with a default.
	id2, version, err := reg.RegisterSchema(subject, sr.Schema{Schema: orderV2(t, v1), Type: sr.TypeAvro})
	if err != nil {
		t.Fatal(err)
	}
	if version != 2 || id2 == id1 {
		t.Fatalf("registered v%d with ID %d (v1 had %d), want version 2 with a new ID", version, id2, id1)
	}
	// v2 takes effect within about max_age: until then the new field is
	// refused as unknown, and nothing is written.
	withPriority := strings.Replace(orderValid, `"id":"o-1"`, `"id":"o-2","priority":"high"`, 1)
	attempt := 0
	eventually(t, 10*time.Second, func() (bool, string) {
		attempt++
		f := publishValue(c, fmt.Sprint("v2-", attempt), topic, "", withPriority)
		return f.Op == "published", fmt.Sprintf("publish with the v2 field: %v", f)
	})

	recs := readRange(t, topic, 0, 0, 2)
	if got := endOffsets(t, topic)[0]; got != 2 {
		t.Errorf("topic holds %d records, want 2", got)
	}
	if id, _ := unframe(t, recs[0].Value); int(id) != id1 {
		t.Errorf("first record framed with ID %d, want v1's %d", id, id1)
	}
	if id, _ := unframe(t, recs[1].Value); int(id) != id2 {
		t.Errorf("second record framed with ID %d, want v2's %d", id, id2)
	}

	sub := dial(t, p.wsURL("/v1/ws"))
	sub.subscribe("s", topic, "earliest")
	ms := sub.waitMessages(topic, 2)
	assertJSONEqual(t, "v1 record", ms[0].Value, []byte(orderDecoded))
	assertJSONEqual(t, "v2 record", ms[1].Value,
		[]byte(strings.Replace(strings.Replace(orderDecoded, `"o-1"`, `"o-2"`, 1), `"email":null}`, `"email":null},"priority":"high"`, 1)))

	// A rule pinning version 1 keeps v1 after v2 exists: the new field is
	// unknown, and raw bytes framed with v2's ID are refused.
	if f := publishValue(c, "pin-ok", pinned, "", orderValid); f.Op != "published" {
		t.Fatalf("publish to the pinned topic: %v", f)
	}
	requireViolation(t, publishValue(c, "pin-v2", pinned, "", withPriority), "$.priority")
	for i, rec := range recs {
		id := fmt.Sprint("pin-raw", i)
		c.send(map[string]any{"op": "publish", "id": id, "topic": pinned, "value_b64": base64.StdEncoding.EncodeToString(rec.Value)})
		f := c.waitReply(id)
		if want := []string{"published", "schema_violation"}[i]; f.Op != want && f.Code != want {
			t.Errorf("raw record framed with v%d's ID to the pinned topic: %v, want %s", i+1, f, want)
		}
	}
	if got := endOffsets(t, pinned)[0]; got != 2 {
		t.Errorf("pinned topic holds %d records, want 2", got)
	}
	for _, rec := range readRange(t, pinned, 0, 0, 2) {
		if id, _ := unframe(t, rec.Value); int(id) != id1 {
			t.Errorf("pinned topic record framed with ID %d, want v1's %d", id, id1)
		}
	}
}
