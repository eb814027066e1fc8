package bridge

import (
	"encoding/json"
	"fmt"
)

// Code is an error code of the protocol's error frame.
type Code uint8

// The protocol's error codes (docs/protocol.md).
const (
	CodeBadRequest Code = iota + 1
	CodeUnauthorized
	CodeForbidden
	CodeNotFound
	CodeSchemaViolation
	CodeTooLarge
	CodeRateLimited
	CodeUnavailable
	CodeSlowConsumer
	CodeInternal
	CodeOffsetOutOfRange
)

var codeNames = [...]string{
	CodeBadRequest:       "bad_request",
	CodeUnauthorized:     "unauthorized",
	CodeForbidden:        "forbidden",
	CodeNotFound:         "not_found",
	CodeSchemaViolation:  "schema_violation",
	CodeTooLarge:         "too_large",
	CodeRateLimited:      "rate_limited",
	CodeUnavailable:      "unavailable",
	CodeSlowConsumer:     "slow_consumer",
	CodeInternal:         "internal",
	CodeOffsetOutOfRange: "offset_out_of_range",
}

// String returns the code as it appears on the wire.
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Codes lists every error code, for metrics that pre-declare their labels.
func Codes() []Code {
	out := make([]Code, 0, len(codeNames)-1)
	for c := CodeBadRequest; int(c) < len(codeNames); c++ {
		out = append(out, c)
	}
	return out
}

// WebSocket close codes the server sends.
const (
	CloseNormal       = 1000 // the client closed, or an orderly end.
	CloseGoingAway    = 1001 // the server is shutting down.
	ClosePolicy       = 1008 // policy violation: slow consumer, repeated denials.
	CloseTooBig       = 1009 // a frame exceeded the read limit.
	CloseUnauthorized = 4401 // missing, invalid or expired token.
)

// inbound is any client frame. Fields an op does not use stay empty.
type inbound struct {
	Op       string            `json:"op"`
	ID       string            `json:"id,omitempty"`
	Topic    string            `json:"topic,omitempty"`
	From     json.RawMessage   `json:"from,omitempty"`
	OnGap    string            `json:"on_gap,omitempty"`
	Key      *string           `json:"key,omitempty"`
	KeyB64   *string           `json:"key_b64,omitempty"`
	Value    json.RawMessage   `json:"value,omitempty"`
	ValueB64 *string           `json:"value_b64,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Token    string            `json:"token,omitempty"`
	Filter   *filterSpec       `json:"filter,omitempty"`
	Group    string            `json:"group,omitempty"`
	// Records is a batch publish: each element has the record fields
	// (key, key_b64, value, value_b64, headers).
	Records []inbound `json:"records,omitempty"`
	// Partition and Offset are the fields of an ack.
	Partition *int32 `json:"partition,omitempty"`
	Offset    *int64 `json:"offset,omitempty"`

	// valueUnchecked is set when Value was delimited but not yet checked
	// as JSON (see parseInbound).
	valueUnchecked bool
	// knownTopic is a topic the parser may expect (the socket's last): a
	// "topic" equal to it is set to this string.
	knownTopic string
}

// filterSpec is the optional record filter of a subscribe op.
type filterSpec struct {
	// Keys keeps records whose key is one of these.
	Keys []string `json:"keys,omitempty"`
	// Headers keeps records that carry every one of these header values.
	Headers map[string]string `json:"headers,omitempty"`
}

// fromSpec is the parsed "from" of a subscribe op.
type fromSpec struct {
	kind      fromKind
	timestamp int64
	offsets   map[int32]int64
	last      int64
}

type fromKind uint8

const (
	fromLatest fromKind = iota
	fromEarliest
	fromTimestamp
	fromOffsets
	fromLast
)

// parseFrom reads the "from" field: "latest", "earliest", {"timestamp":ms},
// {"offsets":{"0":42}} or {"last":N}.
func parseFrom(raw json.RawMessage) (fromSpec, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return fromSpec{kind: fromLatest}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "latest", "":
			return fromSpec{kind: fromLatest}, nil
		case "earliest":
			return fromSpec{kind: fromEarliest}, nil
		}
		return fromSpec{}, fmt.Errorf(`from %q: want "latest", "earliest", {"timestamp":ms}, {"offsets":{...}} or {"last":N}`, s)
	}
	var obj struct {
		Timestamp *int64           `json:"timestamp"`
		Offsets   map[string]int64 `json:"offsets"`
		Last      *int64           `json:"last"`
	}
	dec := json.NewDecoder(bytesReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return fromSpec{}, fmt.Errorf("from: %w", err)
	}
	set := 0
	for _, b := range []bool{obj.Timestamp != nil, obj.Offsets != nil, obj.Last != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return fromSpec{}, fmt.Errorf(`from: give exactly one of "timestamp", "offsets", "last"`)
	}
	switch {
	case obj.Timestamp != nil:
		if *obj.Timestamp < 0 {
			return fromSpec{}, fmt.Errorf("from.timestamp %d: must be a unix time in milliseconds", *obj.Timestamp)
		}
		return fromSpec{kind: fromTimestamp, timestamp: *obj.Timestamp}, nil
	case obj.Last != nil:
		if *obj.Last < 0 {
			return fromSpec{}, fmt.Errorf("from.last %d: must not be negative", *obj.Last)
		}
		return fromSpec{kind: fromLast, last: *obj.Last}, nil
	}
	offsets := make(map[int32]int64, len(obj.Offsets))
	for k, v := range obj.Offsets {
		var p int32
		if _, err := fmt.Sscan(k, &p); err != nil || p < 0 || fmt.Sprint(p) != k {
			return fromSpec{}, fmt.Errorf("from.offsets: partition %q is not a partition number", k)
		}
		if v < 0 {
			return fromSpec{}, fmt.Errorf("from.offsets[%s] = %d: must not be negative", k, v)
		}
		offsets[p] = v
	}
	return fromSpec{kind: fromOffsets, offsets: offsets}, nil
}
