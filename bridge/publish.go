package bridge

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/topics"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// publishOp answers a publish op of the JSON protocol: one record, or a
// batch of them in "records".
func (s *session) publishOp(in *inbound) {
	topic := in.Topic
	if err := topics.ValidateName(topic); err != nil {
		s.reply(in.ID, newOpError(CodeBadRequest, "publish: %v", err))
		return
	}
	if !s.currentPrincipal().CanPublish(topic) {
		s.forbidden(in.ID, topic, "publish")
		return
	}
	if in.Records != nil {
		s.publishBatch(in.ID, topic, in.Records)
		return
	}
	key, value, form, oe := in.recordParts()
	if oe != nil {
		s.reply(in.ID, oe)
		return
	}
	s.produce(in.ID, topic, key, value, form, in.Headers)
}

// valueForm is what a record's value is.
type valueForm uint8

const (
	// valueBytes is raw bytes: value_b64, or a route's binary frame.
	valueBytes valueForm = iota
	// valueJSON is JSON text, checked.
	valueJSON
	// valueUncheckedJSON is JSON text the frame parser delimited but did
	// not check (parseInbound): buildRecord checks it unless the schema
	// encoder parsed it in full.
	valueUncheckedJSON
)

// recordParts reads the key and value of a publish (or of one record of a
// batch). The value is a sub-slice of the frame (see inFrame): the record
// that carries it holds the frame until Kafka answered.
func (in *inbound) recordParts() (key, value []byte, form valueForm, oe *opError) {
	switch {
	case in.Key != nil && in.KeyB64 != nil:
		return nil, nil, valueBytes, newOpError(CodeBadRequest, "publish: give key or key_b64, not both")
	case in.Key != nil:
		key = []byte(*in.Key)
	case in.KeyB64 != nil:
		k, err := base64.StdEncoding.DecodeString(*in.KeyB64)
		if err != nil {
			return nil, nil, valueBytes, newOpError(CodeBadRequest, "publish: key_b64 is not standard base64: %v", err)
		}
		key = k
	}
	form = valueJSON
	if in.valueUnchecked {
		form = valueUncheckedJSON
	}
	switch {
	case in.Value != nil && in.ValueB64 != nil:
		return nil, nil, valueBytes, newOpError(CodeBadRequest, "publish: give value or value_b64, not both")
	case in.Value != nil:
		value = in.Value
	case in.ValueB64 != nil:
		v, err := base64.StdEncoding.DecodeString(*in.ValueB64)
		if err != nil {
			return nil, nil, valueBytes, newOpError(CodeBadRequest, "publish: value_b64 is not standard base64: %v", err)
		}
		value, form = v, valueBytes
		if value == nil {
			value = []byte{}
		}
	default:
		return nil, nil, valueBytes, newOpError(CodeBadRequest, "publish: give value (JSON) or value_b64 (bytes); value null writes a tombstone")
	}
	if form != valueBytes && string(value) == "null" {
		value = nil // a tombstone: no schema applies to it
	}
	return key, value, form, nil
}

// handleRouteFrame publishes one frame of a route connection: a text frame
// that is JSON as a JSON value, any other frame as raw bytes.
func (s *session) handleRouteFrame(mt int, data []byte) {
	if !s.route.Publishes() {
		s.reply("", newOpError(CodeBadRequest, "route %s is subscribe-only", s.route.Config().Path))
		return
	}
	form := valueBytes
	if mt == websocket.TextMessage && isJSON(data) {
		form = valueJSON
	}
	s.produce("", s.routeTopic, nil, data, form, nil)
}

// produce validates and encodes a record, hands it to the shared producer
// and answers "published" only once Kafka acknowledged it. Nothing reaches
// Kafka unless every check passed.
func (s *session) produce(id, topic string, key, value []byte, form valueForm, headers map[string]string) {
	if s.publishLimit != nil && !s.publishLimit.AllowN(s.readAt, 1) {
		s.reply(id, s.rateLimited(topic))
		return
	}
	if err := s.srv.ensureTopic(s.ctx, topic); err != nil {
		s.reply(id, withTopic(err, topic))
		return
	}
	p, oe := s.buildRecord(topic, key, value, form, headers)
	if oe != nil {
		s.reply(id, oe)
		return
	}
	p.id = id
	p.ack = publishedPrefix(p.ackSpace[:], id, topic)
	if !s.acquireInflight(1) {
		return
	}
	s.submit(p)
}

// pendingPublish is one record on its way to Kafka, in one allocation:
// the record, what its answer needs, and the frame its key or value may
// point into. It is the record's Context, which is how kgo hands it back
// to onProduced: no closure is allocated per publish.
type pendingPublish struct {
	context.Context // the server's: kgo gives up a buffered record when it ends

	rec      kgo.Record
	s        *session
	frame    *inFrame // retained from submit until Kafka answered; nil when none
	id       string
	received time.Time
	ack      frameBuilder  // the "published" frame up to the partition (single publishes)
	batch    *pendingBatch // set for a record of a batch publish
	index    int           // the record's index in its batch

	// ackSpace holds ack when it fits (ids and topics of usual length),
	// so the answer is not an allocation of its own.
	ackSpace [ackSpaceBytes]byte
}

// ackSpaceBytes fits the "published" frame of an id and a topic of up to
// about 30 bytes each (publishedPrefix reserves room for escapes).
const ackSpaceBytes = 224

// buildRecord validates and encodes one record through the schema catalog
// and checks its size. A JSON value the frame parser did not check is
// checked here, unless the schema's encoder parsed it in full.
func (s *session) buildRecord(topic string, key, value []byte, form valueForm, headers map[string]string) (*pendingPublish, *opError) {
	encoded := value
	if sch := s.srv.schemas; sch != nil {
		var err error
		if key != nil {
			if key, err = sch.EncodeKey(s.ctx, topic, key); err != nil {
				s.srv.metrics.schemaFailures.Inc()
				return nil, withTopic(fmt.Errorf("key: %w", err), topic)
			}
		}
		if value != nil {
			var parsed bool
			if encoded, parsed, err = sch.EncodeValue(s.ctx, topic, value, form != valueBytes); err != nil {
				if errors.As(err, new(*SchemaViolation)) {
					s.srv.metrics.schemaFailures.Inc()
				}
				return nil, withTopic(err, topic)
			}
			if parsed {
				form = valueJSON // the encoder refused anything but valid JSON
			}
		}
	}
	if form == valueUncheckedJSON && value != nil {
		if err := checkValue(value); err != nil {
			return nil, &opError{code: CodeBadRequest, msg: fmt.Sprintf("publish: value is not valid JSON: %v", err), topic: topic}
		}
	}
	value = encoded
	// The message's read time is the publish's receive time and the
	// record's timestamp (kgo would read the clock again).
	p := &pendingPublish{Context: s.srv.ctx, s: s, received: s.readAt, rec: kgo.Record{Topic: topic, Key: key, Value: value, Timestamp: s.readAt}}
	size := len(key) + len(value)
	if len(headers) > 0 {
		p.rec.Headers = make([]kgo.RecordHeader, 0, len(headers))
		for _, k := range slices.Sorted(maps.Keys(headers)) {
			p.rec.Headers = append(p.rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(headers[k])})
			size += len(k) + len(headers[k])
		}
	}
	if limit := s.srv.cfg.Kafka.MaxRecordBytes; size > limit {
		return nil, &opError{code: CodeTooLarge, msg: fmt.Sprintf("record is %d bytes, at most %d (kafka.max_record_bytes)", size, limit), topic: topic}
	}
	return p, nil
}

// submit hands a checked record to the shared producer. The frame being
// handled stays with the record until Kafka answered, since its key or
// value may point into it.
func (s *session) submit(p *pendingPublish) {
	if f := s.frame; f != nil {
		f.retain()
		p.frame = f
	}
	p.rec.Context = p
	s.srv.client.Produce(s.srv.ctx, &p.rec, onProduced)
}

// onProduced is the promise of every record a socket publishes.
func onProduced(r *kgo.Record, err error) {
	p := r.Context.(*pendingPublish)
	p.s.produced(p, err)
}

// produced answers a record once Kafka did: "published" with its offset,
// or an error; a record of a batch reports to its batch instead.
func (s *session) produced(p *pendingPublish, err error) {
	<-s.inflight
	switch {
	case p.batch != nil:
		p.batch.done(p.index, &p.rec, err)
	case err != nil:
		s.reply(p.id, s.produceFailed(p.rec.Topic, err))
	default:
		s.countPublished(&p.rec, p.received)
		s.enqueue(finishPublished(p.ack, p.rec.Partition, p.rec.Offset))
	}
	if p.frame != nil {
		p.frame.release() // last: the record's key and value may point into it
		p.frame = nil
	}
}

// acquireInflight takes n in-flight publish slots, waiting for acks to free
// them (which stops reading this socket: backpressure). It reports false
// when the session closes or ends first; the publish is then not written.
func (s *session) acquireInflight(n int) bool {
	for range n {
		select { // a free slot, the usual case, without a full select
		case s.inflight <- struct{}{}:
			continue
		default:
		}
		select {
		case s.inflight <- struct{}{}:
		case <-s.closing:
			return false
		case <-s.ctx.Done():
			return false
		}
	}
	return true
}

func (s *session) rateLimited(topic string) *opError {
	return &opError{code: CodeRateLimited, msg: fmt.Sprintf("more than %g publishes per second on this socket (publish_rate); retry later", s.srv.cfg.PublishRate), topic: topic}
}

func (s *session) produceFailed(topic string, err error) *opError {
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		s.srv.forgetTopic(topic)
	}
	return withTopic(fmt.Errorf("kafka refused the record: %w", err), topic)
}

func (s *session) countPublished(r *kgo.Record, received time.Time) {
	m := s.srv.metrics
	m.publishes.Inc()
	c := m.inCounters(r.Topic)
	c.messages.Inc()
	c.bytes.Add(float64(len(r.Key) + len(r.Value)))
	m.publishLatency.Observe(time.Since(received).Seconds())
}
