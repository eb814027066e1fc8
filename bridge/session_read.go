package bridge

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// installReadHandlers answers the client's control frames: pings with a
// pong, pongs by extending the read deadline, and a close frame by echoing
// its code.
func (s *session) installReadHandlers() {
	s.conn.SetPingHandler(func(data string) error {
		s.extendReadDeadline(time.Now())
		s.enqueue(controlFrame(opPong, []byte(data)))
		return nil
	})
	s.conn.SetPongHandler(func(string) error {
		s.extendReadDeadline(time.Now())
		return nil
	})
	s.conn.SetCloseHandler(func(code int, text string) error {
		// Echo the client's close code, as RFC 6455 §5.5.1 asks.
		if code == websocket.CloseNoStatusReceived {
			code = CloseNormal
		}
		s.close(code, "", reasonClientClosed, true)
		return nil
	})
}

// readLoop reads messages until the connection ends, answering each op.
// It runs on a goroutine of the session's own (sockets the server does not
// poll) and returns the reason it ended.
func (s *session) readLoop() closeReason {
	s.installReadHandlers()
	s.extendReadDeadline(time.Now())
	for {
		mt, r, err := s.conn.NextReader()
		if err != nil {
			return s.readEnded(err)
		}
		if reason, ended := s.handleMessage(mt, r); ended {
			return reason
		}
	}
}

// States of a polled socket's input (session.inputState).
const (
	inputIdle    = iota // no reader runs; the next input starts one
	inputReading        // a reader runs
	inputAgain          // a reader runs and must read once more before it stops
)

// inputReady starts a reader for a polled socket, or, when one runs, makes
// it read once more before it stops. The poller calls it on an input event
// (a socket is disarmed while its reader runs, so one event per reader);
// endReading calls it once.
func (s *session) inputReady() {
	for {
		switch s.inputState.Load() {
		case inputIdle:
			if s.inputState.CompareAndSwap(inputIdle, inputReading) {
				go s.onInput()
				return
			}
		case inputReading:
			if s.inputState.CompareAndSwap(inputReading, inputAgain) {
				return
			}
		default:
			return
		}
	}
}

// onInput is a polled socket's reader. It answers every message the socket
// has and, when gorilla finds no more input at a message boundary, re-arms
// the socket in the poller and stops; it ends the session when reading
// ended (or endReading asked it to). It runs on a goroutine of its own that
// ends with it, so an idle socket holds none.
func (s *session) onInput() {
	for {
		reason, ended := s.readSafely(s.drainInput)
		if !ended && s.pc.stopped.Load() {
			reason, ended = s.readEnded(errReadingStopped), true
		}
		if !ended {
			if err := s.srv.poller.rearm(s); err != nil {
				reason, ended = s.readEnded(err), true
			}
		}
		if ended {
			// The state stays inputReading: no reader starts again.
			s.srv.finish(s, reason)
			return
		}
		if s.inputState.CompareAndSwap(inputReading, inputIdle) {
			return
		}
		s.inputState.Store(inputReading) // was inputAgain
	}
}

// endReading has a polled socket's reader end the session (the close
// grace is over, or the poller stopped): now if no reader runs, or as soon
// as the running one reads again.
func (s *session) endReading() {
	s.pc.stop()
	s.inputReady()
}

// drainInput answers every message the socket has ready. ended is false
// when the input ran out (the poller waits for more).
func (s *session) drainInput() (reason closeReason, ended bool) {
	for {
		mt, r, err := s.conn.NextReader()
		if err != nil {
			return s.readEnded(err), true
		}
		if s.pc.takeEnd() {
			return 0, false
		}
		if reason, ended := s.handleMessage(mt, r); ended {
			return reason, true
		}
	}
}

// handleMessage reads one message and answers it; ended is true when the
// session is over.
func (s *session) handleMessage(mt int, r io.Reader) (reason closeReason, ended bool) {
	limit := s.srv.cfg.ReadLimit
	f, err := readInFrame(s.srv.inFrames, r, limit)
	if err != nil {
		return s.readEnded(err), true
	}
	data := f.payload()
	if int64(len(data)) > limit {
		f.release()
		s.close(CloseTooBig, "frame larger than max_frame_bytes", reasonTooLarge, true)
		return reasonTooLarge, true
	}
	s.bytesIn.Add(int64(len(data)))
	s.readAt = time.Now()
	s.extendReadDeadline(s.readAt)
	s.frame = f
	if s.route != nil {
		s.handleRouteFrame(mt, data)
	} else {
		s.handleFrame(mt, data)
	}
	s.frame = nil
	f.release()
	if s.isClosing() {
		return s.closeReason, true
	}
	return 0, false
}

// maxDeadlineSlack is how stale a socket's read deadline may get before it
// is pushed out again: re-arming it on every frame costs a timer update per
// frame, so a busy socket re-arms it at most once per slack. Pings go out
// every PongWait*9/10, so a pong can come as late as PongWait/10 before the
// deadline; the slack is at most PongWait/20, so a pong always re-arms it in
// time, with room for the round trip.
const maxDeadlineSlack = time.Second

// extendReadDeadline pushes the read deadline out to PongWait from now,
// after each message and control frame. A polled socket has none: it
// records the time instead, the pinger drops it when it has been silent for
// PongWait, and a reader stuck inside a frame then ends with the close
// grace.
func (s *session) extendReadDeadline(now time.Time) {
	if s.pc != nil {
		// Heard per message, not per byte: a frame trickled in byte by
		// byte does not keep a socket alive. The pinger reads this for
		// every socket with a pollConn, polled or not.
		s.pc.heard.Store(now.UnixNano())
		if s.pc.polled {
			return
		}
	}
	if now.Sub(s.deadlineSetAt) < min(maxDeadlineSlack, s.srv.cfg.PongWait/20) {
		return
	}
	s.deadlineSetAt = now
	_ = s.nc.SetReadDeadline(now.Add(s.srv.cfg.PongWait))
}

// readEnded classifies the error that ended the read loop.
func (s *session) readEnded(err error) closeReason {
	if s.isClosing() {
		return s.closeReason
	}
	if s.pc != nil && s.pc.stopped.Load() {
		// The poller stopped (epoll_wait failed) while the socket was
		// open: its failed read is the server's doing, not an idle client.
		return reasonInternal
	}
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return reasonClientClosed
	case errors.As(err, &ne) && ne.Timeout():
		s.close(ClosePolicy, "idle: no pong", reasonIdle, false)
		return reasonIdle
	}
	return reasonConnLost
}

// handleFrame answers one frame of the JSON protocol.
func (s *session) handleFrame(mt int, data []byte) {
	if mt != websocket.TextMessage {
		s.reply("", newOpError(CodeBadRequest, "binary frames are not part of the protocol: send JSON text frames"))
		return
	}
	in := inbound{knownTopic: s.lastTopic}
	if err := parseInbound(data, &in); err != nil {
		s.reply("", newOpError(CodeBadRequest, "frame is not a JSON object: %v", err))
		return
	}
	if s.currentPrincipal() == nil && in.Op != "auth" {
		s.srv.metrics.authFailures.WithLabelValues("missing").Inc()
		s.close(CloseUnauthorized, "authenticate first: send {\"op\":\"auth\",\"token\":...}", reasonUnauthorized, true)
		return
	}
	if in.Topic != "" {
		s.lastTopic = in.Topic
	}
	switch in.Op {
	case "subscribe":
		s.subscribe(&in)
	case "unsubscribe":
		s.unsubscribe(&in)
	case "publish":
		s.publishOp(&in)
	case "ping":
		s.enqueue(replyFrame(idReply{Op: "pong", ID: in.ID}))
	case "auth":
		s.authOp(&in)
	case "ack":
		s.ackOp(&in)
	case "":
		s.reply(in.ID, newOpError(CodeBadRequest, "frame has no \"op\""))
	default:
		s.reply(in.ID, newOpError(CodeBadRequest, "unknown op %q: want subscribe, unsubscribe, publish, ack, ping or auth", in.Op))
	}
}

// reply answers an op with an error frame and counts it.
func (s *session) reply(id string, err error) {
	oe := classify(err)
	s.srv.metrics.errors.WithLabelValues(oe.code.String()).Inc()
	if oe.code == CodeInternal || oe.code == CodeUnavailable {
		s.logger().Warn("op failed", slog.String("id", id), slog.String("code", oe.code.String()), slog.Any("error", err))
	}
	s.enqueue(errorFrame(id, oe))
}

// forbidden answers a denied op; too many denials in a row close the socket.
func (s *session) forbidden(id, topic, what string) {
	s.srv.metrics.authFailures.WithLabelValues("forbidden").Inc()
	s.reply(id, &opError{code: CodeForbidden, msg: "token does not grant " + what + " on " + topic, topic: topic})
	if s.denials.deny(time.Now()) {
		s.close(ClosePolicy, "too many forbidden operations", reasonPolicy, true)
	}
}
