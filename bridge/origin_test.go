package bridge

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestOriginCheck(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.AllowedOrigins = []string{"https://app.example"} })
	url := "ws" + strings.TrimPrefix(env.http.URL, "http") + ProtocolPath
	host := strings.TrimPrefix(env.http.URL, "http://")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},                          // not a browser
		{"http://" + host, true},            // same origin
		{"https://app.example", true},       // allow-listed
		{"https://evil.example", false},     // cross-site WebSocket hijacking
		{"http://" + host + ".evil", false}, // look-alike
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.DefaultDialer.Dial(url, h)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", tc.origin, err)
				continue
			}
			c.Close()
			continue
		}
		if err == nil {
			c.Close()
			t.Errorf("origin %q accepted", tc.origin)
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want 403", tc.origin, err)
		}
	}
}
