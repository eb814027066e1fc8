package bridge

import (
	"net"
	"time"
)

// pingFrame is the server's keepalive ping, shared by every socket.
var pingFrame = controlFrame(opPing, nil)

// writeRun is the only writer of the socket while it runs. A push to an
// empty queue starts it; it coalesces everything queued into vectored
// writes and exits when the queue is empty, so an idle socket holds no
// writer goroutine. Once the session closes, it writes what the close asks
// for, the close frame, and ends the session's writing for good.
func (s *session) writeRun() {
	for {
		if s.isClosing() {
			s.finishClose()
			return
		}
		if err := s.flush(); err != nil {
			s.writeFailed(err)
			continue // closing now: finishClose ends the writer
		}
		s.qmu.Lock()
		if len(s.queue) == 0 && !s.isClosing() {
			s.writerActive = false
			s.qmu.Unlock()
			return
		}
		s.qmu.Unlock()
	}
}

// finishClose runs once, on the last writer: it flushes the queue when the
// close is orderly, sends the close frame and gives the client CloseGrace
// to answer before the read loop ends.
func (s *session) finishClose() {
	defer close(s.writerDone)
	if s.pc != nil {
		// A polled socket has no reader waiting for a deadline (and one
		// closed here is no longer in the poller): a reader is woken to
		// end the session when the grace is over, unless the client's
		// close reply (or any other end of reading) came first.
		defer time.AfterFunc(s.srv.cfg.CloseGrace, s.endReading)
	}
	if s.flushFirst {
		if err := s.flush(); err != nil {
			s.flushFirst = false
			_ = s.nc.Close()
			return
		}
	}
	s.dropQueue()
	if s.closeCode != 0 {
		_ = s.writeFrames([][]byte{closeFrame(s.closeCode, s.closeText)})
	}
	_ = s.nc.SetReadDeadline(time.Now().Add(s.srv.cfg.CloseGrace))
}

// flush writes every queued frame.
func (s *session) flush() error {
	s.qmu.Lock()
	batch := s.queue
	s.queue, s.spare = s.spare[:0], nil
	s.qmu.Unlock()
	select {
	case s.room <- struct{}{}:
	default:
	}
	if len(batch) == 0 {
		return nil
	}
	err := s.writeFrames(batch)
	clear(batch)
	s.qmu.Lock()
	if s.spare == nil && cap(batch) <= 4*s.queueMax {
		s.spare = batch[:0]
	}
	s.qmu.Unlock()
	return err
}

func (s *session) dropQueue() {
	s.qmu.Lock()
	s.queue = nil
	s.qmu.Unlock()
}

// writeFrames writes frames in one vectored write, bounded by WriteTimeout
// (at least WriteTimeout less maxDeadlineSlack: like the read deadline, the
// write deadline is pushed out at most once per slack, not on every flush).
func (s *session) writeFrames(frames [][]byte) error {
	if now := time.Now(); now.Sub(s.writeDeadlineSetAt) >= min(maxDeadlineSlack, s.srv.cfg.WriteTimeout/10) {
		if err := s.nc.SetWriteDeadline(now.Add(s.srv.cfg.WriteTimeout)); err != nil {
			return err
		}
		s.writeDeadlineSetAt = now
	}
	bufs := net.Buffers(frames)
	n, err := bufs.WriteTo(s.nc)
	s.bytesOut.Add(n)
	return err
}

// writeFailed ends a session whose socket cannot take writes: a write that
// times out is a consumer too slow to keep up.
func (s *session) writeFailed(err error) {
	reason := reasonWriteError
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		reason = reasonSlowConsumer
	}
	s.close(0, "", reason, false)
	_ = s.nc.Close()
}

// runPinger queues a keepalive ping to every socket every PongWait*9/10,
// so no socket needs a timer of its own. Every PongWait/10 it drops polled
// sockets that stayed silent for PongWait (they have no read deadline), so
// one is dropped at most PongWait*11/10 after it went silent. A socket
// whose queue is full gets no ping; it is closed as a slow consumer by its
// next live frame, or as idle.
func (s *Server) runPinger() {
	const checksPerPing = 9 // checks every PongWait/10, pings every ninth
	t := time.NewTicker(s.cfg.PongWait / 10)
	defer t.Stop()
	var sessions []*session
	for tick := 1; ; tick++ {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		sessions = sessions[:0]
		for sess := range s.sessions {
			sessions = append(sessions, sess)
		}
		s.mu.Unlock()
		ping := tick%checksPerPing == 0
		silentSince := time.Now().Add(-s.cfg.PongWait).UnixNano()
		for _, sess := range sessions {
			if sess.pc != nil && sess.pc.heard.Load() < silentSince {
				sess.close(ClosePolicy, "idle: no pong", reasonIdle, false)
				continue
			}
			if ping {
				sess.push(pingFrame, sess.queueMax)
			}
		}
		clear(sessions)
	}
}
