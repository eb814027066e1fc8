package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sluicehq/sluice/test/kafkatest"
)

// readyzTimeout bounds one /readyz request; the server's own check is
// bounded by 3s.
const readyzTimeout = 10 * time.Second

// startSluiceOn is startSluice against the broker at brokers instead of the
// shared one.
func startSluiceOn(t testing.TB, brokers, yamlConfig string) *sluiceProc {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(cfgFile, []byte(yamlConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var p *sluiceProc
	var err error
	for range startAttempts {
		if p, err = launchOn(cfgFile, brokers); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting sluice on %s: %v", brokers, err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("sluice: %v", err)
		}
		if t.Failed() {
			t.Logf("--- sluice output (%s) ---\n%s", p.addr, p.out.String())
		}
	})
	return p
}

func launchOn(cfgFile, brokers string) (*sluiceProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &sluiceProc{
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out:  &syncBuffer{},
		done: make(chan struct{}),
	}
	p.cmd = exec.Command(sluiceBin, "serve", "--config", cfgFile, "--brokers", brokers, "--listen", p.addr)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.WaitDelay = 5 * time.Second
	configureProcess(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%w\n--- sluice output ---\n%s", err, p.out.String())
	}
	return p, nil
}

// readyz answers GET /readyz: the status and the body's checks.
func readyz(p *sluiceProc) (int, map[string]string, error) {
	client := &http.Client{Timeout: readyzTimeout}
	resp, err := client.Get(p.httpURL("/readyz"))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("body: %w", err)
	}
	if body.Ready != (resp.StatusCode == http.StatusOK) {
		return resp.StatusCode, body.Checks, fmt.Errorf("status %d with ready=%v", resp.StatusCode, body.Ready)
	}
	return resp.StatusCode, body.Checks, nil
}

// waitReadyz polls /readyz until it answers status, and returns the checks.
func waitReadyz(t testing.TB, p *sluiceProc, status int) map[string]string {
	t.Helper()
	var checks map[string]string
	eventually(t, waitTimeout, func() (bool, string) {
		code, c, err := readyz(p)
		if err != nil {
			return false, fmt.Sprintf("/readyz: %v", err)
		}
		checks = c
		return code == status, fmt.Sprintf("/readyz answers %d %v, want %d", code, c, status)
	})
	return checks
}

// TestReadyzFollowsKafka stops and restarts a broker of the test's own
// under a running sluice: /readyz turns 503 naming kafka, then 200 again.
func TestReadyzFollowsKafka(t *testing.T) {
	b, err := kafkatest.Start(testCtx(t, 3*time.Minute), kafkatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close) // after sluice has stopped
	p := startSluiceOn(t, b.Addr(), baseConfig)
	if checks := waitReadyz(t, p, http.StatusOK); checks["kafka"] != "ok" {
		t.Errorf("ready with checks %v, want kafka ok", checks)
	}

	if err := b.Stop(); err != nil {
		t.Fatalf("stopping the broker: %v", err)
	}
	checks := waitReadyz(t, p, http.StatusServiceUnavailable)
	if checks["kafka"] == "" || checks["kafka"] == "ok" {
		t.Errorf("not ready with checks %v, want kafka named as failing", checks)
	}
	if checks["registry"] != "ok" {
		t.Errorf("registry check %q while only kafka is down", checks["registry"])
	}

	if err := b.Restart(testCtx(t, 3*time.Minute)); err != nil {
		t.Fatalf("restarting the broker: %v", err)
	}
	if checks := waitReadyz(t, p, http.StatusOK); checks["kafka"] != "ok" {
		t.Errorf("ready again with checks %v, want kafka ok", checks)
	}
}

// scraped is one scrape of /metrics, by family name.
type scraped map[string]*dto.MetricFamily

// scrape reads /metrics and parses the text format.
func scrape(t testing.TB, p *sluiceProc) scraped {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(p.httpURL("/metrics"))
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name whose labels are
// exactly labels (given as name, value pairs), and whether it exists. A
// histogram's value is its sample count.
func (m scraped) value(name string, labels ...string) (float64, bool) {
	fam := m[name]
	if fam == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, s := range fam.GetMetric() {
		if len(s.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range s.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case s.Counter != nil:
			return s.Counter.GetValue(), true
		case s.Gauge != nil:
			return s.Gauge.GetValue(), true
		case s.Histogram != nil:
			return float64(s.Histogram.GetSampleCount()), true
		case s.Untyped != nil:
			return s.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// waitMetric polls /metrics until the sample reaches want; an absent
// sample counts as 0.
func waitMetric(t testing.TB, p *sluiceProc, want float64, name string, labels ...string) {
	t.Helper()
	eventually(t, waitTimeout, func() (bool, string) {
		v, _ := scrape(t, p).value(name, labels...)
		return v >= want, fmt.Sprintf("%s%v is %v, want %v", name, labels, v, want)
	})
}

// dialFrom opens a socket to url from the loopback address ip, which the
// server sees as its own client address. A refused upgrade returns the
// response.
func dialFrom(t testing.TB, url, ip string) (*wsClient, *http.Response, error) {
	t.Helper()
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	d := websocket.Dialer{HandshakeTimeout: dialTimeout, NetDialContext: nd.DialContext}
	conn, resp, err := d.DialContext(t.Context(), url, nil)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &wsClient{t: t, name: ip, conn: conn, keepBody: true, done: make(chan struct{})}
	c.startReading()
	return c, resp, nil
}

// TestConnectionLimits opens sockets past max_connections_per_ip and
// max_connections: the upgrade is refused with 503 and Retry-After, and
// counted by reason; a closed socket frees its place.
func TestConnectionLimits(t *testing.T) {
	p := startSluice(t, baseConfig+"max_connections: 4\nmax_connections_per_ip: 2\n")
	url := p.wsURL("/v1/ws")
	refused := func(ip, reason string, before float64) {
		t.Helper()
		c, resp, err := dialFrom(t, url, ip)
		if err == nil {
			c.ping("in")
			t.Fatalf("a socket from %s was admitted past %s", ip, reason)
		}
		if resp == nil {
			t.Fatalf("dialling from %s: %v, want HTTP 503", ip, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("refused %s with %s, Retry-After %q, want 503 with Retry-After", reason, resp.Status, resp.Header.Get("Retry-After"))
		}
		if !bytes.Contains(body, []byte(`"code":"unavailable"`)) || !bytes.Contains(body, []byte(reason)) {
			t.Errorf("refused %s with body %s", reason, body)
		}
		if v, _ := scrape(t, p).value("sluice_rejected_upgrades_total", "reason", reason); v != before+1 {
			t.Errorf("sluice_rejected_upgrades_total{reason=%q} is %v, want %v", reason, v, before+1)
		}
	}
	admitted := func(ip string) *wsClient {
		t.Helper()
		c, resp, err := dialFrom(t, url, ip)
		if err != nil {
			status := ""
			if resp != nil {
				status = resp.Status
			}
			t.Fatalf("dialling from %s: %v %s", ip, err, status)
		}
		c.ping("in")
		return c
	}

	admitted("127.0.0.1")
	admitted("127.0.0.1")
	refused("127.0.0.1", "max_connections_per_ip", 0)
	admitted("127.0.0.2")
	last := admitted("127.0.0.2")
	refused("127.0.0.3", "max_connections", 0)
	refused("127.0.0.3", "max_connections", 1)
	if v, _ := scrape(t, p).value("sluice_connections", "route", "v1"); v != 4 {
		t.Errorf("sluice_connections{route=\"v1\"} is %v, want 4", v)
	}

	// A closed socket gives its place back.
	_ = last.conn.Close()
	eventually(t, waitTimeout, func() (bool, string) {
		c, resp, err := dialFrom(t, url, "127.0.0.3")
		if err == nil {
			c.ping("in")
			return true, ""
		}
		if resp == nil {
			t.Fatalf("dialling: %v", err)
		}
		return false, "still refused after a socket closed: " + resp.Status
	})
}

// TestSocketLimits hits each per-socket limit with a real client: the
// expected error code or close code, and the metric that counts it.
func TestSocketLimits(t *testing.T) {
	const (
		frameLimit  = 4096
		recordLimit = 1024
	)
	p := startSluice(t, baseConfig+fmt.Sprintf(`
kafka: {auto_create_topics: false, max_record_bytes: %d}
max_subscriptions: 2
publish_rate: 1
publish_burst: 2
max_frame_bytes: %d
`, recordLimit, frameLimit))
	topics := []string{uniqueTopic(t, "a"), uniqueTopic(t, "b"), uniqueTopic(t, "c")}
	for _, topic := range topics {
		createTopic(t, topic, 1)
	}
	errorsOf := func(code string) float64 {
		v, ok := scrape(t, p).value("sluice_errors_total", "code", code)
		if !ok {
			t.Fatalf("no sluice_errors_total{code=%q}", code)
		}
		return v
	}

	t.Run("max_subscriptions", func(t *testing.T) {
		before := errorsOf("rate_limited")
		c := dial(t, p.wsURL("/v1/ws"))
		c.subscribe("s0", topics[0], nil)
		c.subscribe("s1", topics[1], nil)
		c.send(map[string]any{"op": "subscribe", "id": "s2", "topic": topics[2]})
		if f := c.waitReply("s2"); f.Op != "error" || f.Code != "rate_limited" || f.Topic != topics[2] {
			t.Errorf("third subscribe: %v, want rate_limited", f)
		}
		if after := errorsOf("rate_limited"); after != before+1 {
			t.Errorf("sluice_errors_total{code=\"rate_limited\"} went %v → %v, want +1", before, after)
		}
		// Unsubscribing makes room again.
		c.send(map[string]any{"op": "unsubscribe", "id": "u0", "topic": topics[0]})
		c.waitReply("u0")
		c.subscribe("s3", topics[2], nil)
	})

	t.Run("publish_rate", func(t *testing.T) {
		const publishes = 6
		before := errorsOf("rate_limited")
		c := dial(t, p.wsURL("/v1/ws"))
		for i := range publishes {
			c.send(map[string]any{"op": "publish", "id": fmt.Sprint("p", i), "topic": topics[0], "value": i})
		}
		published, limited := 0, 0
		for i := range publishes {
			switch f := c.waitReply(fmt.Sprint("p", i)); {
			case f.Op == "published":
				published++
			case f.Op == "error" && f.Code == "rate_limited":
				limited++
			default:
				t.Errorf("publish %d: %v", i, f)
			}
		}
		// The burst of 2 passes; at one token a second, a third may.
		if published < 2 || limited < publishes-3 {
			t.Errorf("%d published and %d rate_limited of %d, want the burst of 2 through and the rest mostly limited", published, limited, publishes)
		}
		if after := errorsOf("rate_limited"); after != before+float64(limited) {
			t.Errorf("sluice_errors_total{code=\"rate_limited\"} went %v → %v, want +%d", before, after, limited)
		}
	})

	t.Run("max_record_bytes", func(t *testing.T) {
		before := errorsOf("too_large")
		end := endOffsets(t, topics[1])[0]
		c := dial(t, p.wsURL("/v1/ws"))
		c.send(map[string]any{"op": "publish", "id": "big", "topic": topics[1], "value": strings.Repeat("x", recordLimit)})
		if f := c.waitReply("big"); f.Op != "error" || f.Code != "too_large" {
			t.Errorf("publish over max_record_bytes: %v, want too_large", f)
		}
		if after := errorsOf("too_large"); after != before+1 {
			t.Errorf("sluice_errors_total{code=\"too_large\"} went %v → %v, want +1", before, after)
		}
		c.ping("open")
		if got := endOffsets(t, topics[1])[0]; got != end {
			t.Errorf("the refused record was written: end offset %d → %d", end, got)
		}
	})

	t.Run("max_frame_bytes", func(t *testing.T) {
		series := []string{"sluice_disconnects_total", "reason", "too_large"}
		before, ok := scrape(t, p).value(series[0], series[1:]...)
		if !ok {
			t.Fatalf("no %v sample", series)
		}
		c := dial(t, p.wsURL("/v1/ws"))
		c.ping("first")
		_ = c.trySend(websocket.TextMessage, bytes.Repeat([]byte("x"), frameLimit+1))
		if err := c.waitClosed(waitTimeout); closeCode(err) != websocket.CloseMessageTooBig {
			t.Fatalf("connection ended with %v, want close %d", err, websocket.CloseMessageTooBig)
		}
		waitMetric(t, p, before+1, series[0], series[1:]...)
	})
}

// TestMetricsExposition scrapes /metrics of a sluice that published and
// delivered records: the Kafka client's metrics, connections, publish
// and fan-out latency, and messages out per metrics_topics pattern with
// everything else as "other".
func TestMetricsExposition(t *testing.T) {
	const pattern = "it.TestMetricsExposition.metered.*"
	p := startSluice(t, baseConfig+"kafka: {auto_create_topics: false}\nmetrics_topics: [\""+pattern+"\"]\n")
	metered, plain := uniqueTopic(t, "metered"), uniqueTopic(t, "plain")
	createTopic(t, metered, 1)
	createTopic(t, plain, 1)

	sub := dial(t, p.wsURL("/v1/ws"))
	sub.subscribe("m", metered, nil)
	sub.subscribe("p", plain, nil)
	pub := dial(t, p.wsURL("/v1/ws"))
	for i, topic := range []string{metered, metered, plain} {
		id := fmt.Sprint("pub", i)
		pub.send(map[string]any{"op": "publish", "id": id, "topic": topic, "value": i})
		if f := pub.waitReply(id); f.Op != "published" {
			t.Fatalf("publish to %s: %v", topic, f)
		}
	}
	sub.waitMessages(metered, 2)
	sub.waitMessages(plain, 1)

	waitMetric(t, p, 2, "sluice_messages_out_total", "topic", pattern)
	waitMetric(t, p, 1, "sluice_messages_out_total", "topic", "other")
	waitMetric(t, p, 3, "sluice_fanout_lag_seconds")
	m := scrape(t, p)
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"sluice_connections", []string{"route", "v1"}, 2},
		{"sluice_publish_ack_seconds", nil, 3},
		{"sluice_messages_in_total", []string{"topic", pattern}, 2},
		{"sluice_messages_in_total", []string{"topic", "other"}, 1},
	} {
		if v, ok := m.value(c.name, c.labels...); !ok || v < c.min {
			t.Errorf("%s%v is %v (present %v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}
	if v, _ := m.value("sluice_messages_out_total", "topic", "other"); v != 1 {
		t.Errorf("sluice_messages_out_total{topic=\"other\"} is %v, want 1", v)
	}
	var kafka []string
	for name := range m {
		if strings.HasPrefix(name, "sluice_kafka_") {
			kafka = append(kafka, name)
		}
	}
	sort.Strings(kafka)
	if len(kafka) == 0 {
		t.Errorf("no sluice_kafka_ metrics of the franz-go client")
	}
	t.Logf("franz-go client metrics: %v", kafka)

	// Labels come from bounded, server-chosen sets: no metric, the Kafka
	// client's included, is labelled with a topic name a client chose.
	t.Run("labels are bounded", func(t *testing.T) {
		for name, fam := range m {
			for _, s := range fam.GetMetric() {
				for _, l := range s.GetLabel() {
					if v := l.GetValue(); v == metered || v == plain {
						t.Errorf("%s{%s=%q}: a raw topic name as a label value", name, l.GetName(), v)
					}
				}
			}
		}
	})
}

// TestConnectionLogs checks the JSON log lines of one connection: one when
// it opens, one when it closes with its duration, bytes in and out and
// close reason.
func TestConnectionLogs(t *testing.T) {
	p := startSluice(t, baseConfig)
	c := dial(t, p.wsURL("/v1/ws"))
	remote := c.conn.LocalAddr().String()
	ping := []byte(`{"op":"ping","id":"hello"}`)
	c.sendRaw(websocket.TextMessage, ping)
	c.waitReply("hello")
	if err := c.trySend(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")); err != nil {
		t.Fatal(err)
	}
	c.waitClosed(waitTimeout)

	type logLine struct {
		Msg      string   `json:"msg"`
		Remote   string   `json:"remote"`
		Duration *float64 `json:"duration"`
		BytesIn  *int64   `json:"bytes_in"`
		BytesOut *int64   `json:"bytes_out"`
		Reason   string   `json:"reason"`
	}
	var lines []logLine
	eventually(t, waitTimeout, func() (bool, string) {
		lines = lines[:0]
		for _, raw := range p.logLines(`"remote":"` + remote + `"`) {
			var l logLine
			if err := json.Unmarshal([]byte(raw), &l); err != nil {
				t.Fatalf("log line is not JSON: %v: %s", err, raw)
			}
			if strings.HasPrefix(l.Msg, "connection ") {
				lines = append(lines, l)
			}
		}
		return len(lines) >= 2, fmt.Sprintf("%d connection log lines for %s", len(lines), remote)
	})
	if len(lines) != 2 || lines[0].Msg != "connection opened" || lines[1].Msg != "connection closed" {
		t.Fatalf("log lines %+v, want one opened and one closed", lines)
	}
	closed := lines[1]
	switch {
	case closed.Duration == nil || *closed.Duration <= 0:
		t.Errorf("close line without a positive duration: %+v", closed)
	case closed.BytesIn == nil || *closed.BytesIn != int64(len(ping)):
		t.Errorf("close line bytes_in %v, want %d (the ping frame)", ptrString(closed.BytesIn), len(ping))
	case closed.BytesOut == nil || *closed.BytesOut < int64(len(`{"op":"pong","id":"hello"}`)):
		t.Errorf("close line bytes_out %v, want at least the pong", ptrString(closed.BytesOut))
	case closed.Reason != "client_closed":
		t.Errorf("close line reason %q, want client_closed", closed.Reason)
	}
}

func ptrString(p *int64) string {
	if p == nil {
		return "absent"
	}
	return strconv.FormatInt(*p, 10)
}

// TestCheckConfig runs `sluice check-config` on bad files: exit 2, each
// problem located as file:line with a hint. A good file exits 0.
func TestCheckConfig(t *testing.T) {
	cases := []struct {
		name, yaml string
		code       int
		want       []string
	}{
		{"valid", "auth: {mode: none}\nmax_subscriptions: 5\n", 0, []string{"configuration is valid"}},
		{"unknown key", "auth: {mode: none}\nkafka:\n  linger: 5ms\n  brokres: [k:9092]\n", 2, []string{"c.yaml:4:", "brokres", "hint: unknown key"}},
		{"bad duration", "auth: {mode: none}\npong_wait: soon\n", 2, []string{"c.yaml:2:", "hint: durations"}},
		{"two problems", "auth: {mode: none}\nmax_subscriptions: -1\nroutes:\n  - {path: chat, topic: chat}\n", 2, []string{"c.yaml:2: max_subscriptions", "c.yaml:4:", "hint: route paths"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(testCtx(t, waitTimeout), sluiceBin, "check-config", "--config", path)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
