package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupSub is a subscription that joined a Kafka consumer group: the
// group's partitions are shared among every socket of that group on every
// Sluice instance, each record goes to one member, and offsets are
// committed only as the client acknowledges records.
//
// A group member is a Kafka group member, so each group subscription has a
// client of its own (the live fan-out still shares one client). Records are
// pushed into the socket's queue paced by the socket, and at most
// MaxUnacked records wait for an ack.
type groupSub struct {
	sess   *session
	id     string
	topic  string
	group  string
	filter recordFilter
	// keyRule is the token's key restriction the filter was narrowed by.
	keyRule keyRule
	cl      *kgo.Client
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	owned    map[int32]bool    // partitions assigned to this member
	pending  map[int32][]int64 // delivered, unacked offsets per partition, ascending
	toCommit map[int32]int64   // next offset to commit per partition (acked + 1)
	acked    map[int32]int64   // one past the highest acknowledged (or filtered) offset; never moves back
	next     map[int32]int64   // one past the highest delivered (or filtered) offset
	inflight int
	room     chan struct{} // signalled when an ack frees in-flight room
}

type assignmentReply struct {
	Op         string  `json:"op"`
	ID         string  `json:"id,omitempty"`
	Topic      string  `json:"topic"`
	Group      string  `json:"group"`
	Partitions []int32 `json:"partitions"`
}

type ackedReply struct {
	Op        string `json:"op"`
	ID        string `json:"id,omitempty"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// groupCommitInterval is how often acknowledged offsets are committed; they
// are also committed on revocation, unsubscribe and socket close.
const groupCommitInterval = 200 * time.Millisecond

// subscribeGroup joins sub's topic as a member of in.Group.
func (s *session) subscribeGroup(in *inbound, filter recordFilter, rule keyRule, from fromSpec) {
	reset := kgo.NewOffset().AtEnd()
	switch from.kind {
	case fromLatest:
	case fromEarliest:
		reset = kgo.NewOffset().AtStart()
	default:
		s.reply(in.ID, &opError{code: CodeBadRequest, msg: `a group subscription starts from the group's committed offsets; "from" may only be "latest" or "earliest" (where the group has none)`, topic: in.Topic})
		return
	}
	g := &groupSub{
		sess: s, id: in.ID, topic: in.Topic, group: in.Group, filter: filter, keyRule: rule,
		done:     make(chan struct{}),
		owned:    map[int32]bool{},
		pending:  map[int32][]int64{},
		toCommit: map[int32]int64{},
		acked:    map[int32]int64{},
		next:     map[int32]int64{},
		room:     make(chan struct{}, 1),
	}
	opts := append(s.srv.baseOpts(),
		kgo.ConsumerGroup(in.Group),
		kgo.ConsumeTopics(in.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxBytes(s.srv.cfg.Kafka.HistoryBatchBytes),
		kgo.OnPartitionsAssigned(g.assigned),
		kgo.OnPartitionsRevoked(g.revoked),
		kgo.OnPartitionsLost(g.lost),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		s.reply(in.ID, withTopic(fmt.Errorf("joining group %s: %w", in.Group, err), in.Topic))
		return
	}
	g.cl = cl
	ctx, cancel := context.WithCancel(s.ctx)
	g.cancel = cancel
	s.subsMu.Lock()
	if s.groups == nil {
		s.groups = make(map[string]*groupSub)
	}
	s.groups[in.Topic] = g
	s.subsMu.Unlock()
	s.srv.metrics.subscriptions.Inc()
	s.enqueue(subscribedFrame(in.ID, in.Topic, nil))
	s.srv.goTracked(func() { g.run(ctx) })
}

// run polls the group and pushes records into the socket's queue until ctx
// ends, then commits what was acknowledged and leaves the group.
func (g *groupSub) run(ctx context.Context) {
	defer close(g.done)
	max := g.sess.srv.cfg.MaxUnacked
	for ctx.Err() == nil {
		room := g.waitRoom(ctx, max)
		if room == 0 {
			break
		}
		// Polls end at least every groupCommitInterval, so acknowledged
		// offsets are committed on this one goroutine.
		pctx, cancel := context.WithTimeout(ctx, groupCommitInterval)
		fetches := g.cl.PollRecords(pctx, min(room, historyPollRecords))
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			g.sess.logger().Warn("group fetch error", slog.String("group", g.group), slog.String("topic", topic), slog.Int("partition", int(p)), slog.Any("error", err))
		})
		var stop bool
		fetches.EachRecord(func(rec *kgo.Record) {
			if stop {
				return
			}
			if !g.filter.accepts(rec) {
				g.markDone(rec.Partition, rec.Offset) // filtered records count as handled
				return
			}
			if !g.track(rec) {
				return // the partition was revoked meanwhile
			}
			if err := g.sess.pushHistory(ctx, g.sess.srv.render(rec)); err != nil {
				stop = true
			}
		})
		if stop {
			break
		}
		g.commit(ctx)
	}
	// Commit what was acknowledged, then leave so the group rebalances at
	// once and unacknowledged records go to another member.
	cctx, cancel := context.WithTimeout(context.Background(), g.sess.srv.cfg.Kafka.Timeout)
	g.commitSync(cctx)
	cancel()
	g.cl.Close()
}

// waitRoom waits until fewer than max records are unacknowledged and
// returns how many more may be delivered (0 when ctx ended).
func (g *groupSub) waitRoom(ctx context.Context, max int) int {
	for {
		g.mu.Lock()
		room := max - g.inflight
		g.mu.Unlock()
		if room > 0 {
			return room
		}
		select {
		case <-g.room:
		case <-ctx.Done():
			return 0
		}
	}
}

// track records a delivered record as waiting for an ack.
func (g *groupSub) track(rec *kgo.Record) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.owned[rec.Partition] {
		return false
	}
	g.pending[rec.Partition] = append(g.pending[rec.Partition], rec.Offset)
	g.next[rec.Partition] = rec.Offset + 1
	g.inflight++
	return true
}

// markDone moves the commit point of a partition past a record nobody
// needs to ack (a filtered one), when nothing before it waits.
func (g *groupSub) markDone(p int32, offset int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.owned[p] {
		return
	}
	g.next[p] = offset + 1
	if len(g.pending[p]) == 0 {
		g.acked[p] = offset + 1
		g.toCommit[p] = offset + 1
	}
}

// ack acknowledges every delivered record of partition p up to and
// including offset (cumulative).
func (g *groupSub) ack(p int32, offset int64) error {
	g.mu.Lock()
	if !g.owned[p] {
		g.mu.Unlock()
		return newOpError(CodeNotFound, "partition %d of %s is not assigned to this socket (revoked?)", p, g.topic)
	}
	if offset >= g.next[p] {
		g.mu.Unlock()
		return newOpError(CodeBadRequest, "offset %d of %s[%d] was not delivered to this socket", offset, g.topic, p)
	}
	pend := g.pending[p]
	n := 0
	for n < len(pend) && pend[n] <= offset {
		n++
	}
	g.pending[p] = pend[n:]
	g.inflight -= n
	// A stale ack (below an earlier one) must not move the commit back.
	if offset+1 > g.acked[p] {
		g.acked[p] = offset + 1
		g.toCommit[p] = offset + 1
	}
	g.mu.Unlock()
	select {
	case g.room <- struct{}{}:
	default:
	}
	return nil
}

// uncommitted takes the offsets to commit for the given partitions (all
// owned ones when ps is nil).
func (g *groupSub) uncommitted(ps []int32) map[string]map[int32]kgo.EpochOffset {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[int32]kgo.EpochOffset{}
	for p, o := range g.toCommit {
		if ps == nil || slices.Contains(ps, p) {
			out[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
			delete(g.toCommit, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return map[string]map[int32]kgo.EpochOffset{g.topic: out}
}

func (g *groupSub) commit(ctx context.Context) {
	if offs := g.uncommitted(nil); offs != nil {
		g.cl.CommitOffsets(ctx, offs, g.onCommit)
	}
}

func (g *groupSub) commitSync(ctx context.Context) {
	if offs := g.uncommitted(nil); offs != nil {
		g.cl.CommitOffsetsSync(ctx, offs, g.onCommit)
	}
}

func (g *groupSub) onCommit(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
	if err != nil {
		g.sess.logger().Warn("group commit failed", slog.String("group", g.group), slog.String("topic", g.topic), slog.Any("error", err))
	}
}

func (g *groupSub) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	ps := slices.Sorted(slices.Values(assigned[g.topic]))
	g.mu.Lock()
	for _, p := range ps {
		g.owned[p] = true
	}
	g.mu.Unlock()
	g.sess.enqueue(replyFrame(assignmentReply{Op: "assigned", ID: g.id, Topic: g.topic, Group: g.group, Partitions: ps}))
}

// revoked commits what was acknowledged on the revoked partitions, forgets
// their unacknowledged records (the next owner delivers them again) and
// tells the client.
func (g *groupSub) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	ps := slices.Sorted(slices.Values(revoked[g.topic]))
	if offs := g.uncommitted(ps); offs != nil {
		cl.CommitOffsetsSync(ctx, offs, g.onCommit)
	}
	g.forget(ps)
	g.sess.enqueue(replyFrame(assignmentReply{Op: "revoked", ID: g.id, Topic: g.topic, Group: g.group, Partitions: ps}))
}

func (g *groupSub) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	ps := slices.Sorted(slices.Values(lost[g.topic]))
	g.forget(ps)
	g.sess.enqueue(replyFrame(assignmentReply{Op: "revoked", ID: g.id, Topic: g.topic, Group: g.group, Partitions: ps}))
}

func (g *groupSub) forget(ps []int32) {
	g.mu.Lock()
	for _, p := range ps {
		g.inflight -= len(g.pending[p])
		delete(g.pending, p)
		delete(g.owned, p)
		delete(g.toCommit, p)
		delete(g.acked, p)
		delete(g.next, p)
	}
	g.mu.Unlock()
	select {
	case g.room <- struct{}{}:
	default:
	}
}

// stop ends the membership and waits for it to leave the group.
func (g *groupSub) stop() {
	g.cancel()
	<-g.done
}

// ackOp answers {"op":"ack","topic","partition","offset"}.
func (s *session) ackOp(in *inbound) {
	s.subsMu.Lock()
	g := s.groups[in.Topic]
	s.subsMu.Unlock()
	if g == nil {
		s.reply(in.ID, &opError{code: CodeNotFound, msg: "no group subscription to " + in.Topic + " on this socket", topic: in.Topic})
		return
	}
	if in.Partition == nil || in.Offset == nil {
		s.reply(in.ID, newOpError(CodeBadRequest, "ack needs topic, partition and offset"))
		return
	}
	if err := g.ack(*in.Partition, *in.Offset); err != nil {
		s.reply(in.ID, withTopic(err, in.Topic))
		return
	}
	if in.ID != "" {
		s.enqueue(replyFrame(ackedReply{Op: "acked", ID: in.ID, Topic: in.Topic, Partition: *in.Partition, Offset: *in.Offset}))
	}
}
