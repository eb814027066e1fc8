package bridge

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
)

// testEnv is a bridge on an in-process kfake cluster behind a real listener.
type testEnv struct {
	t       *testing.T
	cluster *kfake.Cluster
	srv     *Server
	http    *httptest.Server
	reg     *prometheus.Registry
}

func newTestEnv(t *testing.T, mutate func(*Config, *Deps)) *testEnv {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3), kfake.SeedTopics(3, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	reg := prometheus.NewRegistry()
	cfg := Config{Kafka: KafkaConfig{Brokers: cluster.ListenAddrs()}}
	deps := Deps{Registerer: reg}
	if mutate != nil {
		mutate(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &testEnv{t: t, cluster: cluster, srv: srv, http: hs, reg: reg}
}

// wsClient is a test WebSocket client with a frame reader.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (e *testEnv) dial(path string) *wsClient {
	e.t.Helper()
	url := "ws" + strings.TrimPrefix(e.http.URL, "http") + path
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", path, err)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	return &wsClient{t: e.t, conn: conn}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *wsClient) sendRaw(mt int, data []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(mt, data); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// frame is a decoded server frame.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) num(k string) int64  { n, _ := f[k].(float64); return int64(n) }

// next reads the next frame within 10 seconds.
func (c *wsClient) next() frame {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %q is not JSON: %v", data, err)
	}
	return f
}

// expect reads frames until one has op, failing on an unexpected error frame.
func (c *wsClient) expect(op string) frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.str("op") == op {
			return f
		}
		if f.str("op") == "error" {
			c.t.Fatalf("waiting for %s, got error %v", op, f)
		}
	}
}

// closeCode reads until the server closes and returns the close code.
func (c *wsClient) closeCode() int {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		c.t.Fatalf("connection ended without close frame: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metricValue sums a metric family's samples whose labels include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// endOffsets sums the end offsets of topic's partitions: how many records
// it holds.
func (e *testEnv) endOffsets(topic string) int64 {
	e.t.Helper()
	offs, err := kadm.NewClient(e.srv.client).ListEndOffsets(e.t.Context(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}
