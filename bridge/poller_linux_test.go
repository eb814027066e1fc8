//go:build linux

package bridge

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestPolledSocketsHoldNoGoroutine opens idle subscribed sockets and checks
// that none of them keeps a goroutine, and that every one still gets its
// records and answers its ops afterwards.
func TestPolledSocketsHoldNoGoroutine(t *testing.T) {
	env := newTestEnv(t, nil)
	if env.srv.poller == nil {
		t.Fatal("no poller on Linux")
	}
	warm := env.dial(ProtocolPath)
	warm.send(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	warm.expect("subscribed")
	settle := func() int {
		var n int
		for range 50 { // let exiting goroutines finish
			runtime.GC()
			n = runtime.NumGoroutine()
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	before := settle()

	const sockets = 200
	clients := make([]*wsClient, sockets)
	for i := range clients {
		clients[i] = env.dial(ProtocolPath)
		clients[i].send(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
		clients[i].expect("subscribed")
	}
	after := settle()
	// The test's own clients hold none either: they are not reading yet.
	if extra := after - before; extra > sockets/20 {
		t.Fatalf("%d idle sockets added %d goroutines; polled sockets should hold none", sockets, extra)
	}

	warm.send(map[string]any{"op": "publish", "id": "p", "topic": "orders", "key": "k", "value": map[string]any{"n": 1}})
	warm.expect("published")
	for i, c := range clients {
		if got := c.expect("message"); got.str("key") != "k" {
			t.Fatalf("socket %d got %v", i, got)
		}
		c.send(map[string]any{"op": "ping", "id": fmt.Sprint(i)})
		if got := c.expect("pong"); got.str("id") != fmt.Sprint(i) {
			t.Fatalf("socket %d: pong %v", i, got)
		}
	}
}

// TestPolledSocketReadsSplitFrames writes frames the way a slow or odd
// client may: a frame cut into pieces with pauses between them, a message
// fragmented with a ping between its fragments, several messages in one
// write. Every op is answered, in order.
func TestPolledSocketReadsSplitFrames(t *testing.T) {
	// A queue that holds every pong of the fast run below: this test is
	// about reading, not about slow consumers.
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.SendQueueLength = 4096 })
	c := env.dial(ProtocolPath)
	raw := c.conn.NetConn()
	write := func(b []byte) {
		t.Helper()
		if _, err := raw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	pause := func() { time.Sleep(30 * time.Millisecond) }
	ping := func(id string) []byte {
		return clientFrame(true, 0x1, []byte(`{"op":"ping","id":"`+id+`"}`))
	}
	pongs := make(chan string, 64)
	c.conn.SetPongHandler(func(data string) error { pongs <- "control:" + data; return nil })
	frames := readInto(c)
	expectPong := func(id string) {
		t.Helper()
		select {
		case f := <-frames:
			if f.str("op") != "pong" || f.str("id") != id {
				t.Fatalf("want pong %s, got %v", id, f)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no pong %s", id)
		}
	}

	// One frame, byte by byte.
	for _, b := range ping("bytes") {
		write([]byte{b})
		pause()
	}
	expectPong("bytes")

	// A frame cut inside its extended length and inside its payload.
	big := clientFrame(true, 0x1, []byte(`{"op":"ping","id":"big","pad":"`+strings.Repeat("x", 300)+`"}`))
	write(big[:3])
	pause()
	write(big[3:100])
	pause()
	write(big[100:])
	expectPong("big")

	// A frame far larger than a read chunk, written in uneven pieces.
	huge := clientFrame(true, 0x1, []byte(`{"op":"ping","id":"huge","pad":"`+strings.Repeat("y", 200<<10)+`"}`))
	for off := 0; off < len(huge); {
		n := min(len(huge)-off, 7000+off%3001)
		write(huge[off : off+n])
		off += n
	}
	expectPong("huge")

	// A fragmented message with a control ping between its fragments.
	msg := []byte(`{"op":"ping","id":"fragments"}`)
	write(clientFrame(false, 0x1, msg[:10]))
	pause()
	write(clientFrame(true, 0x9, []byte("hi")))
	pause()
	write(clientFrame(false, 0x0, msg[10:20]))
	pause()
	write(clientFrame(true, 0x0, msg[20:]))
	expectPong("fragments")
	select {
	case got := <-pongs:
		if got != "control:hi" {
			t.Fatalf("control pong %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the ping inside the message got no pong")
	}

	// Several messages in one write.
	var batch []byte
	for i := range 50 {
		batch = append(batch, ping(fmt.Sprint(i))...)
	}
	write(batch)
	for i := range 50 {
		expectPong(fmt.Sprint(i))
	}

	// Many small writes as fast as they go: input keeps arriving while
	// the socket's reader runs, and none of it is left waiting.
	go func() {
		for i := range 2000 {
			if _, err := raw.Write(ping(fmt.Sprint("fast", i))); err != nil {
				return
			}
		}
	}()
	for i := range 2000 {
		expectPong(fmt.Sprint("fast", i))
	}
}

// TestPolledSocketCloseWithoutReply lets a socket go silent (it neither
// reads nor answers pings): the server closes it as idle, and the session
// ends once the close grace is over though the close frame gets no reply.
func TestPolledSocketCloseWithoutReply(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		c.CloseGrace = 200 * time.Millisecond
		c.PongWait = 300 * time.Millisecond
	})
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	waitFor(t, "idle session ended and counted", func() bool {
		return metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "idle_timeout"}) == 1
	})
	env.srv.mu.Lock()
	defer env.srv.mu.Unlock()
	if n := len(env.srv.sessions); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// TestPolledSocketsConcurrentSubscribes dials many sockets at once, each
// subscribing as soon as it is open: every one is answered (a wake-up lost
// between the poller and a socket's reader would leave one waiting).
func TestPolledSocketsConcurrentSubscribes(t *testing.T) {
	env := newTestEnv(t, nil)
	const sockets = 300
	errs := make(chan error, sockets)
	for i := range sockets {
		go func() {
			url := "ws" + strings.TrimPrefix(env.http.URL, "http") + ProtocolPath
			conn, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				errs <- err
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
			if err := conn.WriteJSON(map[string]any{"op": "subscribe", "id": fmt.Sprint(i), "topic": "orders"}); err != nil {
				errs <- err
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			var f frame
			if err := conn.ReadJSON(&f); err != nil {
				errs <- fmt.Errorf("socket %d: %w", i, err)
				return
			}
			if f.str("op") != "subscribed" {
				errs <- fmt.Errorf("socket %d: got %v", i, f)
				return
			}
			errs <- nil
		}()
	}
	for range sockets {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
