package bridge

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// historyPollRecords bounds the records a history reader takes per poll.
const historyPollRecords = 500

// runHistory reads partitions of sub that start behind the tail with a
// short-lived bounded reader, pushes their records into the socket's queue
// (waiting for room rather than dropping), and moves each partition to the
// live fan-out under the topic lock at the exact offset where its history
// ended. It returns when every partition is live, or ctx ends.
func (s *Server) runHistory(ctx context.Context, sub *subscription, from map[int32]int64) {
	offsets := make(map[int32]kgo.Offset, len(from))
	pending := make(map[int32]bool, len(from))
	for p, o := range from {
		offsets[p] = kgo.NewOffset().At(o)
		pending[p] = true
	}
	opts := append(s.baseOpts(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{sub.topic: offsets}),
		kgo.FetchMaxBytes(s.cfg.Kafka.HistoryBatchBytes),
		kgo.FetchMaxPartitionBytes(s.cfg.Kafka.HistoryBatchBytes),
		kgo.MaxConcurrentFetches(1),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		s.log.Error("history reader", slog.String("topic", sub.topic), slog.Any("error", err))
		sub.sess.enqueue(errorFrame(sub.id, &opError{code: CodeUnavailable, msg: "history reader: " + err.Error(), topic: sub.topic}))
		return
	}
	defer cl.Close()
	s.metrics.historyReaders.Inc()
	defer s.metrics.historyReaders.Dec()

	ts := sub.ts
	for {
		if done := s.joinLive(ts, sub, pending, cl); done {
			return
		}
		fetches := cl.PollRecords(ctx, historyPollRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			s.log.Warn("history fetch error", slog.String("topic", topic), slog.Int("partition", int(p)), slog.Any("error", err))
		})
		var stopped bool
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if stopped || !pending[fp.Partition] {
				return
			}
			c := sub.cursor(fp.Partition)
			for _, rec := range fp.Records {
				if rec.Offset < c.next {
					continue
				}
				if sub.filter.accepts(rec) {
					frame := s.render(rec)
					if err := sub.sess.pushHistory(ctx, frame); err != nil {
						stopped = true
						return
					}
					ts.counters.messages.Inc()
					ts.counters.bytes.Add(float64(len(frame)))
				}
				c.next = rec.Offset + 1
			}
		})
		if stopped {
			return
		}
	}
}

// joinLive moves every pending partition whose history has reached the
// tail to the live fan-out, and reports whether none is left.
func (s *Server) joinLive(ts *topicState, sub *subscription, pending map[int32]bool, cl *kgo.Client) bool {
	var joined []int32
	ts.mu.Lock()
	for _, p := range slices.Sorted(maps.Keys(pending)) {
		c := sub.cursor(p)
		if tailNext, ok := ts.next[p]; ok && c.next >= tailNext {
			c.live = true
			joined = append(joined, p)
			delete(pending, p)
		}
	}
	ts.mu.Unlock()
	if len(joined) > 0 && len(pending) > 0 {
		cl.RemoveConsumePartitions(map[string][]int32{sub.topic: joined})
	}
	return len(pending) == 0
}
