package bridge

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/topics"
	"github.com/twmb/franz-go/pkg/kgo"
)

// subscribe answers a subscribe op: it checks the grant, fixes the starting
// offsets, joins the topic's fan-out and replies "subscribed" before any
// message of the subscription is queued.
func (s *session) subscribe(in *inbound) {
	topic := in.Topic
	if err := topics.ValidateName(topic); err != nil {
		s.reply(in.ID, newOpError(CodeBadRequest, "subscribe: %v", err))
		return
	}
	p := s.currentPrincipal()
	if !p.CanSubscribe(topic) {
		s.forbidden(in.ID, topic, "subscribe")
		return
	}
	from, err := parseFrom(in.From)
	if err != nil {
		s.reply(in.ID, newOpError(CodeBadRequest, "subscribe %s: %v", topic, err))
		return
	}
	switch in.OnGap {
	case "", "error", "earliest":
	default:
		s.reply(in.ID, newOpError(CodeBadRequest, "subscribe %s: on_gap %q: want \"error\" or \"earliest\"", topic, in.OnGap))
		return
	}
	s.subsMu.Lock()
	_, dup := s.subs[topic]
	_, dupGroup := s.groups[topic]
	dup = dup || dupGroup
	count := len(s.subs) + len(s.groups)
	s.subsMu.Unlock()
	if dup {
		s.reply(in.ID, &opError{code: CodeBadRequest, msg: "already subscribed to " + topic + "; unsubscribe first", topic: topic})
		return
	}
	if count >= s.srv.cfg.MaxSubscriptions {
		s.reply(in.ID, &opError{code: CodeRateLimited, msg: fmt.Sprintf("at most %d subscriptions per socket", s.srv.cfg.MaxSubscriptions), topic: topic})
		return
	}
	sub := &subscription{sess: s, id: in.ID, topic: topic}
	if in.Filter != nil {
		if in.Filter.Keys != nil {
			sub.filter.keys = make(map[string]struct{}, len(in.Filter.Keys))
			for _, k := range in.Filter.Keys {
				sub.filter.keys[k] = struct{}{}
			}
		}
		sub.filter.headers = in.Filter.Headers
	}
	if key, ok := p.KeyRestriction(topic); ok {
		sub.filter.restrictKey(key)
		sub.keyRule = keyRule{key: key, restricted: true}
	}
	if err := s.srv.ensureTopic(s.ctx, topic); err != nil {
		s.reply(in.ID, withTopic(err, topic))
		return
	}
	if in.Group != "" {
		s.subscribeGroup(in, sub.filter, sub.keyRule, from)
		return
	}
	if err := s.srv.join(sub, from, in.OnGap); err != nil {
		s.reply(in.ID, withTopic(err, topic))
		return
	}
	s.subsMu.Lock()
	s.subs[topic] = sub
	s.subsMu.Unlock()
	s.srv.metrics.subscriptions.Inc()
}

// unsubscribe answers an unsubscribe op. Leaving a group commits what the
// client acknowledged first.
func (s *session) unsubscribe(in *inbound) {
	s.subsMu.Lock()
	sub, ok := s.subs[in.Topic]
	delete(s.subs, in.Topic)
	g := s.groups[in.Topic]
	delete(s.groups, in.Topic)
	s.subsMu.Unlock()
	if g != nil {
		g.stop()
		s.srv.metrics.subscriptions.Dec()
		s.enqueue(replyFrame(topicReply{Op: "unsubscribed", ID: in.ID, Topic: in.Topic}))
		return
	}
	if !ok {
		s.reply(in.ID, &opError{code: CodeNotFound, msg: "not subscribed to " + in.Topic, topic: in.Topic})
		return
	}
	s.srv.leave(sub)
	s.enqueue(replyFrame(topicReply{Op: "unsubscribed", ID: in.ID, Topic: in.Topic}))
}

// dropSubscription ends a subscription the session no longer may hold.
func (s *session) dropSubscription(sub *subscription) {
	s.subsMu.Lock()
	delete(s.subs, sub.topic)
	s.subsMu.Unlock()
	s.srv.leave(sub)
}

// leaveAll ends every subscription of a closing session.
func (s *session) leaveAll() {
	s.subsMu.Lock()
	subs, groups := s.subs, s.groups
	s.subs, s.groups = map[string]*subscription{}, nil
	s.subsMu.Unlock()
	for _, sub := range subs {
		s.srv.leave(sub)
	}
	for _, g := range groups {
		g.stop()
		s.srv.metrics.subscriptions.Dec()
	}
}

func withTopic(err error, topic string) *opError {
	oe := *classify(err)
	oe.topic = topic
	return &oe
}

// join resolves sub's starting offsets and adds it to the topic's fan-out.
// Partitions that start at or past the tail are live at once; the others
// catch up through a history reader that hands them over at the seam.
func (s *Server) join(sub *subscription, from fromSpec, onGap string) error {
	// The tail starts a new topic at the end just listed, which is at or
	// past every start resolved with it.
	// The listing is bounded by kafka.timeout and runs on the server's
	// context: one derived from the session's would leave every session
	// holding a map of its context's children for good.
	start, end, err := s.resolveStart(s.ctx, sub.topic, from, onGap)
	if err != nil {
		return err
	}
	var ts *topicState
	for {
		ts = s.hub.getOrCreate(sub.topic)
		ts.mu.Lock()
		if !ts.removed {
			break
		}
		ts.mu.Unlock()
	}
	defer ts.mu.Unlock()

	if !ts.tailing {
		ts.counters = s.metrics.countersFor(sub.topic)
	}
	add := map[int32]kgo.Offset{}
	for p, o := range end {
		if _, tailed := ts.next[p]; !tailed {
			ts.next[p] = o
			add[p] = kgo.NewOffset().At(o)
		}
	}
	if len(add) > 0 {
		s.client.AddConsumePartitions(map[string]map[int32]kgo.Offset{sub.topic: add})
	}
	ts.tailing = true

	behind := map[int32]int64{}
	sub.ts = ts
	n := int32(0)
	for p := range start {
		n = max(n, p+1)
	}
	sub.cursors = make([]cursor, n)
	for p, o := range start {
		c := &sub.cursors[p]
		c.next = o
		if o >= ts.next[p] {
			c.live = true
		} else {
			behind[p] = o
		}
	}
	ts.subs[sub] = struct{}{}
	sub.sess.enqueue(subscribedFrame(sub.id, sub.topic, start))
	if len(behind) > 0 {
		hctx, cancel := context.WithCancel(sub.sess.ctx)
		sub.stopHistory = cancel
		s.goTracked(func() { s.runHistory(hctx, sub, behind) })
	}
	return nil
}

// leave removes sub from its topic, and stops tailing the topic when no
// subscriber on this process is left.
func (s *Server) leave(sub *subscription) {
	if sub.stopHistory != nil {
		sub.stopHistory()
	}
	ts := sub.ts
	if ts == nil {
		return
	}
	ts.mu.Lock()
	delete(ts.subs, sub)
	if len(ts.subs) == 0 {
		s.hub.remove(ts, func() {
			parts := make([]int32, 0, len(ts.next))
			for p := range ts.next {
				parts = append(parts, p)
			}
			s.client.RemoveConsumePartitions(map[string][]int32{ts.name: parts})
		})
	}
	ts.mu.Unlock()
	s.metrics.subscriptions.Dec()
}
