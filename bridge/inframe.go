package bridge

import (
	"io"
	"sync"
	"sync/atomic"
)

// inFrame holds one client message's payload in a pooled buffer. The
// reader holds a reference while it handles the message, and every record
// whose key or value points into the payload holds one until Kafka
// answered it, so a publish copies nothing out of the frame. The buffer
// goes back to the pool when the last reference is released.
type inFrame struct {
	pool *sync.Pool
	buf  []byte
	refs atomic.Int32
}

// Sizes of inFrame buffers.
const (
	// minFrameBuffer is the first allocation of a new frame buffer.
	minFrameBuffer = 2 << 10
	// maxPooledFrameBuffer is the largest buffer returned to the pool; a
	// larger one (after a big message) is left to the garbage collector.
	maxPooledFrameBuffer = 64 << 10
)

// newInFramePool returns the pool a server's sessions read messages into.
func newInFramePool() *sync.Pool {
	p := &sync.Pool{}
	p.New = func() any { return &inFrame{pool: p, buf: make([]byte, 0, minFrameBuffer)} }
	return p
}

// readInFrame reads the rest of message r, up to limit+1 bytes (one more
// than allowed, so the caller can tell a message that is too large), into
// a frame from pool. The caller holds the one reference.
func readInFrame(pool *sync.Pool, r io.Reader, limit int64) (*inFrame, error) {
	f := pool.Get().(*inFrame)
	f.refs.Store(1)
	b := f.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grows the buffer
		}
		room := b[len(b):cap(b)]
		if over := limit + 1 - int64(len(b)); int64(len(room)) > over {
			room = room[:over]
		}
		n, err := r.Read(room)
		b = b[:len(b)+n]
		f.buf = b
		switch {
		case err == io.EOF:
			return f, nil
		case err != nil:
			f.release()
			return nil, err
		case int64(len(b)) > limit:
			return f, nil
		}
	}
}

// payload is the message's bytes; valid while a reference is held.
func (f *inFrame) payload() []byte { return f.buf }

// retain takes one more reference, for a record that points into the
// payload.
func (f *inFrame) retain() { f.refs.Add(1) }

// release drops one reference; the last one returns the buffer to the
// pool.
func (f *inFrame) release() {
	if f.refs.Add(-1) != 0 {
		return
	}
	if cap(f.buf) <= maxPooledFrameBuffer {
		f.buf = f.buf[:0]
		f.pool.Put(f)
	}
}
