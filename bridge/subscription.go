package bridge

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kgo"
)

// subscription is one socket's subscription to one topic.
type subscription struct {
	sess  *session
	id    string
	topic string
	ts    *topicState
	// cursors are indexed by partition; guarded by ts.mu once the
	// subscription is in ts.subs. A history reader owns a cursor's next
	// while !live. A partition past the slice (added after the subscribe)
	// is not delivered.
	cursors []cursor
	filter  recordFilter
	// keyRule is the token's key restriction the filter was narrowed by.
	keyRule keyRule
	// stopHistory cancels the history reader, if one runs.
	stopHistory func()
}

// cursor tracks one partition of a subscription.
type cursor struct {
	// live is true once the partition takes records from the tail.
	live bool
	// next is the next offset the subscriber wants.
	next int64
}

func (s *subscription) cursor(p int32) *cursor {
	if p < 0 || int(p) >= len(s.cursors) {
		return nil
	}
	return &s.cursors[p]
}

// recordFilter decides which records a subscription receives. It runs
// before a record is rendered, so filtered records cost little.
type recordFilter struct {
	// keys, when non-nil, is the set of keys to keep.
	keys map[string]struct{}
	// headers must all be present with these values.
	headers map[string]string
}

func (f *recordFilter) accepts(rec *kgo.Record) bool {
	if f.keys != nil {
		if _, ok := f.keys[string(rec.Key)]; !ok {
			return false
		}
	}
	for k, v := range f.headers {
		found := false
		for _, h := range rec.Headers {
			if h.Key == k && bytes.Equal(h.Value, []byte(v)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// restrictKey narrows the filter to one key (the guard's record-level
// rule): the intersection with any key list the client asked for.
func (f *recordFilter) restrictKey(key string) {
	if f.keys == nil {
		f.keys = map[string]struct{}{key: {}}
		return
	}
	_, had := f.keys[key]
	f.keys = map[string]struct{}{}
	if had {
		f.keys[key] = struct{}{}
	}
}

// keyRule is the key restriction of the token a subscription was made
// under; a refreshed token must honour it for the subscription to live on.
type keyRule struct {
	key        string
	restricted bool
}

// covers reports whether a subscription filtered by r honours p's key
// restriction on topic: p restricts nothing, or exactly what r applied.
func (r keyRule) covers(p Principal, topic string) bool {
	key, restricted := p.KeyRestriction(topic)
	return !restricted || r.restricted && r.key == key
}
