package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/bridge"
	"github.com/sluicehq/sluice/registry"
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

// governorSchemas lets the bridge call the registry package's Governor,
// translating its errors into the bridge's contract.
type governorSchemas struct{ g *registry.Governor }

func (s governorSchemas) EncodeValue(ctx context.Context, topic string, value []byte, isJSON bool) ([]byte, bool, error) {
	out, parsed, err := s.g.EncodeValueParsed(ctx, topic, value, isJSON)
	return out, parsed, translateSchemaError(err)
}

func (s governorSchemas) EncodeKey(ctx context.Context, topic string, key []byte) ([]byte, error) {
	out, err := s.g.EncodeKey(ctx, topic, key)
	return out, translateSchemaError(err)
}

func (s governorSchemas) DecodeValue(ctx context.Context, topic string, value []byte) (bridge.Decoded, error) {
	d, err := s.g.DecodeValue(ctx, topic, value)
	return bridge.Decoded{JSON: d.JSON, SchemaID: d.SchemaID, Framed: d.Framed}, translateSchemaError(err)
}

func translateSchemaError(err error) error {
	if err == nil {
		return nil
	}
	var ve *registry.ViolationError
	if errors.As(err, &ve) {
		details := make([]bridge.FieldError, len(ve.Details))
		for i, d := range ve.Details {
			details[i] = bridge.FieldError{Path: d.Path, Reason: d.Reason}
		}
		return &bridge.SchemaViolation{Subject: ve.Subject, Message: ve.Message, Details: details}
	}
	if errors.Is(err, registry.ErrUnavailable) {
		return fmt.Errorf("%w: %w", bridge.ErrSchemaUnavailable, err)
	}
	return err
}
