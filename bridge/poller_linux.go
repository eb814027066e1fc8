//go:build linux

package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
)

// inputPoller waits for input on every plain-TCP socket in one epoll set,
// so an idle socket holds no goroutine and no read buffer. When a socket
// has input (or hung up) it calls session.inputReady, which starts a
// goroutine to read it (session.onInput) unless one runs already; that
// goroutine ends once the input is used up.
//
// Sockets are known by an ID that is never reused, not by descriptor: a
// descriptor closed elsewhere may come back for a new socket. Every epoll
// call on a socket goes through its RawConn, which keeps the descriptor
// open for the call.
type inputPoller struct {
	epfd int
	wake [2]int // a pipe; a byte written to wake[1] ends run
	log  *slog.Logger

	mu     sync.RWMutex // Lock to change socks or close the set; RLock to use them
	socks  map[uint64]*session
	lastID uint64
}

// errPollerStopped is what calls on a stopped poller return.
var errPollerStopped = errors.New("poller stopped")

// pollEvents are what a socket waits for: input, or the peer hanging up.
// One-shot: an event disarms the socket, so the poller hears nothing of
// it while its reader runs (a busy socket costs the poller nothing), and
// the reader re-arms it when it stops. Level-triggered: re-arming a socket
// that has input reports it at once, so input that came after the
// reader's last read is never missed.
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newInputPoller creates the epoll set.
func newInputPoller(log *slog.Logger) (*inputPoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating epoll set: %w", err)
	}
	p := &inputPoller{epfd: epfd, log: log, socks: make(map[uint64]*session)}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("creating poller wake pipe: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // ID 0: the wake pipe
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("polling wake pipe: %w", err)
	}
	return p, nil
}

func (p *inputPoller) closeFDs() {
	_ = syscall.Close(p.epfd)
	_ = syscall.Close(p.wake[0])
	_ = syscall.Close(p.wake[1])
}

// run starts a reader for every socket with input until stop (or until
// epoll_wait fails). Then it closes the epoll set and has every socket
// still registered end its session.
func (p *inputPoller) run() {
	events := make([]syscall.EpollEvent, 256)
	var ready []*session
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			p.log.Error("epoll wait failed: polled sockets are closed, new ones are read on goroutines", slog.Any("error", err))
			break
		}
		stopping := false
		ready = ready[:0]
		p.mu.RLock()
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				stopping = true
			} else if sess := p.socks[id]; sess != nil {
				ready = append(ready, sess)
			}
		}
		p.mu.RUnlock()
		for _, sess := range ready {
			sess.inputReady()
		}
		clear(ready)
		if stopping {
			break
		}
	}
	p.mu.Lock()
	p.closeFDs()
	p.epfd = -1
	left := make([]*session, 0, len(p.socks))
	for _, sess := range p.socks {
		left = append(left, sess)
	}
	p.mu.Unlock()
	for _, sess := range left {
		sess.endReading()
	}
}

// stop ends run. Once run has closed the set (it stopped, or epoll_wait
// failed) it does nothing: the pipe's descriptor may belong to another
// file by then.
func (p *inputPoller) stop() {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.epfd >= 0 {
		_, _ = syscall.Write(p.wake[1], []byte{1})
	}
}

// add registers a session's socket, armed.
func (p *inputPoller) add(sess *session) error {
	p.mu.Lock()
	if p.epfd < 0 {
		p.mu.Unlock()
		return errPollerStopped
	}
	p.lastID++
	sess.pollID = p.lastID
	p.socks[sess.pollID] = sess
	p.mu.Unlock()
	if err := p.ctl(sess, syscall.EPOLL_CTL_ADD); err != nil {
		p.mu.Lock()
		delete(p.socks, sess.pollID)
		p.mu.Unlock()
		return err
	}
	return nil
}

// rearm waits for the socket's next input.
func (p *inputPoller) rearm(sess *session) error {
	return p.ctl(sess, syscall.EPOLL_CTL_MOD)
}

// remove forgets a socket; it must be called before the socket is closed.
func (p *inputPoller) remove(sess *session) {
	p.mu.Lock()
	delete(p.socks, sess.pollID)
	p.mu.Unlock()
	_ = p.ctl(sess, syscall.EPOLL_CTL_DEL)
}

func (p *inputPoller) ctl(sess *session, op int) error {
	p.mu.RLock() // the set stays open for the call
	defer p.mu.RUnlock()
	epfd := p.epfd
	if epfd < 0 {
		return errPollerStopped
	}
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(sess.pollID)), Pad: int32(uint32(sess.pollID >> 32))}
	var ctlErr error
	err := sess.pc.raw.Control(func(fd uintptr) {
		ctlErr = syscall.EpollCtl(epfd, op, int(fd), &ev)
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		return fmt.Errorf("epoll ctl %d on socket: %w", op, err)
	}
	return nil
}

// readOrWait is readNow's callback: one non-blocking read, or, when the
// socket has no input, false, so the runtime waits for input (until the
// read deadline) and calls it again. It takes a chunk from the pool to read
// into and gives it back when there is no input, so a reader waiting for
// input holds none.
func (c *pollConn) readOrWait(fd uintptr) bool {
	if c.readChunk == nil {
		c.readChunk = c.chunks.Get().(*[]byte)
	}
	for {
		c.readN, c.readErr = syscall.Read(int(fd), *c.readChunk)
		if c.readErr != syscall.EINTR {
			break
		}
	}
	if c.readN < 0 {
		c.readN = 0
	}
	if c.readErr == syscall.EAGAIN {
		c.chunks.Put(c.readChunk)
		c.readChunk = nil
		return false
	}
	return true
}
