package main

import (
	"context"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/bridge"
)

// guardAuth lets the bridge call the auth package's Guard.
type guardAuth struct{ g *auth.Guard }

func (a guardAuth) Authenticate(ctx context.Context, token string) (bridge.Principal, error) {
	p, err := a.g.Authenticate(ctx, token)
	if err != nil {
		return nil, wrapUnauthenticated(err)
	}
	return p, nil
}

func (a guardAuth) FailureReason(err error) string { return auth.Reason(err) }

// unauthenticatedError keeps auth's error (for Reason) while matching
// bridge.ErrUnauthenticated.
type unauthenticatedError struct{ err error }

func (e unauthenticatedError) Error() string   { return e.err.Error() }
func (e unauthenticatedError) Unwrap() []error { return []error{e.err, bridge.ErrUnauthenticated} }

func wrapUnauthenticated(err error) error { return unauthenticatedError{err} }
