package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/auth"
	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer collects the server's log lines from another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a `sluice serve` started in this process by run().
type running struct {
	addr  string
	kafka string
	logs  *syncBuffer
	// stop cancels the serve (as SIGTERM does) and checks it exits 0;
	// cleanup calls it too, so calling it first is allowed.
	stop func()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `sluice serve --config <yaml>` on the embedded broker and
// waits for /readyz. Cleanup cancels it (as SIGTERM does) and checks that
// it exits 0.
func startServe(t *testing.T, yaml string) *running {
	t.Helper()
	return startServeWith(t, yaml, false)
}

func startServeWith(t *testing.T, yaml string, isTLS bool) *running {
	t.Helper()
	return startServeOn(t, freePort(t), yaml, isTLS)
}

// startServeOn is startServeWith listening on addr.
func startServeOn(t *testing.T, addr, yaml string, isTLS bool) *running {
	t.Helper()
	dir := t.TempDir()
	kafkaAddr := freePort(t)
	cfgPath := filepath.Join(dir, "sluice.yaml")
	full := fmt.Sprintf("listen: %s\ndata_dir: %s\nembedded_kafka_listen: %s\n%s", addr, filepath.Join(dir, "data"), kafkaAddr, yaml)
	if err := os.WriteFile(cfgPath, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"serve", "--config", cfgPath}, logs, logs) }()
	stop := sync.OnceFunc(func() {
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("serve exited %d; logs:\n%s", code, logs)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("serve did not stop; logs:\n%s", logs)
		}
	})
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if isTLS {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
		} else if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d before ready; logs:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready; logs:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &running{addr: addr, kafka: kafkaAddr, logs: logs, stop: stop}
}

func dialWS(t *testing.T, url string, header http.Header) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = fmt.Sprintf(" (HTTP %d %s)", resp.StatusCode, b)
		}
		t.Fatalf("dial %s: %v%s", url, err, body)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func readOp(t *testing.T, c *websocket.Conn, op string) map[string]any {
	t.Helper()
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f map[string]any
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for %s: %v", op, err)
		}
		if f["op"] == op {
			return f
		}
	}
}

// readOps reads until it saw each op once, in any order.
func readOps(t *testing.T, c *websocket.Conn, ops ...string) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	for len(got) < len(ops) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f map[string]any
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for %v (have %v): %v", ops, got, err)
		}
		for _, op := range ops {
			if f["op"] == op && got[op] == nil {
				got[op] = f
			}
		}
	}
	return got
}

const validOrder = `{"id":"o-1","amount":12.5,"created_at":1732000000000,"quantity":2,"customer":{"name":"Ann"},"note":"gift"}`

func TestServeValidatesWithTheDevelopmentSchemas(t *testing.T) {
	r := startServe(t, "auth:\n  mode: none\nregistry:\n  dir: ../../compose/schemas\n")
	c := dialWS(t, "ws://"+r.addr+"/v1/ws", nil)
	c.WriteJSON(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	readOp(t, c, "subscribed")

	c.WriteJSON(map[string]any{"op": "publish", "id": "bad", "topic": "orders",
		"value": json.RawMessage(`{"id":7,"amount":"lots","customer":{}}`)})
	bad := readOp(t, c, "error")
	details, _ := bad["details"].([]any)
	if bad["code"] != "schema_violation" || len(details) < 3 {
		t.Fatalf("invalid publish answered %v, want schema_violation with every field", bad)
	}

	// A value that is not JSON at all: the Avro encoder refuses it (the
	// bridge leaves checking it to that encoder); JSON Schema reads JSON
	// leniently, so the bridge checks its topic's values itself.
	for _, tc := range []struct{ topic, value, code string }{
		{"orders", `{"id":"o-1","amount":1,}`, "schema_violation"},
		{"orders", "{\"id\":\"o-\xff\"}", "schema_violation"},
		{"chat.lobby", "{\"user\":\"a\",\"text\":\"caf\xe9\"}", "bad_request"},
	} {
		frame := `{"op":"publish","id":"notjson","topic":"` + tc.topic + `","value":` + tc.value + `}`
		if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		if e := readOp(t, c, "error"); e["code"] != tc.code || e["id"] != "notjson" {
			t.Fatalf("%s on %s answered %v, want %s", tc.value, tc.topic, e, tc.code)
		}
	}

	c.WriteJSON(map[string]any{"op": "publish", "id": "good", "topic": "orders", "key": "o-1", "value": json.RawMessage(validOrder)})
	got := readOps(t, c, "published", "message")
	ack, msg := got["published"], got["message"]
	if msg["offset"] != ack["offset"] {
		t.Fatalf("message %v does not match ack %v", msg, ack)
	}
	v, _ := msg["value"].(map[string]any)
	if v["id"] != "o-1" || v["note"] != "gift" || v["status"] != "NEW" || v["currency"] != "EUR" {
		t.Fatalf("decoded value = %v, want the order with defaults filled", v)
	}

	// Only the valid record reached Kafka, and it is Confluent-framed.
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.kafka), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fetches := cl.PollFetches(ctx)
	recs := fetches.Records()
	if len(recs) != 1 || recs[0].Value[0] != 0 {
		t.Fatalf("kafka holds %d records (first byte %v), want 1 framed record", len(recs), recs)
	}
}

func TestServeRequiresTokens(t *testing.T) {
	const secret = "test-secret-0123456789"
	r := startServe(t, "auth:\n  mode: jwt\n  jwt:\n    secret: "+secret+"\n")
	url := "ws://" + r.addr + "/v1/ws"

	// No token on a route-less upgrade: first-frame auth is possible, but a
	// bad token closes with 4401.
	c := dialWS(t, url, nil)
	c.WriteJSON(map[string]any{"op": "auth", "id": "1", "token": "not-a-jwt"})
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4401 {
		t.Fatalf("bad first-frame token: %v, want close 4401", err)
	}

	// A bad token on the upgrade is a 401 with a JSON body.
	_, resp, err := websocket.DefaultDialer.Dial(url+"?access_token=bogus", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bogus query token: %v %v, want 401", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"unauthorized"`) {
		t.Fatalf("401 body = %s", body)
	}

	tok, err := auth.MintHS256([]byte(secret), auth.MintClaims{Subject: "alice", Subscribe: []string{"orders.*"}, Publish: []string{"chat.*"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for name, dial := range map[string]func() *websocket.Conn{
		"header": func() *websocket.Conn { return dialWS(t, url, http.Header{"Authorization": {"Bearer " + tok}}) },
		"query":  func() *websocket.Conn { return dialWS(t, url+"?access_token="+tok, nil) },
		"first frame": func() *websocket.Conn {
			c := dialWS(t, url, nil)
			c.WriteJSON(map[string]any{"op": "auth", "id": "a", "token": tok})
			readOp(t, c, "authenticated")
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial()
			c.WriteJSON(map[string]any{"op": "subscribe", "id": "ok", "topic": "orders.eu"})
			if f := readOp(t, c, "subscribed"); f["topic"] != "orders.eu" {
				t.Fatalf("subscribed = %v", f)
			}
			c.WriteJSON(map[string]any{"op": "subscribe", "id": "no", "topic": "payments"})
			if f := readOp(t, c, "error"); f["code"] != "forbidden" {
				t.Fatalf("ungranted subscribe = %v", f)
			}
			c.WriteJSON(map[string]any{"op": "publish", "id": "no", "topic": "orders.eu", "value": 1})
			if f := readOp(t, c, "error"); f["code"] != "forbidden" {
				t.Fatalf("ungranted publish = %v", f)
			}
			c.WriteJSON(map[string]any{"op": "publish", "id": "ok", "topic": "chat.lobby", "value": 1})
			readOp(t, c, "published")
		})
	}
	if strings.Contains(r.logs.String(), tok) {
		t.Fatal("a token appears in the logs")
	}
}

func TestEnvOverridesFileAndFlagsOverrideEnv(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:1111\nkafka:\n  brokers: [file:9092]\n  linger: 5ms\nauth:\n  mode: none\n"), 0o600)
	env := map[string]string{"SLUICE_LISTEN": "127.0.0.1:2222", "SLUICE_KAFKA_BROKERS": "env1:9092,env2:9092", "SLUICE_KAFKA_LINGER": "7ms"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cf := configFlags{config: path}
	cfg, _, err := cf.load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:2222" || strings.Join(cfg.Bridge.Kafka.Brokers, ",") != "env1:9092,env2:9092" || cfg.Bridge.Kafka.Linger != 7*time.Millisecond {
		t.Fatalf("env did not override the file: %+v", cfg)
	}
	cf = configFlags{config: path, listen: "127.0.0.1:3333", brokers: "flag:9092"}
	cfg, _, err = cf.load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:3333" || cfg.Bridge.Kafka.Brokers[0] != "flag:9092" {
		t.Fatalf("flags did not override env: %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want, hint string
	}{
		{"unknown key", "listen: 127.0.0.1:1\nauth: {mode: none}\nlistne: x\n", "c.yaml:3: field listne not found", "unknown key"},
		{"wrong type", "auth: {mode: none}\nmax_subscriptions: lots\n", "c.yaml:2: cannot unmarshal", "takes a number"},
		{"bad duration", "auth: {mode: none}\nwrite_timeout: soon\n", "c.yaml:2:", "durations are written"},
		{"bad route", "auth: {mode: none}\nroutes:\n  - {path: chat, topic: chat}\n", "c.yaml:3: routes: route \"chat\": path must start with '/'", "route paths look like"},
		{"bad compression", "auth: {mode: none}\nkafka:\n  compression: brotli\n", "c.yaml:3: kafka.compression", "use none, gzip"},
		{"jwt without key", "auth: {mode: jwt}\n", "c.yaml:1: auth", "auth.mode jwt needs"},
		{"type error and meaning errors together", "auth: {mode: none}\npong_wait: soon\nkafka:\n  compression: brotli\n", "c.yaml:4: kafka.compression", "durations are written"},
		{"unreadable key file", "auth:\n  mode: jwt\n  jwt:\n    public_key_files: [/nonexistent/key.pem]\n", "c.yaml:4: auth", "check it exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{"check-config", "--config", path}, &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tc.want) || !strings.Contains(errOut.String(), tc.hint) {
				t.Fatalf("check-config exit %d, stderr:\n%s\nwant exit 2 mentioning %q and %q", code, errOut.String(), tc.want, tc.hint)
			}
			// serve refuses to start on the same errors.
			errOut.Reset()
			if code := run(t.Context(), []string{"serve", "--config", path}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("serve exit %d, stderr:\n%s", code, errOut.String())
			}
		})
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithCancel(t.Context())
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"serve", "-h"}, {"check-config", "-h"}, {"token", "-h"}, {"healthcheck", "-h"}} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, &out, &errOut); code != 0 {
			t.Errorf("sluice %v exited %d", args, code)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--no-such-flag"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag exited %d, want 2", code)
	}
}

// TestZeroConfigValidatesWithComposeSchemas runs the README's first command
// (`sluice serve` with no config, from the repository root): the embedded
// broker's topics are governed by compose/schemas.
func TestZeroConfigValidatesWithComposeSchemas(t *testing.T) {
	t.Chdir("../..")
	t.Setenv("SLUICE_EMBEDDED_KAFKA_LISTEN", "127.0.0.1:0")
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", t.TempDir()}, logs, logs) }()
	defer func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := dialWS(t, "ws://"+addr+"/v1/ws", nil)
	c.WriteJSON(map[string]any{"op": "publish", "id": "bad", "topic": "orders", "value": map[string]any{"id": 7}})
	if f := readOp(t, c, "error"); f["code"] != "schema_violation" {
		t.Fatalf("invalid order answered %v, want schema_violation", f)
	}
	c.WriteJSON(map[string]any{"op": "publish", "id": "good", "topic": "orders", "value": json.RawMessage(validOrder)})
	readOp(t, c, "published")
	if !strings.Contains(logs.String(), "compose/schemas") {
		t.Fatalf("the log does not say which schemas govern the embedded default:\n%s", logs)
	}
}

// TestListenReusePort runs two Sluices on one address with
// listen_reuse_port, on the Kafka of a third: both listen, and when the
// first stops, the second alone answers on the address, sees what was
// published through either and takes new publishes. Without the option a
// Sluice cannot listen on the address.
func TestListenReusePort(t *testing.T) {
	kafka := startServe(t, "auth: {mode: none}\n").kafka // its embedded broker
	addr := freePort(t)
	cfg := fmt.Sprintf("listen_reuse_port: true\nauth: {mode: none}\nkafka: {brokers: [%q], auto_create_topics: true, auto_create_partitions: 1}\n", kafka)
	first := startServeOn(t, addr, cfg, false)
	startServeOn(t, addr, cfg, false)

	publish := func(n int) {
		t.Helper()
		c := dialWS(t, "ws://"+addr+"/v1/ws", nil)
		defer c.Close()
		if err := c.WriteJSON(map[string]any{"op": "publish", "id": "p", "topic": "reuse.port", "value": map[string]any{"n": n}}); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var ack map[string]any
		if err := c.ReadJSON(&ack); err != nil || ack["op"] != "published" {
			t.Fatalf("publish %d answered %v, %v", n, ack, err)
		}
	}
	for n := range 10 { // connections land on either Sluice
		publish(n)
	}
	first.stop()
	publish(10)
	for range 5 { // every connection now reaches the second
		c := dialWS(t, "ws://"+addr+"/v1/ws", nil)
		if err := c.WriteJSON(map[string]any{"op": "subscribe", "id": "s", "topic": "reuse.port", "from": "earliest"}); err != nil {
			t.Fatal(err)
		}
		for n := range 11 {
			msg := readOp(t, c, "message")
			if v, _ := msg["value"].(map[string]any); v["n"] != float64(n) {
				t.Fatalf("record %d: got %v", n, msg)
			}
		}
		c.Close()
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sluice.yaml")
	plain := fmt.Sprintf("listen: %s\nauth: {mode: none}\nkafka: {brokers: [%q]}\n", addr, kafka)
	if err := os.WriteFile(cfgPath, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	if code := run(context.Background(), []string{"serve", "--config", cfgPath}, &out, &out); code == 0 || !strings.Contains(out.String(), "address already in use") {
		t.Fatalf("a Sluice without listen_reuse_port exited %d: %s", code, out.String())
	}
}
