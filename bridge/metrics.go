package bridge

import (
	"path"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the bridge's Prometheus collectors, namespace "sluice".
// Labels come only from server-chosen bounded sets (routes, codes, reasons).
type metrics struct {
	connections    *prometheus.GaugeVec
	subscriptions  prometheus.Gauge
	historyReaders prometheus.Gauge
	messagesOut    *prometheus.CounterVec
	bytesOut       *prometheus.CounterVec
	messagesIn     *prometheus.CounterVec
	bytesIn        *prometheus.CounterVec
	publishes      prometheus.Counter
	fanoutLag      prometheus.Histogram
	rejected       *prometheus.CounterVec
	topicPatterns  []string
	in             map[string]topicCounters // by topic label: resolved once, read without a lock
	publishLatency prometheus.Histogram
	errors         *prometheus.CounterVec
	closes         *prometheus.CounterVec
	decodeFailures prometheus.Counter
	schemaFailures prometheus.Counter
	authFailures   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, topicPatterns []string) (*metrics, error) {
	m := &metrics{
		topicPatterns: topicPatterns,
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "sluice", Name: "connections",
			Help: "Open WebSocket connections, by route (\"v1\" for the JSON protocol endpoint).",
		}, []string{"route"}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "sluice", Name: "subscriptions", Help: "Active topic subscriptions across all sockets.",
		}),
		historyReaders: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "sluice", Name: "history_readers", Help: "Subscriptions currently catching up from Kafka history.",
		}),
		messagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "messages_out_total", Help: "Message frames queued to sockets, by topic label (metrics_topics pattern or \"other\").",
		}, []string{"topic"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "message_bytes_out_total", Help: "Bytes of message frames queued to sockets, by topic label.",
		}, []string{"topic"}),
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "messages_in_total", Help: "Records published by sockets and acknowledged by Kafka, by topic label.",
		}, []string{"topic"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "message_bytes_in_total", Help: "Bytes (key and value as written) of acknowledged publishes, by topic label.",
		}, []string{"topic"}),
		fanoutLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sluice", Name: "fanout_lag_seconds",
			Help:    "Time from a record's Kafka timestamp to its frame being queued to the live subscribers (once per record).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "rejected_upgrades_total", Help: "WebSocket upgrades refused before the handshake, by reason.",
		}, []string{"reason"}),
		publishes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "publishes_total", Help: "Publishes acknowledged by Kafka.",
		}),
		publishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sluice", Name: "publish_ack_seconds",
			Help:    "Time from a publish frame read to Kafka's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "errors_total", Help: "Error frames sent, by code.",
		}, []string{"code"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "disconnects_total", Help: "Closed sockets, by reason.",
		}, []string{"reason"}),
		decodeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "decode_failures_total", Help: "Schema-framed records delivered as value_b64 because they could not be decoded.",
		}),
		schemaFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "schema_violations_total", Help: "Publishes refused because the record did not match its schema.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "auth_failures_total", Help: "Refused tokens and denied operations, by reason.",
		}, []string{"reason"}),
	}
	m.in = make(map[string]topicCounters, len(topicPatterns)+1)
	for _, label := range append(slices.Clone(topicPatterns), otherTopics) {
		m.in[label] = topicCounters{messages: m.messagesIn.WithLabelValues(label), bytes: m.bytesIn.WithLabelValues(label)}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.connections, m.subscriptions, m.historyReaders, m.messagesOut, m.bytesOut, m.messagesIn, m.bytesIn,
		m.publishes, m.fanoutLag, m.rejected,
		m.publishLatency, m.errors, m.closes, m.decodeFailures, m.schemaFailures, m.authFailures,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, c := range Codes() {
		m.errors.WithLabelValues(c.String())
	}
	for r := closeReason(0); r < closeReasonCount; r++ {
		m.closes.WithLabelValues(r.String())
	}
	return m, nil
}

// otherTopics is the topic label of every topic no metrics_topics
// pattern matches.
const otherTopics = "other"

// topicLabel maps a topic to its bounded label: the first metrics_topics
// pattern it matches, or "other".
func (m *metrics) topicLabel(topic string) string {
	for _, p := range m.topicPatterns {
		if ok, _ := path.Match(p, topic); ok {
			return p
		}
	}
	return otherTopics
}

// topicCounters are one topic's out-counters, resolved once per topic so
// the fan-out does no label lookup per record.
type topicCounters struct {
	messages prometheus.Counter
	bytes    prometheus.Counter
}

// inCounters are topic's in-counters (acknowledged publishes).
func (m *metrics) inCounters(topic string) topicCounters { return m.in[m.topicLabel(topic)] }

func (m *metrics) countersFor(topic string) topicCounters {
	label := m.topicLabel(topic)
	return topicCounters{messages: m.messagesOut.WithLabelValues(label), bytes: m.bytesOut.WithLabelValues(label)}
}
