package bridge

import (
	"testing"
	"time"
)

// TestLingerDefault checks kafka.linger's zero value (the default, 1ms)
// and that a negative value turns lingering off.
func TestLingerDefault(t *testing.T) {
	for _, tc := range []struct {
		set, want time.Duration
	}{
		{0, DefaultLinger},
		{-1, 0},
		{-time.Second, 0},
		{5 * time.Millisecond, 5 * time.Millisecond},
	} {
		c := Config{Kafka: KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Linger: tc.set}}
		c.setDefaults()
		if err := c.validate(); err != nil {
			t.Fatalf("linger %v: %v", tc.set, err)
		}
		if c.Kafka.Linger != tc.want {
			t.Errorf("linger %v became %v, want %v", tc.set, c.Kafka.Linger, tc.want)
		}
	}
}
