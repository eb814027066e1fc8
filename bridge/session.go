package bridge

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/topics"
	"golang.org/x/time/rate"
)

// closeReason records why a session ended, for logs and metrics.
type closeReason uint8

const (
	reasonClientClosed closeReason = iota
	reasonConnLost
	reasonShutdown
	reasonSlowConsumer
	reasonTooLarge
	reasonUnauthorized
	reasonPolicy
	reasonWriteError
	reasonIdle
	reasonInternal
	closeReasonCount
)

var closeReasonNames = [closeReasonCount]string{
	reasonClientClosed: "client_closed",
	reasonConnLost:     "connection_lost",
	reasonShutdown:     "shutdown",
	reasonSlowConsumer: "slow_consumer",
	reasonTooLarge:     "too_large",
	reasonUnauthorized: "unauthorized",
	reasonPolicy:       "policy",
	reasonWriteError:   "write_error",
	reasonIdle:         "idle_timeout",
	reasonInternal:     "internal_error",
}

// String names the reason as logs and metrics show it.
func (r closeReason) String() string {
	if r < closeReasonCount {
		return closeReasonNames[r]
	}
	return "unknown"
}

// session is one WebSocket connection. Its read loop runs on the goroutine
// ServeHTTP starts for it (the HTTP handler returns at once); its writer on a
// goroutine that runs only while frames are queued. Every frame goes through
// the bounded queue; nothing else writes to the socket.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	nc     net.Conn
	remote string // the client's address, for logs
	ctx    context.Context
	cancel context.CancelFunc
	opened time.Time

	// route is set for route-mode connections, with its resolved topic.
	route      *topics.Route
	routeTopic string
	routeLabel string

	principal atomic.Pointer[principalBox]

	// queue of ready frames, guarded by qmu. writerActive is true while a
	// writer goroutine runs (it exits when the queue is empty, so an idle
	// socket has none); room is signalled when the writer drains.
	qmu          sync.Mutex
	queue        [][]byte
	spare        [][]byte
	queueMax     int
	writerActive bool
	room         chan struct{}

	closeOnce   sync.Once
	closed      atomic.Bool   // set as close begins; isClosing reads it (cheaper than closing)
	closing     chan struct{} // closed as close begins, for selects
	closeCode   int
	closeText   string
	closeReason closeReason
	flushFirst  bool
	writerDone  chan struct{}

	// subs is owned by the read loop while it runs, then by cleanup.
	subsMu sync.Mutex
	subs   map[string]*subscription
	groups map[string]*groupSub // nil until the socket joins a group

	ip           string
	publishLimit *rate.Limiter // nil when publish_rate is 0

	frame         *inFrame  // the message being handled (op handlers retain it for records that point into it)
	readAt        time.Time // when that message was read: a publish's receive time and its record's timestamp
	lastTopic     string    // the topic of the last op that named one: its next frame reuses the string
	deadlineSetAt time.Time // when the read loop last pushed its deadline

	// pc is the connection gorilla reads through when the server polls
	// sockets (plain TCP on Linux); nil otherwise. pollID is its ID in the
	// poller. inputState (inputIdle, inputReading, inputAgain) makes sure
	// at most one goroutine reads the socket; it stays inputReading once
	// reading ended for good, so no reader starts after finish.
	pc         *pollConn
	pollID     uint64
	inputState atomic.Int32

	authTimer *time.Timer // closes a socket that does not authenticate in time

	writeDeadlineSetAt time.Time // owned by the writer running at the time

	inflight   chan struct{}
	denials    denialWindow
	authTimers sessionAuth

	bytesIn  atomic.Int64
	bytesOut atomic.Int64
}

// logger is the server's logger with the socket's address and path. It is
// built per call: sessions log rarely, and an idle socket should not hold a
// logger of its own.
func (s *session) logger() *slog.Logger {
	return s.srv.log.With("remote", s.remote, "path", s.routeLabel)
}

// principalBox lets an interface value sit behind an atomic.Pointer.
type principalBox struct{ p Principal }

func (s *session) currentPrincipal() Principal {
	if b := s.principal.Load(); b != nil {
		return b.p
	}
	return nil
}

// enqueue queues a frame without blocking. A full queue closes the session
// as a slow consumer: one slow socket never slows the fan-out or others.
func (s *session) enqueue(frame []byte) bool {
	queued, closing := s.push(frame, s.queueMax)
	if !queued && !closing {
		s.close(ClosePolicy, "slow_consumer", reasonSlowConsumer, false)
	}
	return queued
}

// pushHistory queues a history frame, waiting for room rather than failing:
// a replay is paced by the socket. It leaves half the queue free for live
// frames and replies, so a replay never makes the session a slow consumer.
func (s *session) pushHistory(ctx context.Context, frame []byte) error {
	for {
		queued, closing := s.push(frame, s.queueMax/2)
		switch {
		case queued:
			return nil
		case closing:
			return context.Canceled
		}
		select {
		case <-s.room:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return context.Canceled
		}
	}
}

// push appends frame when the queue holds fewer than limit frames, and
// starts a writer when none runs. It never blocks.
func (s *session) push(frame []byte, limit int) (queued, closing bool) {
	s.qmu.Lock()
	if s.isClosing() {
		s.qmu.Unlock()
		return false, true
	}
	if len(s.queue) >= limit {
		s.qmu.Unlock()
		return false, false
	}
	s.queue = append(s.queue, frame)
	start := !s.writerActive
	s.writerActive = true
	s.qmu.Unlock()
	if start {
		go s.writeRun()
	}
	return true, false
}

// isClosing reports whether the session is closing.
func (s *session) isClosing() bool { return s.closed.Load() }

// close asks the writer to send a close frame and end the session. Only
// the first call counts. flushFirst sends already queued frames before the
// close frame (an orderly close); otherwise they are dropped.
func (s *session) close(code int, text string, reason closeReason, flushFirst bool) {
	s.closeOnce.Do(func() {
		s.closeCode, s.closeText, s.closeReason, s.flushFirst = code, text, reason, flushFirst
		s.closed.Store(true)
		close(s.closing)
		// A writer sends the close frame: the running one, or a new one.
		s.qmu.Lock()
		start := !s.writerActive
		s.writerActive = true
		s.qmu.Unlock()
		if start {
			go s.writeRun()
		}
	})
}

// denialWindow counts forbidden answers in a row; enough of them within a
// minute close the socket (1008).
type denialWindow struct {
	count int
	first time.Time
}

const (
	maxDenials    = 5
	denialsWithin = time.Minute
)

// deny records one denial and reports whether the socket should close.
func (d *denialWindow) deny(now time.Time) bool {
	if d.count == 0 || now.Sub(d.first) > denialsWithin {
		d.count, d.first = 0, now
	}
	d.count++
	return d.count >= maxDenials
}

func (d *denialWindow) reset() { d.count = 0 }
