package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Client-side limits.
const (
	// dialTimeout bounds one TCP connect plus WebSocket handshake.
	dialTimeout = 15 * time.Second
	// writeWait bounds one client write.
	writeWait = 10 * time.Second
	// clientBufferSize is the read and write buffer of a bench socket.
	clientBufferSize = 4096
)

// dialer opens WebSocket connections from several loopback source
// addresses (127.0.0.2, 127.0.0.3, …) in turn, so the number of sockets is
// not bounded by one address's ephemeral port range.
type dialer struct {
	sources []net.IP
	next    atomic.Uint64
}

func newDialer(sourceAddrs int) *dialer { return newDialerFrom(0, sourceAddrs) }

// newDialerFrom uses n source addresses from 127.0.0.(2+first) on, so
// dialing processes can each take their own.
func newDialerFrom(first, n int) *dialer {
	d := &dialer{}
	for i := range n {
		d.sources = append(d.sources, net.IPv4(127, 0, 0, byte(2+first+i)))
	}
	return d
}

// dial opens one connection to url.
func (d *dialer) dial(ctx context.Context, url string) (*websocket.Conn, error) {
	src := d.sources[d.next.Add(1)%uint64(len(d.sources))]
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: dialTimeout}
	wd := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: dialTimeout,
		ReadBufferSize:   clientBufferSize,
		WriteBufferSize:  clientBufferSize,
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, resp, err := wd.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dialing %s from %s: %w", url, src, err)
	}
	return c, nil
}

// dialAll opens n connections with at most concurrency handshakes at once
// and calls setup on each (subscribe and wait for the answer, say). It
// returns the connections that succeeded, in order, and the first error
// with the count of failures. onDone is called after each connection.
func (d *dialer) dialAll(ctx context.Context, url string, n, concurrency int, setup func(i int, c *websocket.Conn) error, onDone func()) ([]*websocket.Conn, int, error) {
	conns := make([]*websocket.Conn, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		failed   int
	)
	sem := make(chan struct{}, concurrency)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return compact(conns), failed + n - i, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := d.dial(ctx, url)
			if err == nil && setup != nil {
				if err = setup(i, c); err != nil {
					c.Close()
				}
			}
			if err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			conns[i] = c
			if onDone != nil {
				onDone()
			}
		}()
	}
	wg.Wait()
	return compact(conns), failed, firstErr
}

func compact(conns []*websocket.Conn) []*websocket.Conn {
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// subscribeAndWait sends a subscribe op and reads until its answer.
func subscribeAndWait(c *websocket.Conn, topic string) error {
	_ = c.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","id":"s","topic":"`+topic+`"}`)); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(dialTimeout))
	defer c.SetReadDeadline(time.Time{})
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("waiting for subscribed: %w", err)
		}
		switch frameOp(msg) {
		case "subscribed":
			return nil
		case "error":
			return fmt.Errorf("subscribe refused: %s", msg)
		}
	}
}

// closeAll closes every connection, politely first, in parallel.
func closeAll(conns []*websocket.Conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = c.Close()
		}()
	}
	wg.Wait()
}

// readMessageInto reads the next message into buf (reused, so a busy
// reader does not allocate per message).
func readMessageInto(c *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := c.NextReader()
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// frameOp returns the op of a server frame cheaply: Sluice writes "op"
// first, so it is read from the prefix; anything else is parsed loosely.
func frameOp(msg []byte) string {
	const prefix = `{"op":"`
	if len(msg) > len(prefix) && string(msg[:len(prefix)]) == prefix {
		rest := msg[len(prefix):]
		for i, b := range rest {
			if b == '"' {
				return string(rest[:i])
			}
		}
	}
	return ""
}

// isCloseErr reports whether err is the peer's close, and its code.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}
