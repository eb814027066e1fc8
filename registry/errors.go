package registry

import (
	"errors"
	"strings"
)

// ErrUnavailable reports that the remote schema registry could not be reached
// (network error, timeout, 5xx answer or rejected credentials) and the cache
// held nothing usable. Test for it with errors.Is; it is always wrapped with
// the subject or schema ID that was being looked up.
var ErrUnavailable = errors.New("schema registry unavailable")

// ErrUnknownSchemaID reports that a framed record names a schema ID that the
// catalog does not know. DecodeValue and DecodeKey return it wrapped, together
// with the ID in Decoded.SchemaID.
var ErrUnknownSchemaID = errors.New("unknown schema id")

// ErrMalformed reports a framed record whose payload does not decode with the
// schema its ID names (truncated data, bad union index, trailing bytes, …).
var ErrMalformed = errors.New("malformed schema-framed record")

// ErrUnsupportedSchema reports a schema the governor cannot use: a schema type
// other than AVRO and JSON (for example PROTOBUF) or a schema with
// references to other subjects.
var ErrUnsupportedSchema = errors.New("unsupported schema")

// ErrClosed is returned by lookups that start after Close.
var ErrClosed = errors.New("registry governor closed")

// maxDetails bounds the number of FieldError entries one ViolationError
// carries, so that a huge invalid document cannot produce a huge error frame.
const maxDetails = 100

// FieldError is one failing location of a document: Path is a JSONPath-like
// location ("$", "$.amount", "$.tags[1]", "$.customer.email") and Reason says
// what is wrong there.
type FieldError struct {
	// Path locates the failing value, rooted at "$".
	Path string `json:"path"`
	// Reason says why the value was rejected.
	Reason string `json:"reason"`
}

// ViolationError is returned when a record does not satisfy the schema of its
// subject, when a governed topic's subject is missing from the catalog, or
// when raw bytes are published to a governed topic. The bridge maps it to the
// protocol error code schema_violation. Details lists every failing field
// (up to 100).
type ViolationError struct {
	// Subject is the catalog subject the record was checked against; it may
	// be empty when no subject could be determined.
	Subject string
	// Message summarises the violation in one sentence.
	Message string
	// Details lists every failing field path and reason; it may be empty when
	// the violation concerns the record as a whole.
	Details []FieldError
}

// Error implements error. It includes the first few details.
func (e *ViolationError) Error() string {
	var b strings.Builder
	b.WriteString("schema violation")
	if e.Subject != "" {
		b.WriteString(" (subject ")
		b.WriteString(e.Subject)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	for i, d := range e.Details {
		if i == 3 {
			b.WriteString("; …")
			break
		}
		b.WriteString("; ")
		b.WriteString(d.Path)
		b.WriteString(": ")
		b.WriteString(d.Reason)
	}
	return b.String()
}

// violation builds a ViolationError without details.
func violation(subject, msg string) *ViolationError {
	return &ViolationError{Subject: subject, Message: msg}
}
