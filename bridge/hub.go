package bridge

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// hubShards is how many shards split the topic table, so that looking up
// one topic never contends with a subscribe on another.
const hubShards = 32

// hub maps topics to their live state. A topic is in the hub while at least
// one subscription on this process wants it.
type hub struct {
	seed   maphash.Seed
	shards [hubShards]hubShard
}

type hubShard struct {
	mu     sync.RWMutex
	topics map[string]*topicState
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].topics = make(map[string]*topicState)
	}
	return h
}

func (h *hub) shard(topic string) *hubShard {
	return &h.shards[maphash.String(h.seed, topic)%hubShards]
}

// get returns the topic's state, or nil.
func (h *hub) get(topic string) *topicState {
	sh := h.shard(topic)
	sh.mu.RLock()
	ts := sh.topics[topic]
	sh.mu.RUnlock()
	return ts
}

// getOrCreate returns the topic's state, creating an untailed one.
func (h *hub) getOrCreate(topic string) *topicState {
	sh := h.shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ts := sh.topics[topic]
	if ts == nil {
		ts = &topicState{name: topic, subs: make(map[*subscription]struct{}), next: make(map[int32]int64)}
		sh.topics[topic] = ts
	}
	return ts
}

// remove drops ts, which has no subscribers left, from the table. stop
// runs under the shard lock, so the tail stops consuming the topic before a
// new subscriber can create its state again. The caller holds ts.mu.
func (h *hub) remove(ts *topicState, stop func()) {
	sh := h.shard(ts.name)
	sh.mu.Lock()
	stop()
	if sh.topics[ts.name] == ts {
		delete(sh.topics, ts.name)
	}
	sh.mu.Unlock()
	ts.removed = true
}

// topicState is one tailed topic: its subscribers and, per partition, the
// next offset the tail will deliver. mu orders deliveries against joins:
// a subscription's cursor moves from history to live only under mu, so no
// record is seen twice or missed at the seam.
type topicState struct {
	name string

	mu       sync.Mutex
	subs     map[*subscription]struct{}
	next     map[int32]int64 // partition → next offset the tail delivers
	tailing  bool
	removed  bool
	counters topicCounters // set before the topic is tailed
}

// deliver hands the tail's records of one partition to every live
// subscriber. The frame is rendered at most once per record, and only if a
// subscriber wants it.
func (ts *topicState) deliver(partition int32, records []*kgo.Record, render func(*kgo.Record) []byte, m *metrics) {
	now := time.Now()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.removed {
		return
	}
	next, tailed := ts.next[partition]
	if !tailed {
		return
	}
	for _, rec := range records {
		if rec.Offset < next {
			continue // delivered already (a fetch from before the topic was re-added)
		}
		var frame []byte
		delivered := 0
		for sub := range ts.subs {
			c := sub.cursor(partition)
			if c == nil || !c.live || rec.Offset < c.next {
				continue
			}
			c.next = rec.Offset + 1
			if !sub.filter.accepts(rec) {
				continue
			}
			if frame == nil {
				frame = render(rec)
			}
			sub.sess.enqueue(frame)
			delivered++
		}
		if delivered > 0 {
			ts.counters.messages.Add(float64(delivered))
			ts.counters.bytes.Add(float64(delivered * len(frame)))
			m.fanoutLag.Observe(now.Sub(rec.Timestamp).Seconds())
		}
		next = rec.Offset + 1
	}
	ts.next[partition] = next
}
