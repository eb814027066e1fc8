package bridge

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestKeepalive(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.PongWait = 300 * time.Millisecond })

	// A client that reads answers the server's pings (gorilla's default
	// ping handler) and stays connected well past the pong wait.
	alive := env.dial(ProtocolPath)
	pings := make(chan struct{}, 16)
	alive.conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return alive.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	frames := readInto(alive)

	// A client that ignores pings is dropped once the pong wait passes.
	silent := env.dial(ProtocolPath)
	silent.conn.SetPingHandler(func(string) error { return nil })

	for range 4 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatal("no keepalive ping within 5s")
		}
	}
	alive.send(map[string]any{"op": "ping", "id": "still"})
	for f := range frames {
		if f.str("op") == "pong" {
			break
		}
	}
	if code := silent.closeCode(); code != ClosePolicy {
		t.Fatalf("silent client closed with %d, want %d", code, ClosePolicy)
	}
	waitFor(t, "idle disconnect counted", func() bool {
		return metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "idle_timeout"}) == 1
	})
}
