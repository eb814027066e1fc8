package bridge

import (
	"encoding/json"
	"github.com/sluicehq/sluice/internal/jsontext"
	"strconv"
)

// Replies are rare next to messages, so they are rendered with
// encoding/json; messages take the hand-written path in frames.go.

type subscribedReply struct {
	Op      string           `json:"op"`
	ID      string           `json:"id,omitempty"`
	Topic   string           `json:"topic"`
	Offsets map[string]int64 `json:"offsets"`
}

type topicReply struct {
	Op    string `json:"op"`
	ID    string `json:"id,omitempty"`
	Topic string `json:"topic"`
}

type errorReply struct {
	Op      string `json:"op"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Topic   string `json:"topic,omitempty"`
	Details any    `json:"details,omitempty"`
}

type idReply struct {
	Op string `json:"op"`
	ID string `json:"id,omitempty"`
}

// replyFrame renders a reply value into a text frame.
func replyFrame(v any) []byte {
	payload, err := json.Marshal(v)
	if err != nil {
		// Every reply type above marshals; this is a programming error.
		payload = []byte(`{"op":"error","code":"internal","message":"reply could not be rendered"}`)
	}
	return textFrame(payload)
}

// publishedPrefix starts the ack of a publish when the publish is read:
// the frame up to the partition, with room for the rest, which
// finishPublished adds when Kafka answered. It is sent once per record, so
// it is rendered by hand, not with encoding/json. It renders into space
// (a buffer of the record's own, so the ack costs no allocation of its
// own) when the whole frame fits there.
func publishedPrefix(space []byte, id, topic string) frameBuilder {
	const rest = len(`,"partition":-2147483648,"offset":-9223372036854775808}`)
	need := maxFrameHeader + len(`{"op":"published","id":"","topic":""`) + 2*len(id) + 2*len(topic) + rest
	b := frameBuilder{buf: space[:maxFrameHeader]}
	if cap(space) < need {
		b = newFrameBuilder(need - maxFrameHeader)
	}
	buf := append(b.buf, `{"op":"published"`...)
	if id != "" {
		buf = append(buf, `,"id":`...)
		buf = jsontext.AppendString(buf, id)
	}
	buf = append(buf, `,"topic":`...)
	b.buf = jsontext.AppendString(buf, topic)
	return b
}

// finishPublished completes a frame publishedPrefix started.
func finishPublished(b frameBuilder, partition int32, offset int64) []byte {
	buf := append(b.buf, `,"partition":`...)
	buf = strconv.AppendInt(buf, int64(partition), 10)
	buf = append(buf, `,"offset":`...)
	buf = strconv.AppendInt(buf, offset, 10)
	b.buf = append(buf, '}')
	return b.finish(opText)
}

func subscribedFrame(id, topic string, offsets map[int32]int64) []byte {
	m := make(map[string]int64, len(offsets))
	for p, o := range offsets {
		m[strconv.Itoa(int(p))] = o
	}
	return replyFrame(subscribedReply{Op: "subscribed", ID: id, Topic: topic, Offsets: m})
}

func errorFrame(id string, e *opError) []byte {
	return replyFrame(errorReply{Op: "error", ID: id, Code: e.code.String(), Message: e.msg, Topic: e.topic, Details: e.details})
}
