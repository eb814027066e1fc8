package bridge

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runTail is the one loop that consumes every subscribed topic from the
// shared client and hands each partition's records to the hub. It returns
// when ctx ends or the client closes.
func (s *Server) runTail(ctx context.Context) {
	var lastErrLog time.Time
	for {
		fetches := s.client.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if time.Since(lastErrLog) > 5*time.Second {
				lastErrLog = time.Now()
				s.log.Warn("fetch error", slog.String("topic", topic), slog.Int("partition", int(partition)), slog.Any("error", err))
			}
		})
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 {
				return
			}
			if ts := s.hub.get(fp.Topic); ts != nil {
				ts.deliver(fp.Partition, fp.Records, s.render, s.metrics)
			}
		})
	}
}

// render turns a record into its message frame. It decodes schema-framed
// values through the Schemas seam; a value that cannot be decoded is sent
// as value_b64 with its schema_id, never dropped.
func (s *Server) render(rec *kgo.Record) []byte {
	return encodeMessage(rec, s.renderValue(rec))
}

func (s *Server) renderValue(rec *kgo.Record) renderedValue {
	if rec.Value == nil {
		return renderedValue{null: true}
	}
	if s.schemas != nil {
		d, err := s.schemas.DecodeValue(s.ctx, rec.Topic, rec.Value)
		switch {
		case err != nil:
			s.metrics.decodeFailures.Inc()
			return renderedValue{raw: rec.Value, schemaID: d.SchemaID}
		case d.Framed:
			return renderedValue{json: d.JSON}
		}
	}
	if isJSON(rec.Value) {
		return renderedValue{json: rec.Value}
	}
	return renderedValue{raw: rec.Value}
}
