package bridge

import (
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/sluicehq/sluice/topics"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recordBatchOverhead is room left in a producer batch for Kafka's record
// batch and record framing around the largest record.
const recordBatchOverhead = 1 << 10

// Defaults for Config's zero values.
const (
	DefaultReadLimit            = 1 << 20
	DefaultSendQueueLength      = 1024
	DefaultReadBufferBytes      = 4096
	DefaultLinger               = time.Millisecond
	DefaultWriteTimeout         = 10 * time.Second
	DefaultPongWait             = 60 * time.Second
	DefaultMaxSubscriptions     = 100
	DefaultMaxInflightPublishes = 256
	DefaultMaxRecordBytes       = 1<<20 - recordBatchOverhead
	DefaultAutoCreatePartitions = 3
	DefaultKafkaTimeout         = 10 * time.Second
	DefaultHistoryBatchBytes    = 1 << 20
	DefaultCloseGrace           = time.Second
	DefaultMaxConnections       = 100000
	DefaultMaxUnacked           = 1000
	DefaultMaxConnectionsPerIP  = 1000
	DefaultFetchMaxWait         = 250 * time.Millisecond
	DefaultMetadataMinAge       = 250 * time.Millisecond
)

// Config sets up a Server. The zero value of every field means its default.
type Config struct {
	// Kafka is how the bridge reaches Kafka.
	Kafka KafkaConfig `yaml:"kafka"`
	// Routes map URL paths to topics. Default: none; only /v1/ws serves.
	Routes []topics.RouteConfig `yaml:"routes"`
	// ReadLimit is the largest frame a client may send, in bytes; a larger
	// one closes the socket with 1009. Default: 1 MiB.
	ReadLimit int64 `yaml:"max_frame_bytes"`
	// ReadBufferBytes is the read buffer of a socket the server does not
	// poll (a TLS socket, or any socket off Linux), which it holds for its
	// life. Polled sockets (plain TCP on Linux) hold none: they read into
	// pooled 16 KiB chunks only while they have input. Default: 4096.
	ReadBufferBytes int `yaml:"read_buffer_bytes"`
	// SendQueueLength is how many frames may wait for one socket; when it
	// overflows the socket is closed as a slow consumer. Default: 1024.
	SendQueueLength int `yaml:"send_queue_length"`
	// WriteTimeout bounds one write to a socket. Default: 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// PongWait is how long a socket may stay silent before it is dropped;
	// the server pings every PongWait*9/10. Default: 60s.
	PongWait time.Duration `yaml:"pong_wait"`
	// MaxSubscriptions is how many topics one socket may subscribe to.
	// Default: 100.
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// MaxInflightPublishes is how many publishes of one socket may wait
	// for Kafka's ack; past it the server stops reading that socket until
	// acks arrive. Default: 256.
	MaxInflightPublishes int `yaml:"max_inflight_publishes"`
	// MaxConnections is how many sockets the process holds at once; an
	// upgrade past it is refused with HTTP 503 and Retry-After.
	// Default: 100000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP is how many sockets one client address may hold;
	// an upgrade past it is refused with HTTP 503 and Retry-After.
	// Default: 1000.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// PublishRate is how many publishes per second one socket may make
	// (token bucket); a publish over it is answered rate_limited, never
	// dropped silently. Default: 0 (no limit).
	PublishRate float64 `yaml:"publish_rate"`
	// PublishBurst is the token bucket's size. Default: PublishRate,
	// at least 1.
	PublishBurst int `yaml:"publish_burst"`
	// MetricsTopics are topic patterns ('*' matches any run of characters)
	// whose topics get their own label on the per-topic metrics; every
	// other topic is counted as "other", so labels stay bounded.
	// Default: none (every topic is "other").
	MetricsTopics []string `yaml:"metrics_topics"`
	// MaxUnacked is how many records of a group subscription may wait for
	// the client's ack; past it delivery pauses until acks arrive.
	// Default: 1000.
	MaxUnacked int `yaml:"max_unacked"`
	// AllowedOrigins lists the Origin header values a browser upgrade may
	// carry ("*" allows any). Requests without Origin (non-browser clients)
	// are always allowed. Default: same origin as the Host header only.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AuthTimeout is how long a socket that brought no token to the
	// upgrade has to send {"op":"auth"}. Default: 10s.
	AuthTimeout time.Duration `yaml:"-"`
	// ExpiryWarning is how long before its token expires a socket gets
	// {"op":"auth_expiring"}. Default: 30s.
	ExpiryWarning time.Duration `yaml:"-"`
	// CloseGrace is how long the server waits for a client's close reply
	// after sending a close frame. Default: 1s.
	CloseGrace time.Duration `yaml:"close_grace"`
}

// KafkaConfig is the Kafka side of the bridge.
type KafkaConfig struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string `yaml:"brokers"`
	// ClientID names the bridge's client to Kafka. Default: "sluice".
	ClientID string `yaml:"client_id"`
	// AutoCreateTopics creates a topic on its first subscribe or publish.
	// Default: false (true in the embedded development broker).
	AutoCreateTopics bool `yaml:"auto_create_topics"`
	// AutoCreatePartitions is the partition count of auto-created topics.
	// Default: 3.
	AutoCreatePartitions int32 `yaml:"auto_create_partitions"`
	// MaxRecordBytes is the largest record (key, value and headers) a
	// client may publish; a larger one is answered too_large. The producer's
	// batches hold at most MaxRecordBytes plus 1 KiB of framing, so with the
	// default they fit Kafka's default message.max.bytes (1 MiB + 12);
	// raise that on the brokers before raising this.
	// Default: 1 MiB less 1 KiB (1047552).
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// Linger is how long the producer waits for more records before it
	// sends a batch. Records from many sockets then share produce
	// requests: under load this raises throughput and lowers ack latency
	// and broker CPU (BENCHMARKS.md), at the cost of up to Linger on a lone
	// publish. A negative value sends at once (franz-go still batches what
	// queues up while a request is in flight). Default: 1ms.
	Linger time.Duration `yaml:"linger"`
	// Compression is the producer's batch compression: "none", "gzip",
	// "snappy", "lz4" or "zstd". Default: "none".
	Compression string `yaml:"compression"`
	// Timeout bounds the bridge's own Kafka requests (metadata, offsets,
	// topic creation). Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// FetchMaxWait is how long the shared tail's fetch waits at the broker
	// for new records; a topic subscribed while a fetch waits starts
	// flowing when that fetch returns. Default: 250ms.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// MetadataMinAge is the shortest time between metadata refreshes (and
	// how long a metadata answer is reused), so a topic created on first use
	// is seen within it. Default: 250ms.
	MetadataMinAge time.Duration `yaml:"metadata_min_age"`
	// HistoryBatchBytes bounds one fetch of a history reader. Default: 1 MiB.
	HistoryBatchBytes int32 `yaml:"history_batch_bytes"`
	// TLS secures the connections to the brokers. Default: plaintext.
	TLS KafkaTLSConfig `yaml:"tls"`
	// SASL authenticates to the brokers. Default: none.
	SASL KafkaSASLConfig `yaml:"sasl"`
	// Opts are extra franz-go options (TLS, SASL, logging) that the binary
	// builds from its configuration. They apply to every client the bridge
	// makes.
	Opts []kgo.Opt `yaml:"-"`
	// SharedOpts are extra franz-go options for the one shared client that
	// tails and produces only, such as metrics hooks that register their
	// collectors once per client. Default: none.
	SharedOpts []kgo.Opt `yaml:"-"`
}

func (c *Config) setDefaults() {
	if c.ReadLimit == 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.ReadBufferBytes == 0 {
		c.ReadBufferBytes = DefaultReadBufferBytes
	}
	if c.SendQueueLength == 0 {
		c.SendQueueLength = DefaultSendQueueLength
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.PongWait == 0 {
		c.PongWait = DefaultPongWait
	}
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxInflightPublishes == 0 {
		c.MaxInflightPublishes = DefaultMaxInflightPublishes
	}
	if c.MaxUnacked == 0 {
		c.MaxUnacked = DefaultMaxUnacked
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if c.PublishBurst == 0 && c.PublishRate > 0 {
		c.PublishBurst = max(1, int(c.PublishRate))
	}
	if c.AuthTimeout == 0 {
		c.AuthTimeout = 10 * time.Second
	}
	if c.ExpiryWarning == 0 {
		c.ExpiryWarning = 30 * time.Second
	}
	if c.CloseGrace == 0 {
		c.CloseGrace = DefaultCloseGrace
	}
	k := &c.Kafka
	if k.ClientID == "" {
		k.ClientID = "sluice"
	}
	if k.AutoCreatePartitions == 0 {
		k.AutoCreatePartitions = DefaultAutoCreatePartitions
	}
	if k.MaxRecordBytes == 0 {
		k.MaxRecordBytes = DefaultMaxRecordBytes
	}
	switch {
	case k.Linger == 0:
		k.Linger = DefaultLinger
	case k.Linger < 0:
		k.Linger = 0
	}
	if k.Timeout == 0 {
		k.Timeout = DefaultKafkaTimeout
	}
	if k.FetchMaxWait == 0 {
		k.FetchMaxWait = DefaultFetchMaxWait
	}
	if k.MetadataMinAge == 0 {
		k.MetadataMinAge = DefaultMetadataMinAge
	}
	if k.HistoryBatchBytes == 0 {
		k.HistoryBatchBytes = DefaultHistoryBatchBytes
	}
	if k.Compression == "" {
		k.Compression = "none"
	}
}

// validate reports every problem of a defaulted config at once.
func (c *Config) validate() error {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: at least one broker is required"))
	}
	for name, v := range map[string]int64{
		"max_frame_bytes":              c.ReadLimit,
		"send_queue_length":            int64(c.SendQueueLength),
		"max_subscriptions":            int64(c.MaxSubscriptions),
		"max_inflight_publishes":       int64(c.MaxInflightPublishes),
		"kafka.auto_create_partitions": int64(c.Kafka.AutoCreatePartitions),
		"kafka.max_record_bytes":       int64(c.Kafka.MaxRecordBytes),
		"kafka.history_batch_bytes":    int64(c.Kafka.HistoryBatchBytes),
		"write_timeout (nanoseconds)":  int64(c.WriteTimeout),
		"pong_wait (nanoseconds)":      int64(c.PongWait),
		"kafka.timeout (nanoseconds)":  int64(c.Kafka.Timeout),
		"close_grace (nanoseconds)":    int64(c.CloseGrace),
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d must not be negative", name, v))
		}
	}
	if c.PublishRate < 0 {
		errs = append(errs, fmt.Errorf("publish_rate: %v must not be negative", c.PublishRate))
	}
	for _, p := range c.MetricsTopics {
		if _, err := path.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("metrics_topics: pattern %q: %w", p, err))
		}
	}
	if _, err := c.Kafka.securityOpts(); err != nil {
		errs = append(errs, err)
	}
	if _, err := compressionCodec(c.Kafka.Compression); err != nil {
		errs = append(errs, err)
	}
	if _, err := topics.NewRouter(c.Routes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka.compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// Validate reports every problem of c (with defaults applied) at once,
// without connecting to anything.
func (c Config) Validate() error {
	c.setDefaults()
	return c.validate()
}
