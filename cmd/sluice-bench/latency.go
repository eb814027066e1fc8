package main

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Range and precision of latency histograms, in microseconds.
const (
	histMinMicros = 1
	histMaxMicros = 60_000_000
	histSigFigs   = 3
	// latencyShards spreads recording over several histograms, so
	// thousands of reader goroutines do not queue on one lock.
	latencyShards = 32
)

// latency records durations in sharded HdrHistograms.
type latency struct {
	shards [latencyShards]latencyShard
}

type latencyShard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
	_  [40]byte // keep shards on separate cache lines
}

func newLatency() *latency {
	l := &latency{}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
	}
	return l
}

// record adds d; shard is any number stable for the caller (its socket).
func (l *latency) record(shard int, d time.Duration) {
	us := d.Microseconds()
	if us < histMinMicros {
		us = histMinMicros
	}
	s := &l.shards[shard%latencyShards]
	s.mu.Lock()
	_ = s.h.RecordValue(min(us, histMaxMicros))
	s.mu.Unlock()
}

// summary merges the shards into percentiles in milliseconds.
func (l *latency) summary() latencySummary {
	all := hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	return latencySummary{
		Count: all.TotalCount(),
		P50:   ms(all.ValueAtQuantile(50)),
		P99:   ms(all.ValueAtQuantile(99)),
		P999:  ms(all.ValueAtQuantile(99.9)),
		Max:   ms(all.Max()),
	}
}

// latencySummary is a latency distribution in milliseconds.
type latencySummary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func round3(f float64) float64 {
	if f < 0 {
		return -round3(-f)
	}
	return float64(int64(f*1000+0.5)) / 1000
}
