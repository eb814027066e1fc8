package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Client-side limits.
const (
	// dialTimeout bounds a WebSocket handshake.
	dialTimeout = 10 * time.Second
	// writeWait bounds one client write.
	writeWait = 10 * time.Second
	// waitTimeout is how long a test waits for an expected frame.
	waitTimeout = 30 * time.Second
)

// frame is any server frame; fields an op does not use stay empty.
type frame struct {
	Op        string            `json:"op"`
	ID        string            `json:"id"`
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp int64             `json:"timestamp"`
	Key       *string           `json:"key"`
	KeyB64    *string           `json:"key_b64"`
	Value     json.RawMessage   `json:"value"`
	ValueB64  *string           `json:"value_b64"`
	Headers   map[string]string `json:"headers"`
	Offsets   map[string]int64  `json:"offsets"`
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Details   json.RawMessage   `json:"details"`
}

func (f frame) String() string {
	switch f.Op {
	case "message":
		return fmt.Sprintf("message %s[%d]@%d", f.Topic, f.Partition, f.Offset)
	case "error":
		return fmt.Sprintf("error id=%q code=%s topic=%q: %s", f.ID, f.Code, f.Topic, f.Message)
	}
	return fmt.Sprintf("%s id=%q topic=%q offsets=%v partition=%d offset=%d", f.Op, f.ID, f.Topic, f.Offsets, f.Partition, f.Offset)
}

// wsClient is a test WebSocket client. A goroutine reads every frame into
// a list the test inspects with the wait helpers; a client dialled with
// noRead does not read (a stalled consumer) until startReading.
type wsClient struct {
	t    testing.TB
	name string
	conn *websocket.Conn

	writeMu sync.Mutex

	mu         sync.Mutex
	frames     []frame
	keepBody   bool  // keep message values (false drops them after decoding)
	closeAfter int   // see dialOpts
	readErr    error // what ended the reader
	done       chan struct{}
}

// dialOpts tune dial.
type dialOpts struct {
	// noRead leaves the socket unread.
	noRead bool
	// dropValues forgets message values once read, for large volumes.
	dropValues bool
	// recvBuffer, when positive, is the socket's SO_RCVBUF, set before
	// connecting.
	recvBuffer int
	// closeAfter, when positive, closes the connection once that many
	// message frames were read: a client that goes away mid-stream.
	closeAfter int
}

// dial connects to url and starts reading; the connection is closed at
// cleanup.
func dial(t testing.TB, url string) *wsClient {
	t.Helper()
	return dialWith(t, url, dialOpts{})
}

func dialWith(t testing.TB, url string, o dialOpts) *wsClient {
	t.Helper()
	c, err := tryDial(t, url, o)
	if err != nil {
		t.Fatalf("dialling %s: %v", url, err)
	}
	return c
}

func tryDial(t testing.TB, url string, o dialOpts) (*wsClient, error) {
	d := websocket.Dialer{HandshakeTimeout: dialTimeout}
	if o.recvBuffer > 0 {
		nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.recvBuffer)
			}); err != nil {
				return err
			}
			return serr
		}}
		d.NetDialContext = nd.DialContext
	}
	conn, resp, err := d.DialContext(t.Context(), url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, err
	}
	c := &wsClient{t: t, name: url, conn: conn, keepBody: !o.dropValues, closeAfter: o.closeAfter, done: make(chan struct{})}
	t.Cleanup(func() { _ = conn.Close() })
	if !o.noRead {
		c.startReading()
	}
	return c, nil
}

// startReading starts the reader; dial does it unless noRead was given.
// Call it at most once.
func (c *wsClient) startReading() { go c.readLoop() }

func (c *wsClient) readLoop() {
	defer close(c.done)
	messages := 0
	for {
		if c.closeAfter > 0 && messages == c.closeAfter {
			_ = c.conn.Close()
			c.mu.Lock()
			c.readErr = errClosedByClient
			c.mu.Unlock()
			return
		}
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.mu.Lock()
			c.readErr = fmt.Errorf("server frame is not JSON: %v: %.200q", err, data)
			c.mu.Unlock()
			return
		}
		if !c.keepBody {
			f.Value, f.ValueB64 = nil, nil
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
		if f.Op == "message" {
			messages++
		}
	}
}

// errClosedByClient ends the reader of a client that closed after
// dialOpts.closeAfter messages.
var errClosedByClient = errors.New("closed by the test client")

// send writes v as a JSON text frame.
func (c *wsClient) send(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.TextMessage, data)
}

// sendRaw writes one frame of type mt.
func (c *wsClient) sendRaw(mt int, data []byte) {
	c.t.Helper()
	if err := c.trySend(mt, data); err != nil {
		c.t.Fatalf("writing to %s: %v", c.name, err)
	}
}

func (c *wsClient) trySend(mt int, data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return c.conn.WriteMessage(mt, data)
}

// snapshot returns the frames read so far and the reader's end, if any.
func (c *wsClient) snapshot() ([]frame, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames, c.readErr
}

// count returns how many frames read so far match.
func (c *wsClient) count(match func(frame) bool) int {
	frames, _ := c.snapshot()
	n := 0
	for _, f := range frames {
		if match(f) {
			n++
		}
	}
	return n
}

// waitFrame waits for the first frame that matches and returns it. A
// reader that ends first fails the test.
func (c *wsClient) waitFrame(desc string, match func(frame) bool) frame {
	c.t.Helper()
	var found frame
	eventually(c.t, waitTimeout, func() (bool, string) {
		frames, err := c.snapshot()
		for _, f := range frames {
			if match(f) {
				found = f
				return true, ""
			}
		}
		if err != nil {
			c.t.Fatalf("%s: connection ended before %s: %v (last frames: %v)", c.name, desc, err, tail(frames, 5))
		}
		return false, fmt.Sprintf("%s: no %s among %d frames (last: %v)", c.name, desc, len(frames), tail(frames, 5))
	})
	return found
}

// waitReply waits for the reply to the op with id, of any kind.
func (c *wsClient) waitReply(id string) frame {
	c.t.Helper()
	return c.waitFrame("reply to "+id, func(f frame) bool { return f.ID == id && f.Op != "message" })
}

// subscribe sends a subscribe op and waits for "subscribed".
func (c *wsClient) subscribe(id, topic string, from any) frame {
	c.t.Helper()
	op := map[string]any{"op": "subscribe", "id": id, "topic": topic}
	if from != nil {
		op["from"] = from
	}
	c.send(op)
	f := c.waitReply(id)
	if f.Op != "subscribed" {
		c.t.Fatalf("subscribe %s: got %v", topic, f)
	}
	return f
}

// messages returns the message frames of topic read so far.
func (c *wsClient) messages(topic string) []frame {
	frames, _ := c.snapshot()
	var out []frame
	for _, f := range frames {
		if f.Op == "message" && f.Topic == topic {
			out = append(out, f)
		}
	}
	return out
}

// waitMessages waits until at least n messages of topic have arrived and
// returns them.
func (c *wsClient) waitMessages(topic string, n int) []frame {
	c.t.Helper()
	isMsg := func(f frame) bool { return f.Op == "message" && f.Topic == topic }
	eventually(c.t, waitTimeout, func() (bool, string) {
		got := c.count(isMsg)
		if got >= n {
			return true, ""
		}
		if _, err := c.snapshot(); err != nil {
			c.t.Fatalf("%s: connection ended after %d of %d messages: %v", c.name, got, n, err)
		}
		return false, fmt.Sprintf("%s: %d of %d messages of %s", c.name, got, n, topic)
	})
	return c.messages(topic)
}

// waitClosed waits for the reader to end and returns the close error, a
// *websocket.CloseError when the server sent a close frame.
func (c *wsClient) waitClosed(timeout time.Duration) error {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("%s: still open after %v", c.name, timeout)
	}
	_, err := c.snapshot()
	return err
}

// closeCode returns the close code of err, or 0 when it is no close frame.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// ping sends a ping op and waits for its pong: the socket is open and the
// server read every frame sent before it.
func (c *wsClient) ping(id string) {
	c.t.Helper()
	c.send(map[string]any{"op": "ping", "id": id})
	if f := c.waitReply(id); f.Op != "pong" {
		c.t.Fatalf("ping %s: got %v", id, f)
	}
}

func tail(frames []frame, n int) []frame {
	if len(frames) > n {
		return frames[len(frames)-n:]
	}
	return frames
}
