package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Sentinel errors that the Schemas and Authenticator implementations (or
// adapters around them) return so the bridge can answer with the right code.
var (
	// ErrSchemaUnavailable means the schema catalog could not be reached and
	// its cache could not answer: the op is answered "unavailable".
	ErrSchemaUnavailable = errors.New("schema registry unavailable")
	// ErrTopicNotFound means the topic does not exist and is not created
	// on first use.
	ErrTopicNotFound = errors.New("topic not found")
	// ErrUnauthenticated means a token was missing, invalid or expired.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// FieldError is one failing field of a schema violation.
type FieldError struct {
	// Path locates the field, as "$.customer.email" or "$.tags[1]".
	Path string `json:"path"`
	// Reason says what is wrong with it.
	Reason string `json:"reason"`
}

// SchemaViolation is the error a Schemas implementation returns for input
// that does not match its schema. The bridge answers schema_violation and
// lists Details.
type SchemaViolation struct {
	// Subject is the schema subject the value was checked against.
	Subject string
	// Message summarizes the violation.
	Message string
	// Details lists every failing field.
	Details []FieldError
}

// Error implements error.
func (e *SchemaViolation) Error() string {
	if e.Subject != "" {
		return fmt.Sprintf("schema violation (%s): %s", e.Subject, e.Message)
	}
	return "schema violation: " + e.Message
}

// opError is an error answered to one op; the socket stays open.
type opError struct {
	code    Code
	msg     string
	topic   string
	details any
}

func (e *opError) Error() string { return e.code.String() + ": " + e.msg }

func newOpError(code Code, format string, args ...any) *opError {
	return &opError{code: code, msg: fmt.Sprintf(format, args...)}
}

// classify maps any error from Kafka, the schema catalog or the bridge to
// the protocol's error code. It is the one place where that mapping lives.
func classify(err error) *opError {
	var oe *opError
	if errors.As(err, &oe) {
		return oe
	}
	var sv *SchemaViolation
	if errors.As(err, &sv) {
		details := sv.Details
		if details == nil {
			details = []FieldError{}
		}
		return &opError{code: CodeSchemaViolation, msg: sv.Error(), details: details}
	}
	switch {
	case errors.Is(err, ErrSchemaUnavailable):
		return &opError{code: CodeUnavailable, msg: err.Error()}
	case errors.Is(err, ErrTopicNotFound), errors.Is(err, kerr.UnknownTopicOrPartition):
		return &opError{code: CodeNotFound, msg: err.Error()}
	case errors.Is(err, ErrUnauthenticated):
		return &opError{code: CodeUnauthorized, msg: err.Error()}
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return &opError{code: CodeTooLarge, msg: err.Error()}
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return &opError{code: CodeForbidden, msg: "kafka refused the bridge: " + err.Error()}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrRecordTimeout),
		errors.Is(err, kgo.ErrClientClosed), errors.Is(err, context.Canceled):
		return &opError{code: CodeUnavailable, msg: "kafka did not answer in time: " + err.Error()}
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		if ke.Retriable {
			return &opError{code: CodeUnavailable, msg: err.Error()}
		}
		return &opError{code: CodeInternal, msg: err.Error()}
	}
	return &opError{code: CodeUnavailable, msg: err.Error()}
}
