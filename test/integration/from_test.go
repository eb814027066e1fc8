package integration

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSubscribeFrom checks every kind of "from" against a topic of two
// partitions holding 20 records each: 10 written two hours ago, 10 one
// hour ago. All cases subscribe first; then one sentinel record per
// partition is produced, so each case's full delivery is known once it
// has seen both sentinels.
func TestSubscribeFrom(t *testing.T) {
	const (
		partitions = 2
		perPart    = 20
		oldRecords = 10
	)
	p := sharedSluice(t)
	topic := uniqueTopic(t, "history")
	createTopic(t, topic, partitions)

	now := time.Now()
	oldTime, newTime := now.Add(-2*time.Hour), now.Add(-time.Hour)
	var recs []*kgo.Record
	for part := range int32(partitions) {
		for i := range perPart {
			ts := oldTime
			if i >= oldRecords {
				ts = newTime
			}
			recs = append(recs, &kgo.Record{
				Topic: topic, Partition: part, Timestamp: ts.Add(time.Duration(i) * time.Millisecond),
				Key:   fmt.Appendf(nil, "p%d-%d", part, i),
				Value: fmt.Appendf(nil, `{"p":%d,"i":%d}`, part, i),
			})
		}
	}
	produceSync(t, recs...)

	// first[p] is the first offset each case wants of partition p; every
	// case then wants everything up to the end, sentinel included.
	cases := []struct {
		name  string
		from  any
		first map[int32]int64
	}{
		{"latest", "latest", map[int32]int64{0: perPart, 1: perPart}},
		{"default is latest", nil, map[int32]int64{0: perPart, 1: perPart}},
		{"earliest", "earliest", map[int32]int64{0: 0, 1: 0}},
		{"timestamp", map[string]any{"timestamp": now.Add(-90 * time.Minute).UnixMilli()}, map[int32]int64{0: oldRecords, 1: oldRecords}},
		{"timestamp in the future", map[string]any{"timestamp": now.Add(time.Hour).UnixMilli()}, map[int32]int64{0: perPart, 1: perPart}},
		{"offsets", map[string]any{"offsets": map[string]int64{"0": 5, "1": 15}}, map[int32]int64{0: 5, 1: 15}},
		{"offsets, one partition named", map[string]any{"offsets": map[string]int64{"1": 7}}, map[int32]int64{0: 0, 1: 7}},
		{"offsets past the end", map[string]any{"offsets": map[string]int64{"0": 1000, "1": perPart}}, map[int32]int64{0: perPart, 1: perPart}},
		{"last 3", map[string]any{"last": 3}, map[int32]int64{0: perPart - 3, 1: perPart - 3}},
		{"last more than held", map[string]any{"last": 1000}, map[int32]int64{0: 0, 1: 0}},
		{"last 0", map[string]any{"last": 0}, map[int32]int64{0: perPart, 1: perPart}},
	}
	clients := make([]*wsClient, len(cases))
	for i, tc := range cases {
		c := dial(t, p.wsURL("/v1/ws"))
		c.name = tc.name
		got := c.subscribe("sub", topic, tc.from)
		want := map[string]int64{}
		for part, o := range tc.first {
			want[fmt.Sprint(part)] = o
		}
		if fmt.Sprint(got.Offsets) != fmt.Sprint(want) {
			t.Errorf("%s: subscribed offsets %v, want %v", tc.name, got.Offsets, want)
		}
		clients[i] = c
	}

	var sentinels []*kgo.Record
	for part := range int32(partitions) {
		sentinels = append(sentinels, &kgo.Record{Topic: topic, Partition: part, Key: []byte("sentinel"), Value: []byte(`{"sentinel":true}`)})
	}
	produceSync(t, sentinels...)

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := clients[i]
			want := 0
			for _, first := range tc.first {
				want += perPart + 1 - int(first)
			}
			msgs := c.waitMessages(topic, want)
			byPart := map[int32][]int64{}
			for _, m := range msgs {
				byPart[m.Partition] = append(byPart[m.Partition], m.Offset)
				if m.Offset < perPart {
					var v struct{ P, I int }
					if err := json.Unmarshal(m.Value, &v); err != nil || v.P != int(m.Partition) || int64(v.I) != m.Offset {
						t.Errorf("%v: value %s", m, m.Value)
					}
					if m.Key == nil || *m.Key != fmt.Sprintf("p%d-%d", m.Partition, m.Offset) {
						t.Errorf("%v: key %v", m, m.Key)
					}
				}
			}
			for part, first := range tc.first {
				var wantOffsets []int64
				for o := first; o <= perPart; o++ {
					wantOffsets = append(wantOffsets, o)
				}
				if fmt.Sprint(byPart[part]) != fmt.Sprint(wantOffsets) {
					t.Errorf("partition %d: offsets %v, want %v", part, byPart[part], wantOffsets)
				}
			}
		})
	}
}

// TestSubscribeFromErrors checks the refusals of subscribe: offsets older
// than the log start cannot happen on a fresh topic, so it covers the bad
// requests, and that the socket stays usable after each.
func TestSubscribeFromErrors(t *testing.T) {
	p := sharedSluice(t)
	topic := uniqueTopic(t, "t")
	createTopic(t, topic, 2)
	c := dial(t, p.wsURL("/v1/ws"))
	cases := []struct {
		name string
		from any
		code string
	}{
		{"unknown word", "newest", "bad_request"},
		{"negative timestamp", map[string]any{"timestamp": -1}, "bad_request"},
		{"two kinds", map[string]any{"last": 1, "timestamp": 5}, "bad_request"},
		{"unknown partition", map[string]any{"offsets": map[string]int64{"7": 0}}, "bad_request"},
		{"negative offset", map[string]any{"offsets": map[string]int64{"0": -3}}, "bad_request"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprint("e", i)
			c.send(map[string]any{"op": "subscribe", "id": id, "topic": topic, "from": tc.from})
			f := c.waitReply(id)
			if f.Op != "error" || f.Code != tc.code {
				t.Fatalf("got %v, want error %s", f, tc.code)
			}
		})
	}
	c.subscribe("ok", topic, "earliest")
}
