package bridge

import (
	"context"
	"time"
)

// Principal is what the bridge asks of an authenticated connection. The
// auth package's principal satisfies it; it must be safe for concurrent use.
type Principal interface {
	// CanSubscribe reports whether the connection may read topic.
	CanSubscribe(topic string) bool
	// CanPublish reports whether the connection may write to topic.
	CanPublish(topic string) bool
	// KeyRestriction reports whether subscriptions to topic only receive
	// records whose key equals key.
	KeyRestriction(topic string) (key string, restricted bool)
	// Claim returns a string claim of the token, for route templates.
	Claim(name string) (string, bool)
	// ExpiresAt is when the token expires; the zero time means never.
	ExpiresAt() time.Time
}

// Authenticator verifies tokens. Errors must wrap ErrUnauthenticated.
// A nil Authenticator lets every connection do everything (auth.mode none).
type Authenticator interface {
	// Authenticate verifies token and returns its principal.
	Authenticate(ctx context.Context, token string) (Principal, error)
	// FailureReason names why err refused a token, from a small fixed set
	// (for metrics labels): "missing", "expired", "signature", ...
	FailureReason(err error) string
}

// Schemas validates, encodes and decodes records on governed topics. A nil
// Schemas passes every record through unchanged.
type Schemas interface {
	// EncodeValue validates a published value for topic and returns the
	// bytes to write. isJSON is false when the client sent raw bytes.
	// parsedJSON reports that it parsed a JSON value in full and would
	// have refused one that is not valid JSON and UTF-8 (an Avro schema
	// applied); the bridge then does not check the value itself.
	// A violation returns a *SchemaViolation; an unreachable catalog an
	// error wrapping ErrSchemaUnavailable.
	EncodeValue(ctx context.Context, topic string, value []byte, isJSON bool) (out []byte, parsedJSON bool, err error)
	// EncodeKey does the same for a record key.
	EncodeKey(ctx context.Context, topic string, key []byte) ([]byte, error)
	// DecodeValue turns a stored value into JSON when it is schema-framed.
	DecodeValue(ctx context.Context, topic string, value []byte) (Decoded, error)
}

// Decoded is the result of Schemas.DecodeValue.
type Decoded struct {
	// JSON is the decoded value, when Framed and decoding succeeded.
	JSON []byte
	// SchemaID is the schema the value names, when Framed.
	SchemaID int
	// Framed reports whether the value carries a schema wire-format header.
	Framed bool
}

// allowAll is the principal of every connection when no Authenticator is
// configured (auth.mode none).
type allowAll struct{}

func (allowAll) CanSubscribe(string) bool             { return true }
func (allowAll) CanPublish(string) bool               { return true }
func (allowAll) KeyRestriction(string) (string, bool) { return "", false }
func (allowAll) Claim(string) (string, bool)          { return "", false }
func (allowAll) ExpiresAt() time.Time                 { return time.Time{} }
