package integration

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaTimeout bounds one Kafka operation of a test.
const kafkaTimeout = 30 * time.Second

var topicSeq atomic.Int64

// uniqueTopic returns a topic name no other test (or run, on the same
// broker) uses, derived from the test's name.
func uniqueTopic(t testing.TB, suffix string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '.'
	}, t.Name())
	return fmt.Sprintf("it.%s.%s.%d.%d", name, suffix, time.Now().UnixNano(), topicSeq.Add(1))
}

// createTopic creates topic on the shared broker and waits for its leaders.
func createTopic(t testing.TB, topic string, partitions int32) {
	t.Helper()
	if err := kafkatest.Shared().CreateTopic(testCtx(t, kafkaTimeout), topic, partitions); err != nil {
		t.Fatal(err)
	}
}

// newKafkaClient returns a franz-go client of the shared broker, closed at
// cleanup.
func newKafkaClient(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(kafkatest.Shared().Addr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceSync writes records in order, waiting for every ack. Records with
// Partition set keep it (a manual partitioner).
func produceSync(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	cl := newKafkaClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(testCtx(t, kafkaTimeout), recs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
}

// readRange reads partition p of topic from offset from up to (excluding)
// offset to.
func readRange(t testing.TB, topic string, p int32, from, to int64) []*kgo.Record {
	t.Helper()
	cl := newKafkaClient(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {p: kgo.NewOffset().At(from)},
	}))
	ctx := testCtx(t, kafkaTimeout)
	var out []*kgo.Record
	for int64(len(out)) < to-from {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s[%d] %d..%d: got %d records: %v", topic, p, from, to, len(out), ctx.Err())
		}
		for _, fe := range fetches.Errors() {
			t.Logf("fetch error on %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset < to {
				out = append(out, r)
			}
		})
	}
	return out
}

// topicExists asks the broker whether topic exists.
func topicExists(t testing.TB, topic string) bool {
	t.Helper()
	adm := kadm.NewClient(newKafkaClient(t))
	details, err := adm.ListTopics(testCtx(t, kafkaTimeout), topic)
	if err != nil {
		t.Fatalf("listing topics: %v", err)
	}
	d, ok := details[topic]
	return ok && d.Err == nil
}

// endOffsets lists the high watermarks of topic.
func endOffsets(t testing.TB, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newKafkaClient(t))
	ends, err := adm.ListEndOffsets(testCtx(t, kafkaTimeout), topic)
	if err != nil {
		t.Fatalf("listing end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}
