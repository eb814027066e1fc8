package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceMany writes n records {"n":i} round-robin over partitions,
// numbering from start, and waits for every ack.
func produceMany(ctx context.Context, cl *kgo.Client, topic string, partitions, start, n int) error {
	var (
		mu     sync.Mutex
		failed error
	)
	for i := start; i < start+n; i++ {
		rec := &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: fmt.Appendf(nil, `{"n":%d}`, i)}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && failed == nil {
				failed = err
			}
		})
	}
	fctx, cancel := context.WithTimeout(ctx, kafkaTimeout)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		return fmt.Errorf("producing to %s: %w", topic, failed)
	}
	return nil
}

// checkExactlyOnce checks that msgs hold every offset below end[p] of each
// partition exactly once, in order, each with the value written there.
func checkExactlyOnce(t *testing.T, msgs []frame, end map[int32]int64, partitions int) {
	t.Helper()
	next := map[int32]int64{}
	for _, m := range msgs {
		if m.Offset != next[m.Partition] {
			t.Fatalf("partition %d: offset %d where %d was next (a gap, duplicate or reorder)", m.Partition, m.Offset, next[m.Partition])
		}
		next[m.Partition]++
		if want := fmt.Sprintf(`{"n":%d}`, m.Offset*int64(partitions)+int64(m.Partition)); m.Value != nil && string(m.Value) != want {
			t.Fatalf("%v: value %s, want %s", m, m.Value, want)
		}
	}
	for p, e := range end {
		if next[p] != e {
			t.Errorf("partition %d: %d records delivered, want %d", p, next[p], e)
		}
	}
}

// TestResume reads about half of 10,000 records from earliest, goes away,
// and resumes on a new socket from the last offset seen plus one per
// partition (the subscribed offset where it saw nothing): together the two
// sockets saw every record exactly once, in order per partition.
func TestResume(t *testing.T) {
	const (
		partitions = 3
		records    = 10_000
		firstRead  = records / 2
	)
	p := sharedSluice(t)
	topic := uniqueTopic(t, "log")
	createTopic(t, topic, partitions)
	cl := newKafkaClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := produceMany(t.Context(), cl, topic, partitions, 0, records); err != nil {
		t.Fatal(err)
	}
	end := endOffsets(t, topic)

	first := dialWith(t, p.wsURL("/v1/ws"), dialOpts{closeAfter: firstRead})
	first.name = "first"
	subscribed := first.subscribe("s", topic, "earliest")
	if err := first.waitClosed(waitTimeout); !errors.Is(err, errClosedByClient) {
		t.Fatalf("first socket ended with %v", err)
	}
	seen := first.messages(topic)
	if len(seen) != firstRead {
		t.Fatalf("first socket saw %d messages, want %d", len(seen), firstRead)
	}

	resume := map[string]int64{}
	for part, o := range subscribed.Offsets {
		resume[part] = o
	}
	for _, m := range seen {
		resume[strconv.Itoa(int(m.Partition))] = m.Offset + 1
	}
	t.Logf("resuming from %v", resume)

	second := dial(t, p.wsURL("/v1/ws"))
	second.name = "second"
	got := second.subscribe("s", topic, map[string]any{"offsets": resume})
	if fmt.Sprint(got.Offsets) != fmt.Sprint(resume) {
		t.Errorf("resumed at %v, asked for %v", got.Offsets, resume)
	}
	second.waitMessages(topic, records-firstRead)
	second.ping("done")

	// Per partition, the first socket's records then the second's.
	all := append(seen, second.messages(topic)...)
	slices.SortStableFunc(all, func(a, b frame) int { return int(a.Partition - b.Partition) })
	checkExactlyOnce(t, all, end, partitions)
}

// TestReplaySeam subscribes from earliest while a producer writes flat out,
// and keeps it writing until the subscription's history reader has handed
// over to the live tail and beyond: every record is delivered exactly once,
// in order per partition, across the seam.
func TestReplaySeam(t *testing.T) {
	const (
		partitions = 3
		preloaded  = 3000
		batch      = 500
		afterJoin  = 3 // batches written once the reader has handed over
		maxBatches = 400
	)
	p := sharedSluice(t)
	topic := uniqueTopic(t, "seam")
	createTopic(t, topic, partitions)
	cl := newKafkaClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := produceMany(t.Context(), cl, topic, partitions, 0, preloaded); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		joined     = make(chan struct{})
		produced   atomic.Int64
		wg         sync.WaitGroup
		produceErr error // set by the producer before wg.Done
	)
	produced.Store(preloaded)
	wg.Add(1)
	go func() {
		defer wg.Done()
		left := -1
		for range maxBatches {
			if ctx.Err() != nil {
				return
			}
			n := int(produced.Load())
			if err := produceMany(ctx, cl, topic, partitions, n, batch); err != nil {
				produceErr = err
				return
			}
			produced.Add(batch)
			select {
			case <-joined:
				if left < 0 {
					left = afterJoin
				}
			default:
			}
			if left > 0 {
				left--
			}
			if left == 0 {
				return
			}
		}
	}()

	c := dialWith(t, p.wsURL("/v1/ws"), dialOpts{})
	c.subscribe("s", topic, "earliest")
	// The history reader counts itself before it delivers anything, so
	// once the preloaded records arrived and the gauge is back at zero it
	// has handed over to the tail (no other test replays meanwhile).
	eventually(t, time.Minute, func() (bool, string) {
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		got := len(c.messages(topic))
		n, err := p.metric("sluice_history_readers")
		return got >= preloaded && err == nil && n == 0,
			fmt.Sprintf("%d messages, sluice_history_readers = %v (%v)", got, n, err)
	})
	close(joined)
	wg.Wait()
	if produceErr != nil {
		t.Fatal(produceErr)
	}
	end := endOffsets(t, topic)
	total := 0
	for _, e := range end {
		total += int(e)
	}
	if total != int(produced.Load()) {
		t.Fatalf("topic holds %d records, %d produced", total, produced.Load())
	}
	t.Logf("%d records, %d written while the subscriber replayed", total, total-preloaded)
	c.waitMessages(topic, total)
	c.ping("done")
	msgs := c.messages(topic)
	byPart := map[int32][]frame{}
	for _, m := range msgs {
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	var ordered []frame
	for _, part := range slices.Sorted(maps.Keys(byPart)) {
		ordered = append(ordered, byPart[part]...)
	}
	checkExactlyOnce(t, ordered, end, partitions)
}
