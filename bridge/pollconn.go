package bridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pollConn is the net.Conn gorilla reads a socket through. Input is read
// from the socket into a chunk from the server's pool and the chunk goes
// back to the pool as soon as gorilla has taken it all, so an idle socket
// holds no read buffer; gorilla's own buffer is the smallest it allows.
//
// While the socket is polled (see inputPoller), a read at a message
// boundary waits at most pollLinger for input: then it hands gorilla an
// empty binary frame of its own instead, gorilla's NextReader returns it,
// and the session sees takeEnd and leaves the socket to the poller. The frameTracker
// makes sure that frame is only ever handed over between messages. Inside a
// frame or a fragmented message reads block as usual.
//
// Writes, deadlines and Close go straight to the socket; the session writes
// to the socket itself, not through this wrapper.
type pollConn struct {
	net.Conn
	raw       syscall.RawConn // nil when the socket has no file descriptor
	chunks    *sync.Pool      // of *[]byte, chunkSize bytes each
	chunkSize int

	// Owned by the one goroutine reading the socket at a time.
	polled bool    // reads at a boundary end with endOfInput instead of waiting
	chunk  *[]byte // input read but not yet handed over; nil when none
	r, w   int
	track  frameTracker
	end    []byte // what is left to hand over of the end-of-input frame
	ended  bool   // an end-of-input frame was handed over, not yet taken

	// readNow's syscall and its results: the callback is built once.
	waitFn    func(uintptr) bool // readOrWait
	readChunk *[]byte            // the chunk the callbacks read into; back in the pool while waiting
	readN     int
	readErr   error

	heard   atomic.Int64 // unix nanoseconds of the last whole message or control frame (session.extendReadDeadline)
	stopped atomic.Bool  // set by stop: every read fails from now on
}

// pollLinger is how long a polled socket's reader waits for more input
// at a message boundary, on the runtime's own poller, before it hands the
// socket to the inputPoller and ends. A busy socket (a publisher with acks
// in flight) is read by one goroutine for as long as it stays busy, and
// skips the hand-over's wake-up and goroutine start; an idle one holds its
// reader this long after its last input.
const pollLinger = time.Millisecond

// endOfInput is a masked, empty, final binary frame: what gorilla gets
// when a polled socket's input runs out between messages.
var endOfInput = [...]byte{0x82, 0x80, 0, 0, 0, 0}

// newPollConn wraps an accepted connection.
func newPollConn(c net.Conn, chunks *sync.Pool, chunkSize int) *pollConn {
	pc := &pollConn{Conn: c, chunks: chunks, chunkSize: chunkSize}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			pc.raw = raw
		}
	}
	pc.waitFn = pc.readOrWait
	pc.heard.Store(time.Now().UnixNano())
	return pc
}

// pollable reports whether the socket can be waited on without a goroutine.
func (c *pollConn) pollable() bool { return c.raw != nil }

// Read hands gorilla buffered input, reading more from the socket when it
// has none.
func (c *pollConn) Read(p []byte) (int, error) {
	if c.stopped.Load() {
		return 0, errReadingStopped
	}
	if len(c.end) > 0 {
		n := copy(p, c.end)
		c.end = c.end[n:]
		return n, nil
	}
	if c.chunk == nil {
		switch {
		case c.polled && c.track.atBoundary():
			more, err := c.readLinger()
			if err != nil {
				return 0, err
			}
			if !more {
				c.ended = true
				n := copy(p, endOfInput[:])
				c.end = endOfInput[n:]
				return n, nil
			}
		case len(p) >= c.chunkSize:
			// A large payload goes straight into the caller's buffer.
			n, err := c.Conn.Read(p)
			c.track.feed(p[:n])
			return n, err
		default:
			if err := c.readWait(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(p, (*c.chunk)[c.r:c.w])
	c.r += n
	c.track.feed(p[:n])
	if c.r == c.w {
		c.chunks.Put(c.chunk)
		c.chunk = nil
	}
	return n, nil
}

// takeEnd reports, once, that gorilla's last message was the end-of-input
// frame: the socket has no more input for now.
func (c *pollConn) takeEnd() bool {
	if c.ended {
		c.ended = false
		return true
	}
	return false
}

// readWait reads into a chunk from the pool, waiting for input (inside a
// frame). Like readLinger, it takes the chunk only once there is input, so
// a socket waiting for the rest of a frame holds none.
func (c *pollConn) readWait() error {
	if c.raw == nil {
		buf := c.chunks.Get().(*[]byte)
		n, err := c.Conn.Read(*buf)
		if n == 0 {
			c.chunks.Put(buf)
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		c.chunk, c.r, c.w = buf, 0, n
		return nil
	}
	more, err := c.readNow()
	if err == nil && !more {
		err = io.ErrNoProgress
	}
	return err
}

// errReadingStopped is what reads return after stop.
var errReadingStopped = errors.New("reading stopped: close grace over")

// stop fails every read from now on, a blocked one at once.
func (c *pollConn) stop() {
	c.stopped.Store(true)
	_ = c.Conn.SetReadDeadline(time.Now())
}

// readLinger reads, waiting up to pollLinger for input; more is false when
// none came. A deadline that passes before the runtime even tried to read
// (a busy scheduler) also says none came: the socket is then re-armed
// level-triggered, which reports input already there at once.
func (c *pollConn) readLinger() (more bool, err error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(pollLinger)); err != nil {
		return false, err
	}
	more, err = c.readNow()
	_ = c.Conn.SetReadDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) && !c.stopped.Load() {
		return false, nil
	}
	return more, err
}

// readNow reads into a chunk from the pool, waiting for input until the
// read deadline; more is false when the socket has no input.
func (c *pollConn) readNow() (more bool, err error) {
	err = c.raw.Read(c.waitFn)
	n, rerr, buf := c.readN, c.readErr, c.readChunk
	c.readChunk, c.readErr = nil, nil
	if buf == nil { // no input (the callback gave its chunk back), or it never ran
		return false, err
	}
	switch {
	case err != nil: // closed, or past the read deadline
	case rerr != nil:
		err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: fmt.Errorf("read: %w", rerr)}
	case n == 0:
		err = io.EOF
	default:
		c.chunk, c.r, c.w = buf, 0, n
		return true, nil
	}
	c.chunks.Put(buf)
	return false, err
}
