package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// baseOpts are the options every client of the bridge shares.
func (s *Server) baseOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.cfg.Kafka.Brokers...),
		kgo.ClientID(s.cfg.Kafka.ClientID),
		kgo.MetadataMinAge(s.cfg.Kafka.MetadataMinAge),
		kgo.FetchMaxWait(s.cfg.Kafka.FetchMaxWait),
	}
	// Validated in New, so the error is nil here.
	sec, _ := s.cfg.Kafka.securityOpts()
	opts = append(opts, sec...)
	return append(opts, s.cfg.Kafka.Opts...)
}

// sharedClientOpts configure the one client that tails and produces.
func (s *Server) sharedClientOpts() ([]kgo.Opt, error) {
	codec, err := compressionCodec(s.cfg.Kafka.Compression)
	if err != nil {
		return nil, err
	}
	opts := append(s.baseOpts(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(s.cfg.Kafka.Linger),
		kgo.ProducerBatchMaxBytes(int32(s.cfg.Kafka.MaxRecordBytes+recordBatchOverhead)),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.FetchMaxPartitionBytes(1<<20),
		kgo.FetchMaxBytes(16<<20),
		kgo.UnknownTopicRetries(2),
	)
	return append(opts, s.cfg.Kafka.SharedOpts...), nil
}

// ensureTopic checks that topic exists, creating it when configured to.
// Known topics are remembered, so a publish costs no metadata request.
func (s *Server) ensureTopic(ctx context.Context, topic string) error {
	if _, ok := s.knownTopics.Load(topic); ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Kafka.Timeout)
	defer cancel()
	details, err := s.admin.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("looking up topic %s: %w", topic, err)
	}
	if d, ok := details[topic]; ok && d.Err == nil && len(d.Partitions) > 0 {
		s.knownTopics.Store(topic, struct{}{})
		return nil
	} else if ok && d.Err != nil && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("looking up topic %s: %w", topic, d.Err)
	}
	if !s.cfg.Kafka.AutoCreateTopics {
		return fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
	}
	_, err = s.admin.CreateTopic(ctx, s.cfg.Kafka.AutoCreatePartitions, -1, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	if err := s.awaitTopic(ctx, topic); err != nil {
		return err
	}
	s.log.Info("created topic", "topic", topic, "partitions", s.cfg.Kafka.AutoCreatePartitions)
	s.knownTopics.Store(topic, struct{}{})
	return nil
}

// awaitTopic waits until a just-created topic has a leader for every
// partition, so the subscribe or publish that created it can go on.
func (s *Server) awaitTopic(ctx context.Context, topic string) error {
	for {
		details, err := s.admin.ListTopics(ctx, topic)
		if err == nil {
			if d, ok := details[topic]; ok && d.Err == nil && len(d.Partitions) > 0 {
				ready := true
				for _, p := range d.Partitions {
					if p.Err != nil || p.Leader < 0 {
						ready = false
					}
				}
				if ready {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for new topic %s: %w", topic, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// forgetTopic drops topic from the known set, after Kafka said it is gone.
func (s *Server) forgetTopic(topic string) { s.knownTopics.Delete(topic) }

// offsetRange is what Kafka holds of a topic, per partition.
type offsetRange struct {
	start map[int32]int64 // log start offset
	end   map[int32]int64 // high watermark: the next offset to be written
}

func (s *Server) listRange(ctx context.Context, topic string, wantStart bool) (offsetRange, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Kafka.Timeout)
	defer cancel()
	var r offsetRange
	ends, err := s.admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return r, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	if r.end, err = offsetsOf(ends[topic], topic); err != nil {
		return r, err
	}
	if !wantStart {
		return r, nil
	}
	starts, err := s.admin.ListStartOffsets(ctx, topic)
	if err != nil {
		return r, fmt.Errorf("listing start offsets of %s: %w", topic, err)
	}
	r.start, err = offsetsOf(starts[topic], topic)
	return r, err
}

func offsetsOf(listed map[int32]kadm.ListedOffset, topic string) (map[int32]int64, error) {
	out := make(map[int32]int64, len(listed))
	for p, lo := range listed {
		if lo.Err != nil {
			if errors.Is(lo.Err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
			}
			return nil, fmt.Errorf("offsets of %s[%d]: %w", topic, p, lo.Err)
		}
		out[p] = lo.Offset
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrTopicNotFound, topic)
	}
	return out, nil
}

// resolveStart turns a subscribe's "from" into a starting offset per
// partition. Offsets before the log start answer offset_out_of_range unless
// onGap is "earliest"; offsets past the end start at the end.
func (s *Server) resolveStart(ctx context.Context, topic string, from fromSpec, onGap string) (start, end map[int32]int64, err error) {
	needStart := from.kind != fromLatest
	r, err := s.listRange(ctx, topic, needStart)
	if err != nil {
		return nil, nil, err
	}
	start = make(map[int32]int64, len(r.end))
	switch from.kind {
	case fromLatest:
		maps.Copy(start, r.end)
	case fromEarliest:
		maps.Copy(start, r.start)
	case fromLast:
		for p, end := range r.end {
			start[p] = max(r.start[p], end-from.last)
		}
	case fromTimestamp:
		tctx, cancel := context.WithTimeout(ctx, s.cfg.Kafka.Timeout)
		defer cancel()
		listed, err := s.admin.ListOffsetsAfterMilli(tctx, from.timestamp, topic)
		if err != nil {
			return nil, nil, fmt.Errorf("listing offsets of %s after %d: %w", topic, from.timestamp, err)
		}
		for p, lo := range listed[topic] {
			if lo.Err != nil {
				return nil, nil, fmt.Errorf("offset of %s[%d] after %d: %w", topic, p, from.timestamp, lo.Err)
			}
			o := lo.Offset
			if o < 0 || o > r.end[p] {
				o = r.end[p]
			}
			start[p] = max(o, r.start[p])
		}
	case fromOffsets:
		var gaps []int32
		for p, end := range r.end {
			o, given := from.offsets[p]
			if !given {
				o = r.start[p]
			}
			switch {
			case o > end:
				o = end
			case o < r.start[p] && onGap == "earliest":
				o = r.start[p]
			case o < r.start[p]:
				gaps = append(gaps, p)
			}
			start[p] = o
		}
		for p := range from.offsets {
			if _, ok := r.end[p]; !ok {
				return nil, nil, newOpError(CodeBadRequest, "from.offsets names partition %d, but %s has %d partitions", p, topic, len(r.end))
			}
		}
		if len(gaps) > 0 {
			slices.Sort(gaps)
			return nil, nil, &opError{
				code:    CodeOffsetOutOfRange,
				msg:     fmt.Sprintf("%s: requested offsets of partitions %v are older than the log start; subscribe again from the earliest offsets, or with \"on_gap\":\"earliest\"", topic, gaps),
				details: map[string]any{"earliest": partitionKeys(r.start), "latest": partitionKeys(r.end)},
			}
		}
	}
	return start, r.end, nil
}

func partitionKeys(m map[int32]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for p, o := range m {
		out[fmt.Sprint(p)] = o
	}
	return out
}
