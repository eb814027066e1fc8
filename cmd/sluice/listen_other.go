//go:build !unix

package main

import (
	"context"
	"errors"
	"net"
)

// listen opens the endpoint's TCP listener; SO_REUSEPORT is a Unix option.
func listen(ctx context.Context, addr string, reusePort bool) (net.Listener, error) {
	if reusePort {
		return nil, errors.New("listen_reuse_port needs SO_REUSEPORT, which this platform does not have")
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}
