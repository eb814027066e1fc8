package bridge

import (
	"bytes"
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

// publishOp answers a publish op of the JSON protocol.
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
	var key []byte
	switch {
	case in.Key != nil && in.KeyB64 != nil:
		s.reply(in.ID, newOpError(CodeBadRequest, "publish: give key or key_b64, not both"))
		return
	case in.Key != nil:
		key = []byte(*in.Key)
	case in.KeyB64 != nil:
		k, err := base64.StdEncoding.DecodeString(*in.KeyB64)
		if err != nil {
			s.reply(in.ID, newOpError(CodeBadRequest, "publish: key_b64 is not standard base64: %v", err))
			return
		}
		key = k
	}
	var value []byte
	isJSON := true
	switch {
	case in.Value != nil && in.ValueB64 != nil:
		s.reply(in.ID, newOpError(CodeBadRequest, "publish: give value or value_b64, not both"))
		return
	case in.Value != nil:
		value = bytes.Clone(in.Value) // in.Value points into the reused read buffer
	case in.ValueB64 != nil:
		v, err := base64.StdEncoding.DecodeString(*in.ValueB64)
		if err != nil {
			s.reply(in.ID, newOpError(CodeBadRequest, "publish: value_b64 is not standard base64: %v", err))
			return
		}
		value, isJSON = v, false
		if value == nil {
			value = []byte{}
		}
	default:
		s.reply(in.ID, newOpError(CodeBadRequest, "publish: give value (JSON) or value_b64 (bytes); value null writes a tombstone"))
		return
	}
	if isJSON && string(value) == "null" {
		value = nil // a tombstone: no schema applies to it
	}
	s.produce(in.ID, topic, key, value, isJSON, in.Headers)
}

// handleRouteFrame publishes one frame of a route connection: a text frame
// that is JSON as a JSON value, any other frame as raw bytes.
func (s *session) handleRouteFrame(mt int, data []byte) {
	if !s.route.Publishes() {
		s.reply("", newOpError(CodeBadRequest, "route %s is subscribe-only", s.route.Config().Path))
		return
	}
	isJSON := mt == websocket.TextMessage && isJSON(data)
	s.produce("", s.routeTopic, nil, bytes.Clone(data), isJSON, nil)
}

// produce validates and encodes a record, hands it to the shared producer
// and answers "published" only once Kafka acknowledged it. Nothing reaches
// Kafka unless every check passed.
func (s *session) produce(id, topic string, key, value []byte, isJSON bool, headers map[string]string) {
	received := time.Now()
	if s.publishLimit != nil && !s.publishLimit.Allow() {
		s.reply(id, &opError{code: CodeRateLimited, msg: fmt.Sprintf("more than %g publishes per second on this socket (publish_rate); retry later", s.srv.cfg.PublishRate), topic: topic})
		return
	}
	if err := s.srv.ensureTopic(s.ctx, topic); err != nil {
		s.reply(id, withTopic(err, topic))
		return
	}
	if sch := s.srv.schemas; sch != nil {
		var err error
		if key != nil {
			if key, err = sch.EncodeKey(s.ctx, topic, key); err != nil {
				s.srv.metrics.schemaFailures.Inc()
				s.reply(id, withTopic(fmt.Errorf("key: %w", err), topic))
				return
			}
		}
		if value != nil {
			if value, err = sch.EncodeValue(s.ctx, topic, value, isJSON); err != nil {
				if errors.As(err, new(*SchemaViolation)) {
					s.srv.metrics.schemaFailures.Inc()
				}
				s.reply(id, withTopic(err, topic))
				return
			}
		}
	}
	rec := &kgo.Record{Topic: topic, Key: key, Value: value}
	size := len(key) + len(value)
	if len(headers) > 0 {
		rec.Headers = make([]kgo.RecordHeader, 0, len(headers))
		for _, k := range slices.Sorted(maps.Keys(headers)) {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(headers[k])})
			size += len(k) + len(headers[k])
		}
	}
	if limit := s.srv.cfg.Kafka.MaxRecordBytes; size > limit {
		s.reply(id, &opError{code: CodeTooLarge, msg: fmt.Sprintf("record is %d bytes, at most %d (kafka.max_record_bytes)", size, limit), topic: topic})
		return
	}
	select {
	case s.inflight <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	s.srv.client.Produce(s.srv.ctx, rec, func(r *kgo.Record, err error) {
		<-s.inflight
		if err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				s.srv.forgetTopic(topic)
			}
			s.reply(id, withTopic(fmt.Errorf("kafka refused the record: %w", err), topic))
			return
		}
		s.srv.metrics.publishes.Inc()
		label := s.srv.metrics.topicLabel(topic)
		s.srv.metrics.messagesIn.WithLabelValues(label).Inc()
		s.srv.metrics.bytesIn.WithLabelValues(label).Add(float64(len(r.Key) + len(r.Value)))
		s.srv.metrics.publishLatency.Observe(time.Since(received).Seconds())
		s.enqueue(publishedFrame(id, topic, r.Partition, r.Offset))
	})
}
