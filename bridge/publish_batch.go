package bridge

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// batchResult is the outcome of one record of a batch publish.
type batchResult struct {
	Index     int    `json:"index"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Details   any    `json:"details,omitempty"`
}

type batchPublishedReply struct {
	Op      string        `json:"op"`
	ID      string        `json:"id,omitempty"`
	Topic   string        `json:"topic"`
	Results []batchResult `json:"results"`
}

// publishBatch answers a publish with "records": every record is decoded,
// validated and encoded first, and if any fails nothing is written and the
// error lists each failing record by index. Otherwise all records are
// produced and one "published" reply lists every record's partition and
// offset once Kafka acknowledged them all. Kafka has no atomic multi-record
// write outside transactions: if the broker refuses some records after the
// checks passed, the error lists which were written (with their offsets)
// and which were not.
func (s *session) publishBatch(id, topic string, records []inbound) {
	received := s.readAt
	limit := s.srv.cfg.MaxInflightPublishes
	switch {
	case len(records) == 0:
		s.reply(id, newOpError(CodeBadRequest, "publish: records is empty"))
		return
	case len(records) > limit:
		s.reply(id, &opError{code: CodeTooLarge, msg: fmt.Sprintf("publish: %d records in one batch, at most %d (max_inflight_publishes)", len(records), limit), topic: topic})
		return
	}
	if s.publishLimit != nil && !s.publishLimit.AllowN(received, len(records)) {
		s.reply(id, s.rateLimited(topic))
		return
	}
	if err := s.srv.ensureTopic(s.ctx, topic); err != nil {
		s.reply(id, withTopic(err, topic))
		return
	}
	recs := make([]*pendingPublish, len(records))
	var failed []batchResult
	for i := range records {
		p, oe := s.batchRecord(topic, &records[i])
		if oe != nil {
			failed = append(failed, batchResult{Index: i, Code: oe.code.String(), Message: oe.msg, Details: oe.details})
			continue
		}
		recs[i] = p
	}
	if len(failed) > 0 {
		s.reply(id, batchError(topic, failed, len(records), "nothing was written"))
		return
	}
	if !s.acquireInflight(len(recs)) {
		return
	}
	b := &pendingBatch{s: s, id: id, topic: topic, received: received, results: make([]batchResult, len(recs)), left: len(recs)}
	for i, p := range recs {
		p.batch, p.index = b, i
		s.submit(p)
	}
}

// batchRecord builds one record of a batch.
func (s *session) batchRecord(topic string, in *inbound) (*pendingPublish, *opError) {
	key, value, form, oe := in.recordParts()
	if oe != nil {
		return nil, oe
	}
	return s.buildRecord(topic, key, value, form, in.Headers)
}

// pendingBatch collects the acks of a batch's records.
type pendingBatch struct {
	s        *session
	id       string
	topic    string
	received time.Time

	mu      sync.Mutex
	results []batchResult
	failed  int
	left    int
}

// done records one record's answer; the last one answers the batch. It is
// called from produced, which freed the record's in-flight slot.
func (b *pendingBatch) done(i int, r *kgo.Record, err error) {
	b.mu.Lock()
	res := &b.results[i]
	res.Index = i
	if err != nil {
		oe := b.s.produceFailed(b.topic, err)
		res.Code, res.Message, res.Partition, res.Offset = oe.code.String(), oe.msg, -1, -1
		b.failed++
	} else {
		res.Partition, res.Offset = r.Partition, r.Offset
		b.s.countPublished(r, b.received)
	}
	b.left--
	finished := b.left == 0
	b.mu.Unlock()
	if !finished {
		return
	}
	if b.failed > 0 {
		b.s.reply(b.id, batchError(b.topic, b.results, len(b.results), "the records without a code were written"))
		return
	}
	b.s.enqueue(replyFrame(batchPublishedReply{Op: "published", ID: b.id, Topic: b.topic, Results: b.results}))
}

// batchError is the error of a batch: the first failure's code, and every
// record's outcome in details.
func batchError(topic string, results []batchResult, total int, what string) *opError {
	var first *batchResult
	var failedIdx []string
	for i := range results {
		if results[i].Code != "" {
			if first == nil {
				first = &results[i]
			}
			failedIdx = append(failedIdx, fmt.Sprint(results[i].Index))
		}
	}
	code := CodeInternal
	for c := CodeBadRequest; int(c) < len(codeNames); c++ {
		if c.String() == first.Code {
			code = c
		}
	}
	return &opError{
		code:    code,
		msg:     fmt.Sprintf("%d of %d records failed (indexes %s); %s: %s", len(failedIdx), total, strings.Join(failedIdx, ", "), what, first.Message),
		topic:   topic,
		details: results,
	}
}
