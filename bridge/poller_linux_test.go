//go:build linux

package bridge

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/topics"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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

// TestPolledSessionEndsWhenOrderlyCloseCannotFlush closes, in order, a
// socket whose client stopped reading: the flush fails, the socket is
// closed (and so gone from the poller), and the session must still end.
func TestPolledSessionEndsWhenOrderlyCloseCannotFlush(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		c.WriteTimeout = time.Second
		c.CloseGrace = 200 * time.Millisecond
		c.SendQueueLength = 4096
	})
	sub := env.dial(ProtocolPath) // never reads after subscribed
	sub.send(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	sub.expect("subscribed")
	// Found now: once its writer gives up (write_timeout) the session
	// ends on its own, which is not what this test is after, but must not
	// leave it without a session to close.
	victim := env.sessionWhere(func(s *session) bool {
		s.subsMu.Lock()
		defer s.subsMu.Unlock()
		return len(s.subs) > 0
	})
	pub := env.dial(ProtocolPath)
	acks := readInto(pub)
	value := strings.Repeat("x", 60<<10)
	const records = 250 // 15 MB: more than the socket buffers hold
	for range records {
		pub.send(map[string]any{"op": "publish", "topic": "orders", "key": "k", "value": value})
	}
	for range records {
		<-acks
	}
	victim.close(CloseGoingAway, "bye", reasonShutdown, true)
	env.waitSessionEnded(t, victim)
}

// TestPolledSessionFinishesOnce closes a route socket while its session is
// still subscribing (Kafka answers slowly) and its close grace runs out
// meanwhile: the session ends exactly once (twice would drive the wait group
// negative, a panic, or the admission count below zero).
func TestPolledSessionFinishesOnce(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		c.Routes = []topics.RouteConfig{{Path: "/o", Topic: "orders"}}
		c.CloseGrace = 100 * time.Millisecond
	})
	var slow atomic.Bool
	answered := make(chan struct{})
	env.cluster.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		env.cluster.KeepControl()
		if slow.CompareAndSwap(true, false) {
			time.Sleep(1500 * time.Millisecond)
			close(answered)
		}
		return nil, nil, false
	})
	slow.Store(true)
	env.dial("/o")
	var victim *session
	waitFor(t, "the session", func() bool {
		victim = env.sessionWhere(func(*session) bool { return true })
		return victim != nil
	})
	victim.close(CloseGoingAway, "bye", reasonShutdown, true)
	<-answered
	// Shutdown waits for every session's goroutines, the subscribing one
	// included.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	env.srv.mu.Lock()
	conns := env.srv.conns
	env.srv.mu.Unlock()
	if conns != 0 {
		t.Fatalf("admission count %d after shutdown, want 0", conns)
	}
	if got := metricValue(t, env.reg, "sluice_connections", map[string]string{"route": "/o"}); got != 0 {
		t.Fatalf("connections gauge %v, want 0", got)
	}
}

// TestPolledSocketTrickleIsIdle trickles one frame's bytes (for 40 s) slower than a
// message per pong_wait: bytes alone do not keep a socket alive, so it is
// closed as idle.
func TestPolledSocketTrickleIsIdle(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		c.PongWait = 300 * time.Millisecond
		c.CloseGrace = 100 * time.Millisecond
	})
	c := env.dial(ProtocolPath)
	c.conn.SetPingHandler(func(string) error { return nil }) // no pongs either
	frame := clientFrame(true, 0x1, []byte(`{"op":"ping","id":"slow","pad":"`+strings.Repeat("z", 2000)+`"}`))
	go func() {
		for _, b := range frame {
			if _, err := c.conn.NetConn().Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if code := c.closeCode(); code != ClosePolicy {
		t.Fatalf("closed with %d, want %d (idle)", code, ClosePolicy)
	}
	waitFor(t, "the idle disconnect counted", func() bool {
		return metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "idle_timeout"}) == 1
	})
}

// sessionWhere returns a tracked session for which match holds, or nil.
func (e *testEnv) sessionWhere(match func(*session) bool) *session {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	for s := range e.srv.sessions {
		if match(s) {
			return s
		}
	}
	return nil
}

// waitSessionEnded waits until sess is no longer tracked.
func (e *testEnv) waitSessionEnded(t *testing.T, sess *session) {
	t.Helper()
	waitFor(t, "the session to end", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		_, open := e.srv.sessions[sess]
		return !open
	})
}

// stopPoller stops the server's poller (as an epoll_wait failure would)
// and waits until its set is closed.
func stopPoller(t *testing.T, env *testEnv) {
	t.Helper()
	env.srv.poller.stop()
	waitFor(t, "the poller to close its set", func() bool {
		env.srv.poller.mu.RLock()
		defer env.srv.poller.mu.RUnlock()
		return env.srv.poller.epfd < 0
	})
}

// TestUnpolledSocketStaysAlive: once the poller is gone, a new socket is read
// on a goroutine, and a client that keeps talking is not dropped as idle.
func TestUnpolledSocketStaysAlive(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) { c.PongWait = 300 * time.Millisecond })
	stopPoller(t, env)
	c := env.dial(ProtocolPath)
	frames := readInto(c) // gorilla's default ping handler answers pings
	for i := range 30 {   // 1.5 s: five pong waits
		c.send(map[string]any{"op": "ping", "id": fmt.Sprint(i)})
		if f, ok := <-frames; !ok || f.str("id") != fmt.Sprint(i) {
			t.Fatalf("ping %d: got %v (socket open: %v)", i, f, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "idle_timeout"}); got != 0 {
		t.Fatalf("idle disconnects = %v, want 0", got)
	}
}

// TestPollerStopEndsSocketsAsInternal: when the poller stops under an open
// socket (its reader inside a frame), the socket ends as the server's
// failure, not as an idle client.
func TestPollerStopEndsSocketsAsInternal(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "ping", "id": "a"})
	c.expect("pong")
	f := clientFrame(true, 0x1, []byte(`{"op":"ping","id":"b"}`))
	if _, err := c.conn.NetConn().Write(f[:4]); err != nil { // half a frame
		t.Fatal(err)
	}
	stopPoller(t, env)
	waitFor(t, "the session to end as internal_error", func() bool {
		return metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "internal_error"}) == 1
	})
	if got := metricValue(t, env.reg, "sluice_disconnects_total", map[string]string{"reason": "idle_timeout"}); got != 0 {
		t.Fatalf("idle disconnects = %v, want 0", got)
	}
}

// TestCloseEndsPublishWaitingForSlot closes a socket whose reader waits for
// an in-flight slot behind a slow produce: the session ends without waiting
// for Kafka, and the waiting publish is not written.
func TestCloseEndsPublishWaitingForSlot(t *testing.T) {
	env := newTestEnv(t, func(c *Config, _ *Deps) {
		c.MaxInflightPublishes = 1
		c.CloseGrace = 100 * time.Millisecond
	})
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "publish", "id": "p0", "topic": "orders", "key": "k", "value": "v"})
	c.expect("published")
	var slow atomic.Bool
	produced := make(chan struct{})
	env.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		env.cluster.KeepControl()
		if slow.CompareAndSwap(true, false) {
			time.Sleep(3 * time.Second)
			close(produced)
		}
		return nil, nil, false
	})
	slow.Store(true)
	c.send(map[string]any{"op": "publish", "id": "p1", "topic": "orders", "key": "k", "value": "v"})
	c.send(map[string]any{"op": "publish", "id": "p2", "topic": "orders", "key": "k", "value": "v"})
	var victim *session
	waitFor(t, "p2 to wait for the slot p1 holds", func() bool {
		victim = env.sessionWhere(func(s *session) bool {
			return s.bytesIn.Load() > 0 && len(s.inflight) == 1 && s.inputState.Load() != inputIdle
		})
		return victim != nil
	})
	victim.close(CloseGoingAway, "bye", reasonShutdown, true)
	env.waitSessionEnded(t, victim)
	select {
	case <-produced:
		t.Fatal("the session ended only after the slow produce returned")
	default:
	}
}

// TestPolledSocketsPipelinedPublishes has several sockets each write
// bursts of publish frames in one write whenever acks free room, as a
// client with a send buffer does, single publishes and batches mixed.
// Every publish is answered, and every record in Kafka holds exactly the
// key and value sent: values point into pooled frame buffers until Kafka
// answers, so a buffer reused too early would show here.
func TestPolledSocketsPipelinedPublishes(t *testing.T) {
	env := newTestEnv(t, nil)
	const (
		sockets   = 4
		window    = 64
		perSocket = 1500 // frames; every tenth is a batch of 3 records
	)
	value := func(s, i, r int) string {
		return fmt.Sprintf(`{"s":%d,"i":%d,"r":%d,"pad":"%s"}`, s, i, r, strings.Repeat(string(rune('a'+(s*7+i+r)%26)), 600+i%500))
	}
	frameOf := func(s, i int) []byte {
		key := fmt.Sprintf("%d-%d", s, i)
		if i%10 == 0 {
			return clientFrame(true, 0x1, []byte(fmt.Sprintf(`{"op":"publish","id":"%d","topic":"orders","records":[{"key":"%s-0","value":%s},{"key":"%s-1","value":%s},{"key":"%s-2","value":%s}]}`,
				i, key, value(s, i, 0), key, value(s, i, 1), key, value(s, i, 2))))
		}
		return clientFrame(true, 0x1, []byte(fmt.Sprintf(`{"op":"publish","id":"%d","topic":"orders","key":"%s","value":%s}`, i, key, value(s, i, 0))))
	}
	errs := make(chan error, sockets)
	for s := range sockets {
		c := env.dial(ProtocolPath)
		raw := c.conn.NetConn()
		go func() {
			acks := make(chan struct{}, perSocket)
			go func() {
				for {
					_, msg, err := c.conn.ReadMessage()
					if err != nil {
						return
					}
					if !strings.HasPrefix(string(msg), `{"op":"published"`) {
						errs <- fmt.Errorf("socket %d: %s", s, msg)
						return
					}
					acks <- struct{}{}
				}
			}()
			sent, acked := 0, 0
			for acked < perSocket {
				var burst []byte
				for sent < perSocket && sent-acked < window {
					burst = append(burst, frameOf(s, sent)...)
					sent++
				}
				if len(burst) > 0 {
					if _, err := raw.Write(burst); err != nil {
						errs <- err
						return
					}
				}
				select {
				case <-acks:
					acked++
				case <-time.After(20 * time.Second):
					errs <- fmt.Errorf("socket %d: no ack for 20s after %d of %d (%d sent)", s, acked, perSocket, sent)
					return
				}
			}
			errs <- nil
		}()
	}
	for range sockets {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]string{}
	for s := range sockets {
		for i := range perSocket {
			key := fmt.Sprintf("%d-%d", s, i)
			if i%10 == 0 {
				for r := range 3 {
					want[fmt.Sprintf("%s-%d", key, r)] = value(s, i, r)
				}
			} else {
				want[key] = value(s, i, 0)
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.cluster.ListenAddrs()...), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for got := 0; got < len(want); {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", got, len(want), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			w, ok := want[string(r.Key)]
			switch {
			case !ok:
				t.Errorf("record with unexpected or repeated key %q", r.Key)
			case string(r.Value) != w:
				t.Errorf("record %q: value %.60q…, want %.60q…", r.Key, r.Value, w)
			}
			delete(want, string(r.Key))
		})
	}
}
