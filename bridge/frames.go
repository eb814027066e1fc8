package bridge

import (
	"bytes"
	"encoding/base64"
	"github.com/sluicehq/sluice/internal/jsontext"
	"strconv"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// WebSocket opcodes the writer frames itself (server frames are unmasked,
// so a frame's bytes are the same for every socket and built once).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// maxFrameHeader is the longest header of an unmasked server frame.
const maxFrameHeader = 10

// frameBuilder renders one outbound frame: it leaves room for the WebSocket
// header, appends the JSON payload, then writes the header in front.
type frameBuilder struct {
	buf []byte
}

func newFrameBuilder(sizeHint int) frameBuilder {
	return frameBuilder{buf: make([]byte, maxFrameHeader, maxFrameHeader+sizeHint)}
}

// finish returns the complete frame: header and payload in one slice.
func (b *frameBuilder) finish(opcode byte) []byte {
	n := len(b.buf) - maxFrameHeader
	var hdr [maxFrameHeader]byte
	hdr[0] = 0x80 | opcode
	h := 2
	switch {
	case n < 126:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		hdr[2], hdr[3] = byte(n>>8), byte(n)
		h = 4
	default:
		hdr[1] = 127
		for i := 0; i < 8; i++ {
			hdr[2+i] = byte(uint64(n) >> (56 - 8*i))
		}
		h = 10
	}
	start := maxFrameHeader - h
	copy(b.buf[start:], hdr[:h])
	return b.buf[start:]
}

// controlFrame builds a control frame (ping, pong, close) with payload.
func controlFrame(opcode byte, payload []byte) []byte {
	if len(payload) > 125 {
		payload = payload[:125]
	}
	f := make([]byte, 2+len(payload))
	f[0] = 0x80 | opcode
	f[1] = byte(len(payload))
	copy(f[2:], payload)
	return f
}

// closeFrame builds a close frame with code and a reason cut to fit.
func closeFrame(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	p := make([]byte, 2+len(reason))
	p[0], p[1] = byte(code>>8), byte(code)
	copy(p[2:], reason)
	return controlFrame(opClose, p)
}

// textFrame frames a ready JSON payload.
func textFrame(payload []byte) []byte {
	b := newFrameBuilder(len(payload))
	b.buf = append(b.buf, payload...)
	return b.finish(opText)
}

// renderedValue is a record value made ready for the message envelope.
type renderedValue struct {
	// json is the value as JSON when it is JSON (or decoded to JSON).
	json []byte
	// raw is the value's bytes when they are not JSON; sent as value_b64.
	raw []byte
	// schemaID is set when the value is schema-framed but could not be
	// decoded.
	schemaID int
	// null marks a tombstone (nil value).
	null bool
}

// messageEnvelope is what a message frame holds besides its strings and
// value, at its longest: the field names, the numbers at their widest,
// quotes, and a schema ID.
const messageEnvelope = len(`{"op":"message","topic":"","partition":-2147483648,"offset":-9223372036854775808,"timestamp":-9223372036854775808,"key_b64":"","value_b64":"","schema_id":-9223372036854775808,"headers":{},"headers_b64":{}}`)

// messageFrameSize is the room a message frame may need, so that it is
// rendered into one allocation: strings may double when escaped (a rare
// worst case is left to append), base64 grows by a third.
func messageFrameSize(rec *kgo.Record, v renderedValue) int {
	n := messageEnvelope + len(rec.Topic) + len(rec.Key)*4/3 + 4 + len(v.json) + len(v.raw)*4/3 + 4
	for _, h := range rec.Headers {
		n += 8 + len(h.Key) + len(h.Value)*4/3 + 4
	}
	return n
}

// encodeMessage renders a record into a complete message frame once; the
// result is shared read-only by every subscriber.
func encodeMessage(rec *kgo.Record, v renderedValue) []byte {
	b := newFrameBuilder(messageFrameSize(rec, v))
	buf := append(b.buf, `{"op":"message","topic":`...)
	buf = jsontext.AppendString(buf, rec.Topic)
	buf = append(buf, `,"partition":`...)
	buf = strconv.AppendInt(buf, int64(rec.Partition), 10)
	buf = append(buf, `,"offset":`...)
	buf = strconv.AppendInt(buf, rec.Offset, 10)
	buf = append(buf, `,"timestamp":`...)
	buf = strconv.AppendInt(buf, rec.Timestamp.UnixMilli(), 10)
	if rec.Key != nil {
		if utf8.Valid(rec.Key) {
			buf = append(buf, `,"key":`...)
			buf = jsontext.AppendString(buf, rec.Key)
		} else {
			buf = append(buf, `,"key_b64":"`...)
			buf = base64.StdEncoding.AppendEncode(buf, rec.Key)
			buf = append(buf, '"')
		}
	}
	switch {
	case v.null:
		buf = append(buf, `,"value":null`...)
	case v.json != nil:
		buf = append(buf, `,"value":`...)
		buf = append(buf, v.json...)
	default:
		buf = append(buf, `,"value_b64":"`...)
		buf = base64.StdEncoding.AppendEncode(buf, v.raw)
		buf = append(buf, '"')
		if v.schemaID != 0 {
			buf = append(buf, `,"schema_id":`...)
			buf = strconv.AppendInt(buf, int64(v.schemaID), 10)
		}
	}
	if len(rec.Headers) > 0 {
		buf = appendHeaders(buf, rec.Headers)
	}
	buf = append(buf, '}')
	b.buf = buf
	return b.finish(opText)
}

// appendHeaders writes "headers" for UTF-8 header values and "headers_b64"
// for the others. A header key repeated in the record keeps its last value.
func appendHeaders(buf []byte, hs []kgo.RecordHeader) []byte {
	var binary bool
	buf = append(buf, `,"headers":{`...)
	first := true
	for _, h := range hs {
		if !utf8.Valid(h.Value) || !utf8.ValidString(h.Key) {
			binary = true
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = jsontext.AppendString(buf, h.Key)
		buf = append(buf, ':')
		buf = jsontext.AppendString(buf, h.Value)
	}
	buf = append(buf, '}')
	if !binary {
		return buf
	}
	buf = append(buf, `,"headers_b64":{`...)
	first = true
	for _, h := range hs {
		if utf8.Valid(h.Value) && utf8.ValidString(h.Key) {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = jsontext.AppendString(buf, string(bytes.ToValidUTF8([]byte(h.Key), []byte("\uFFFD"))))
		buf = append(buf, ':', '"')
		buf = base64.StdEncoding.AppendEncode(buf, h.Value)
		buf = append(buf, '"')
	}
	return append(buf, '}')
}

// bytesReader avoids importing bytes.NewReader at every call site.
func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
