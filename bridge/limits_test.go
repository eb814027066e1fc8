package bridge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestConnectionLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		reason string
	}{
		{"per process", func(c *Config) { c.MaxConnections = 2 }, "max_connections"},
		{"per address", func(c *Config) { c.MaxConnectionsPerIP = 2 }, "max_connections_per_ip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, func(c *Config, _ *Deps) { tc.mutate(c) })
			a := env.dial(ProtocolPath)
			env.dial(ProtocolPath)
			url := "ws" + strings.TrimPrefix(env.http.URL, "http") + ProtocolPath
			_, resp, err := websocket.DefaultDialer.Dial(url, nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("third socket: %v %v, want 503 with Retry-After", resp, err)
			}
			if got := metricValue(t, env.reg, "sluice_rejected_upgrades_total", map[string]string{"reason": tc.reason}); got != 1 {
				t.Fatalf("rejected_upgrades_total{reason=%s} = %v", tc.reason, got)
			}
			// A closed socket frees its place.
			a.conn.Close()
			waitFor(t, "a free slot", func() bool {
				c, _, err := websocket.DefaultDialer.Dial(url, nil)
				if err != nil {
					return false
				}
				c.Close()
				return true
			})
		})
	}
}

func TestPublishRateLimit(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		// A bucket of 3 that refills once in 1000 s: a slow run cannot
		// refill a token between the five publishes.
		c.PublishRate = 0.001
		c.PublishBurst = 3
		c.MetricsTopics = []string{"ord*"}
	})
	c := env.dial(ProtocolPath)
	for i := range 5 {
		c.send(map[string]any{"op": "publish", "id": fmt.Sprint(i), "topic": "orders", "value": i})
	}
	acks, limited := 0, 0
	for acks+limited < 5 {
		f := c.next()
		switch {
		case f.str("op") == "published":
			acks++
		case f.str("op") == "error" && f.str("code") == "rate_limited":
			limited++
		}
	}
	if acks != 3 || limited != 2 {
		t.Fatalf("acks %d, rate_limited %d; want 3 and 2", acks, limited)
	}
	if got := metricValue(t, env.reg, "sluice_errors_total", map[string]string{"code": "rate_limited"}); got != 2 {
		t.Fatalf("errors_total{rate_limited} = %v", got)
	}
	if got := metricValue(t, env.reg, "sluice_messages_in_total", map[string]string{"topic": "ord*"}); got != 3 {
		t.Fatalf("messages_in_total{topic=ord*} = %v", got)
	}
}

func TestMaxSubscriptions(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.MaxSubscriptions = 1; c.Kafka.AutoCreateTopics = true })
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "1", "topic": "orders"})
	c.expect("subscribed")
	c.send(map[string]any{"op": "subscribe", "id": "2", "topic": "other"})
	if f := c.expectError(); f.str("code") != "rate_limited" || f.str("id") != "2" {
		t.Fatalf("second subscription = %v", f)
	}
}
