package integration

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// quietWindow is how long a test watches a socket to show that nothing
// more arrives: several of the group loop's 200 ms polls.
const quietWindow = time.Second

// holds polls cond for d and fails the test the first time it is false:
// the check of something that must not happen.
func holds(t testing.TB, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, desc := cond(); !ok {
			t.Fatal(desc)
		}
		time.Sleep(pollInterval)
	}
}

// member is a socket of a consumer group. It reads frames like a
// wsClient and also tracks the partitions the group assigns it now, from
// its assigned and revoked frames.
type member struct {
	*wsClient

	mu    sync.Mutex
	owned map[int32]bool
}

// dialMember connects to url with a reader that tracks assignments.
func dialMember(t testing.TB, url, name string) *member {
	t.Helper()
	c := dialWith(t, url, dialOpts{noRead: true})
	c.name = name
	m := &member{wsClient: c, owned: map[int32]bool{}}
	go m.readLoop()
	return m
}

func (m *member) readLoop() {
	c := m.wsClient
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		var f frame
		var a struct {
			Partitions []int32 `json:"partitions"`
		}
		if err == nil {
			if err = json.Unmarshal(data, &f); err == nil {
				err = json.Unmarshal(data, &a)
			}
		}
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		if f.Op == "assigned" || f.Op == "revoked" {
			m.mu.Lock()
			for _, p := range a.Partitions {
				if f.Op == "assigned" {
					m.owned[p] = true
				} else {
					delete(m.owned, p)
				}
			}
			m.mu.Unlock()
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
	}
}

// partitions returns the partitions the member owns now, sorted.
func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owned))
}

// join subscribes the member to topic as part of group, from earliest.
func (m *member) join(topic, group string) {
	m.t.Helper()
	m.send(map[string]any{"op": "subscribe", "id": "g", "topic": topic, "group": group, "from": "earliest"})
	if f := m.waitReply("g"); f.Op != "subscribed" {
		m.t.Fatalf("%s: group subscribe: %v", m.name, f)
	}
}

// ackAll acknowledges the highest offset of every partition the member
// received and waits for each acked reply.
func (m *member) ackAll(topic string) {
	m.t.Helper()
	last := map[int32]int64{}
	for _, f := range m.messages(topic) {
		last[f.Partition] = max(last[f.Partition], f.Offset)
	}
	for _, p := range slices.Sorted(maps.Keys(last)) {
		id := fmt.Sprintf("ack-%d-%d", p, last[p])
		m.send(map[string]any{"op": "ack", "id": id, "topic": topic, "partition": p, "offset": last[p]})
		if f := m.waitReply(id); f.Op != "acked" {
			m.t.Fatalf("%s: ack of %d@%d: %v", m.name, p, last[p], f)
		}
	}
}

// waitSplit waits until the members own disjoint, non-empty sets of
// partitions that together are all partitions of the topic: the group
// has settled.
func waitSplit(t testing.TB, partitions int32, members ...*member) {
	t.Helper()
	eventually(t, waitTimeout, func() (bool, string) {
		seen := map[int32]string{}
		desc := ""
		for _, m := range members {
			ps := m.partitions()
			desc += fmt.Sprintf(" %s=%v", m.name, ps)
			if len(ps) == 0 {
				return false, "a member owns nothing:" + desc
			}
			for _, p := range ps {
				if other, dup := seen[p]; dup {
					return false, fmt.Sprintf("partition %d owned by %s and %s:%s", p, other, m.name, desc)
				}
				seen[p] = m.name
			}
		}
		return int32(len(seen)) == partitions, "not every partition is owned:" + desc
	})
}

// groupRecords writes perPart records {"p":P,"i":I} to every partition.
func groupRecords(t testing.TB, topic string, partitions int32, perPart int) {
	t.Helper()
	var recs []*kgo.Record
	for p := range partitions {
		for i := range perPart {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i)})
		}
	}
	produceSync(t, recs...)
}

// waitCommitted polls the group's committed offsets of topic until they
// are want, failing with what was committed last.
func waitCommitted(t testing.TB, group, topic string, want map[int32]int64) {
	t.Helper()
	adm := kadm.NewClient(newKafkaClient(t))
	eventually(t, waitTimeout, func() (bool, string) {
		resps, err := adm.FetchOffsets(testCtx(t, kafkaTimeout), group)
		if err != nil {
			return false, fmt.Sprintf("fetching offsets of %s: %v", group, err)
		}
		got := map[int32]int64{}
		resps.Each(func(r kadm.OffsetResponse) {
			if r.Topic == topic && r.Err == nil {
				got[r.Partition] = r.At
			}
		})
		return maps.Equal(got, want), fmt.Sprintf("group %s committed %v, want %v", group, got, want)
	})
}

// TestOffsetOutOfRange moves the log start of a topic with DeleteRecords,
// then resumes from offsets below it: the subscribe is refused with
// offset_out_of_range carrying the earliest and latest offsets, and with
// "on_gap":"earliest" it starts at the log start instead.
func TestOffsetOutOfRange(t *testing.T) {
	const perPart = 10
	p := sharedSluice(t)
	topic := uniqueTopic(t, "trimmed")
	createTopic(t, topic, 2)
	groupRecords(t, topic, 2, perPart)
	adm := kadm.NewClient(newKafkaClient(t))
	resp, err := adm.DeleteRecords(testCtx(t, kafkaTimeout), kadm.OffsetsList{
		{Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1},
		{Topic: topic, Partition: 1, At: 6, LeaderEpoch: -1},
	}.Offsets())
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("deleting records: %v", err)
	}

	c := dial(t, p.wsURL("/v1/ws"))
	from := map[string]any{"offsets": map[string]int64{"0": 2, "1": 7}}
	c.send(map[string]any{"op": "subscribe", "id": "gap", "topic": topic, "from": from})
	f := c.waitReply("gap")
	if f.Op != "error" || f.Code != "offset_out_of_range" || f.Topic != topic {
		t.Fatalf("subscribe below the log start: %v, want offset_out_of_range", f)
	}
	var details struct{ Earliest, Latest map[string]int64 }
	if err := json.Unmarshal(f.Details, &details); err != nil {
		t.Fatalf("details %s: %v", f.Details, err)
	}
	if want := map[string]int64{"0": 4, "1": 6}; !maps.Equal(details.Earliest, want) {
		t.Errorf("details.earliest %v, want %v", details.Earliest, want)
	}
	if want := map[string]int64{"0": perPart, "1": perPart}; !maps.Equal(details.Latest, want) {
		t.Errorf("details.latest %v, want %v", details.Latest, want)
	}
	// The refusal subscribed nothing: the same topic can be subscribed.
	c.send(map[string]any{"op": "subscribe", "id": "ok", "topic": topic, "from": from, "on_gap": "earliest"})
	f = c.waitReply("ok")
	if want := map[string]int64{"0": 4, "1": 7}; f.Op != "subscribed" || !maps.Equal(f.Offsets, want) {
		t.Fatalf("subscribe with on_gap earliest: %v, want subscribed at %v", f, want)
	}
	msgs := c.waitMessages(topic, (perPart-4)+(perPart-7))
	got := map[int32][]int64{}
	for _, m := range msgs {
		got[m.Partition] = append(got[m.Partition], m.Offset)
	}
	if want := "map[0:[4 5 6 7 8 9] 1:[7 8 9]]"; fmt.Sprint(got) != want {
		t.Errorf("delivered offsets %v, want %s", got, want)
	}
}

// TestGroupRedelivery shares six partitions among three sockets of one
// group. One socket drops without acknowledging what it got: its records
// are delivered again to the two survivors, and once they acknowledged
// everything the group's committed offsets are the log end.
func TestGroupRedelivery(t *testing.T) {
	const (
		partitions = 6
		perPart    = 5
	)
	p := sharedSluice(t)
	topic := uniqueTopic(t, "work")
	group := uniqueTopic(t, "group")
	createTopic(t, topic, partitions)
	var members []*member
	for i := range 3 {
		m := dialMember(t, p.wsURL("/v1/ws"), fmt.Sprint("member", i))
		m.join(topic, group)
		members = append(members, m)
	}
	waitSplit(t, partitions, members...)
	groupRecords(t, topic, partitions, perPart)

	dropper, survivors := members[0], members[1:]
	dropped := dropper.partitions()
	for _, m := range members {
		m.waitMessages(topic, len(m.partitions())*perPart)
	}
	for _, m := range survivors {
		m.ackAll(topic)
	}
	if err := dropper.conn.Close(); err != nil {
		t.Fatal(err)
	}
	waitSplit(t, partitions, survivors...)

	// Every record of the dropped partitions reaches a survivor again.
	isDropped := func(f frame) bool { return f.Op == "message" && slices.Contains(dropped, f.Partition) }
	eventually(t, waitTimeout, func() (bool, string) {
		n := 0
		for _, m := range survivors {
			n += m.count(isDropped)
		}
		return n >= len(dropped)*perPart, fmt.Sprintf("%d of %d records of partitions %v redelivered", n, len(dropped)*perPart, dropped)
	})
	for _, m := range survivors {
		m.ackAll(topic)
	}
	want := map[int32]int64{}
	for p := range int32(partitions) {
		want[p] = perPart
	}
	waitCommitted(t, group, topic, want)

	seen := map[string]int{}
	for _, m := range survivors {
		for _, f := range m.messages(topic) {
			seen[fmt.Sprintf("%d@%d", f.Partition, f.Offset)]++
		}
	}
	if len(seen) != partitions*perPart {
		t.Errorf("the survivors saw %d distinct records, want %d", len(seen), partitions*perPart)
	}
	for rec, n := range seen {
		if n != 1 {
			t.Errorf("record %s delivered %d times to the survivors", rec, n)
		}
	}
}

// TestGroupCommitFollowsAcks checks that only acknowledgements of
// delivered records move a group's committed offset, and only forward: a
// stale ack below an earlier one does not rewind it (the records after it
// would be delivered again), and an ack past the last delivered record does
// not skip records nobody received. An unsubscribe commits synchronously
// before it is answered, so the committed offset is read after it.
func TestGroupCommitFollowsAcks(t *testing.T) {
	const records = 10
	p := sharedSluice(t)
	topic := uniqueTopic(t, "work")
	group := uniqueTopic(t, "group")
	createTopic(t, topic, 1)
	groupRecords(t, topic, 1, records)
	committed := map[int32]int64{0: records}
	ack := func(m *member, id string, offset int64) frame {
		m.send(map[string]any{"op": "ack", "id": id, "topic": topic, "partition": 0, "offset": offset})
		return m.waitReply(id)
	}
	leave := func(m *member) {
		m.send(map[string]any{"op": "unsubscribe", "id": "bye", "topic": topic})
		if f := m.waitReply("bye"); f.Op != "unsubscribed" {
			t.Fatalf("%s: unsubscribe: %v", m.name, f)
		}
	}

	m := dialMember(t, p.wsURL("/v1/ws"), "stale acker")
	m.join(topic, group)
	m.waitMessages(topic, records)
	if f := ack(m, "all", records-1); f.Op != "acked" {
		t.Fatalf("ack of %d: %v", records-1, f)
	}
	waitCommitted(t, group, topic, committed)
	ack(m, "stale", 4)
	leave(m)
	waitCommitted(t, group, topic, committed) // passes at once unless rewound

	// A new member starts at the committed offset and receives nothing.
	m = dialMember(t, p.wsURL("/v1/ws"), "eager acker")
	m.join(topic, group)
	eventually(t, waitTimeout, func() (bool, string) {
		return len(m.partitions()) == 1, "partition 0 not assigned"
	})
	ack(m, "ahead", records+40)
	leave(m)
	waitCommitted(t, group, topic, committed) // passes at once unless skipped ahead
}

// TestGroupAcrossInstances runs one group on two sluice processes: the
// sockets split the partitions between them and every record goes to
// exactly one of them.
func TestGroupAcrossInstances(t *testing.T) {
	const (
		partitions = 4
		perPart    = 10
	)
	a := sharedSluice(t)
	b := startSluice(t, baseConfig+"kafka: {auto_create_topics: false}\n")
	topic := uniqueTopic(t, "work")
	group := uniqueTopic(t, "group")
	createTopic(t, topic, partitions)
	members := []*member{
		dialMember(t, a.wsURL("/v1/ws"), "on A"),
		dialMember(t, b.wsURL("/v1/ws"), "on B"),
	}
	for _, m := range members {
		m.join(topic, group)
	}
	waitSplit(t, partitions, members...)
	groupRecords(t, topic, partitions, perPart)

	eventually(t, waitTimeout, func() (bool, string) {
		n := 0
		for _, m := range members {
			n += len(m.messages(topic))
		}
		return n >= partitions*perPart, fmt.Sprintf("%d of %d records delivered", n, partitions*perPart)
	})
	for _, m := range members {
		m.ping("settled")
	}
	seen := map[string]string{}
	for _, m := range members {
		owned := m.partitions()
		for _, f := range m.messages(topic) {
			rec := fmt.Sprintf("%d@%d", f.Partition, f.Offset)
			if other, dup := seen[rec]; dup {
				t.Errorf("record %s delivered to %s and %s", rec, other, m.name)
			}
			seen[rec] = m.name
			if !slices.Contains(owned, f.Partition) {
				t.Errorf("%s got %s but owns %v", m.name, rec, owned)
			}
		}
	}
	if len(seen) != partitions*perPart {
		t.Errorf("%d distinct records delivered, want %d", len(seen), partitions*perPart)
	}
}

// TestMaxUnacked subscribes a group with max_unacked 5 to a topic of 20
// records: the socket gets 5 and no more until it acknowledges, then as
// many more as it acknowledged.
func TestMaxUnacked(t *testing.T) {
	const (
		maxUnacked = 5
		records    = 20
	)
	p := startSluice(t, baseConfig+fmt.Sprintf("kafka: {auto_create_topics: false}\nmax_unacked: %d\n", maxUnacked))
	topic := uniqueTopic(t, "work")
	createTopic(t, topic, 1)
	groupRecords(t, topic, 1, records)
	c := dialMember(t, p.wsURL("/v1/ws"), "slow acker")
	c.join(topic, uniqueTopic(t, "group"))

	steps := []struct {
		ack  int64 // offset acknowledged before the step; -1 for none
		want int   // messages delivered in total after it
	}{
		{-1, maxUnacked},
		{2, maxUnacked + 3},
		{maxUnacked + 2, 2*maxUnacked + 3},
	}
	for _, st := range steps {
		if st.ack >= 0 {
			id := fmt.Sprint("ack", st.ack)
			c.send(map[string]any{"op": "ack", "id": id, "topic": topic, "partition": 0, "offset": st.ack})
			if f := c.waitReply(id); f.Op != "acked" {
				t.Fatalf("ack of %d: %v", st.ack, f)
			}
		}
		c.waitMessages(topic, st.want)
		holds(t, quietWindow, func() (bool, string) {
			n := len(c.messages(topic))
			return n == st.want, fmt.Sprintf("after ack %d: %d messages, want %d and no more", st.ack, n, st.want)
		})
	}
	for i, f := range c.messages(topic) {
		if f.Offset != int64(i) {
			t.Fatalf("message %d is %v, want offset %d", i, f, i)
		}
	}
}

// TestFilters subscribes with key and header filters: each socket gets
// exactly the records its filter keeps. A filter that matches none of
// 10,000 records delivers nothing, then the one record that matches.
func TestFilters(t *testing.T) {
	p := sharedSluice(t)
	topic := uniqueTopic(t, "filtered")
	createTopic(t, topic, 1)

	// Sockets with a filter that matches nothing subscribe before the
	// 10,000 records, so the live fan-out filters them.
	needles := []struct {
		name   string
		filter map[string]any
	}{
		{"keys", map[string]any{"keys": []string{"needle"}}},
		{"headers", map[string]any{"headers": map[string]string{"kind": "needle"}}},
	}
	var idle []*wsClient
	for _, n := range needles {
		c := dial(t, p.wsURL("/v1/ws"))
		c.name = "matches nothing by " + n.name
		c.send(map[string]any{"op": "subscribe", "id": "s", "topic": topic, "filter": n.filter})
		if f := c.waitReply("s"); f.Op != "subscribed" {
			t.Fatalf("%s: %v", c.name, f)
		}
		idle = append(idle, c)
	}

	var recs []*kgo.Record
	users, regions := []string{"alice", "bob", "carol"}, []string{"eu", "us"}
	for i := range 10_000 {
		r := &kgo.Record{
			Topic: topic,
			Key:   []byte(users[i%len(users)]),
			Value: fmt.Appendf(nil, `{"n":%d}`, i),
			Headers: []kgo.RecordHeader{
				{Key: "kind", Value: []byte("hay")},
				{Key: "region", Value: []byte(regions[i%len(regions)])},
			},
		}
		if i%5 == 0 {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: "tier", Value: []byte("gold")})
		}
		recs = append(recs, r)
	}
	produceSync(t, recs...)
	needle := &kgo.Record{Topic: topic, Key: []byte("needle"), Value: []byte(`{"needle":true}`),
		Headers: []kgo.RecordHeader{{Key: "kind", Value: []byte("needle")}}}
	produceSync(t, needle)
	for _, c := range idle {
		got := c.waitFrame("the needle", func(f frame) bool { return f.Op == "message" })
		if got.Offset != int64(len(recs)) || string(got.Value) != `{"needle":true}` {
			t.Errorf("%s: first message %v %s, want the needle at %d", c.name, got, got.Value, len(recs))
		}
		c.ping("after")
		if n := len(c.messages(topic)); n != 1 {
			t.Errorf("%s: %d messages, want only the needle", c.name, n)
		}
	}

	// Filters over history: each socket reads the topic from earliest.
	cases := []struct {
		name   string
		filter map[string]any
		keep   func(r *kgo.Record) bool
	}{
		{"one key", map[string]any{"keys": []string{"bob"}}, func(r *kgo.Record) bool { return string(r.Key) == "bob" }},
		{"two keys", map[string]any{"keys": []string{"alice", "carol", "nobody"}}, func(r *kgo.Record) bool { return string(r.Key) != "bob" }},
		{"one header", map[string]any{"headers": map[string]string{"region": "eu"}}, func(r *kgo.Record) bool { return header(r, "region") == "eu" }},
		{"two headers", map[string]any{"headers": map[string]string{"region": "us", "tier": "gold"}}, func(r *kgo.Record) bool {
			return header(r, "region") == "us" && header(r, "tier") == "gold"
		}},
		{"keys and headers", map[string]any{"keys": []string{"alice"}, "headers": map[string]string{"tier": "gold"}}, func(r *kgo.Record) bool {
			return string(r.Key) == "alice" && header(r, "tier") == "gold"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for i, r := range recs {
				if tc.keep(r) {
					want = append(want, int64(i))
				}
			}
			c := dialWith(t, p.wsURL("/v1/ws"), dialOpts{dropValues: true})
			c.send(map[string]any{"op": "subscribe", "id": "s", "topic": topic, "from": "earliest", "filter": tc.filter})
			if f := c.waitReply("s"); f.Op != "subscribed" {
				t.Fatalf("subscribe: %v", f)
			}
			// A record kept wrongly comes before a wanted one, or shows up
			// by the time a ping after the last wanted one is answered.
			c.waitMessages(topic, len(want))
			c.ping("after")
			var got []int64
			for _, m := range c.messages(topic) {
				got = append(got, m.Offset)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%d messages, want %d (first got %v, first want %v)", len(got), len(want), head(got), head(want))
			}
		})
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func head(s []int64) []int64 { return s[:min(len(s), 5)] }

// TestResumeOnAnotherInstance reads a topic through one sluice process,
// which is then stopped; the client resumes on a second process with its
// offsets, while records keep coming: together the two sockets saw every
// record once, in order.
func TestResumeOnAnotherInstance(t *testing.T) {
	const (
		partitions = 3
		before     = 3000
		during     = 1500
	)
	first := startSluice(t, baseConfig+"kafka: {auto_create_topics: false}\n")
	second := sharedSluice(t)
	topic := uniqueTopic(t, "stream")
	createTopic(t, topic, partitions)
	cl := newKafkaClient(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := produceMany(testCtx(t, kafkaTimeout), cl, topic, partitions, 0, before); err != nil {
		t.Fatal(err)
	}

	c1 := dial(t, first.wsURL("/v1/ws"))
	c1.name = "before the restart"
	sub := c1.subscribe("s", topic, "earliest")
	c1.waitMessages(topic, before/3)
	if err := first.stop(); err != nil {
		t.Fatalf("stopping the first process: %v", err)
	}
	if err := c1.waitClosed(waitTimeout); closeCode(err) != websocket.CloseGoingAway {
		t.Errorf("first socket ended with %v, want close 1001", err)
	}
	if err := produceMany(testCtx(t, kafkaTimeout), cl, topic, partitions, before, during); err != nil {
		t.Fatal(err)
	}

	seen := c1.messages(topic)
	resume := map[string]int64{}
	for part, o := range sub.Offsets {
		resume[part] = o
	}
	for _, m := range seen {
		resume[fmt.Sprint(m.Partition)] = m.Offset + 1
	}
	c2 := dial(t, second.wsURL("/v1/ws"))
	c2.name = "after the restart"
	c2.subscribe("s", topic, map[string]any{"offsets": resume})
	rest := c2.waitMessages(topic, before+during-len(seen))
	checkExactlyOnce(t, append(slices.Clone(seen), rest...), endOffsets(t, topic), partitions)
}
