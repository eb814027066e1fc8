//go:build !linux

package bridge

import (
	"errors"
	"log/slog"
)

// inputPoller is Linux-only (epoll); elsewhere every socket keeps a
// goroutine that reads it.
type inputPoller struct{}

func newInputPoller(*slog.Logger) (*inputPoller, error) {
	return nil, errors.ErrUnsupported
}

func (*inputPoller) run()                 {}
func (*inputPoller) stop()                {}
func (*inputPoller) add(*session) error   { return errors.ErrUnsupported }
func (*inputPoller) rearm(*session) error { return errors.ErrUnsupported }
func (*inputPoller) remove(*session)      {}

// readOrWait is never called without a poller.
func (c *pollConn) readOrWait(uintptr) bool {
	c.readN, c.readErr = 0, errors.ErrUnsupported
	return true
}
