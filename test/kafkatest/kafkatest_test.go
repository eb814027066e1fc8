package kafkatest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// produce writes one record synchronously.
func produce(t *testing.T, addr string, r *kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", r.Topic, err)
	}
}

// consumeOne reads the first record of topic from the start.
func consumeOne(t *testing.T, addr, topic string) *kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consuming %s: no record: %v", topic, err)
		}
		for _, fe := range fetches.Errors() {
			t.Logf("fetch error on %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		}
		if recs := fetches.Records(); len(recs) > 0 {
			return recs[0]
		}
	}
}

func TestProduceConsume(t *testing.T) {
	b := Shared()
	const topic = "kafkatest-produce-consume"
	if err := b.CreateTopic(t.Context(), topic, 3); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("hello")})
	got := consumeOne(t, b.Addr(), topic)
	if string(got.Key) != "k" || string(got.Value) != "hello" {
		t.Fatalf("consumed key %q value %q, want k hello", got.Key, got.Value)
	}
}

func TestCreateTopicTwiceFails(t *testing.T) {
	b := Shared()
	const topic = "kafkatest-twice"
	if err := b.CreateTopic(t.Context(), topic, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(t.Context(), topic, 1); err == nil {
		t.Fatal("creating an existing topic succeeded")
	}
}

func TestKcatRoundTrip(t *testing.T) {
	kcat := RequireTool(t, "kcat")
	b := Shared()
	const topic = "kafkatest-kcat"
	if err := b.CreateTopic(t.Context(), topic, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// kcat produces, kgo consumes.
	prod := exec.CommandContext(ctx, kcat, "-b", b.Addr(), "-t", topic, "-P", "-K:", "-H", "h=v")
	prod.Stdin = strings.NewReader("k1:from-kcat\n")
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	got := consumeOne(t, b.Addr(), topic)
	if string(got.Key) != "k1" || string(got.Value) != "from-kcat" {
		t.Fatalf("kgo read key %q value %q, want k1 from-kcat", got.Key, got.Value)
	}
	if len(got.Headers) != 1 || got.Headers[0].Key != "h" || string(got.Headers[0].Value) != "v" {
		t.Fatalf("kgo read headers %v, want [h=v]", got.Headers)
	}

	// kgo produces, kcat consumes both records.
	produce(t, b.Addr(), &kgo.Record{
		Topic: topic, Key: []byte("k2"), Value: []byte("from-kgo"),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("w")}},
	})
	cons := exec.CommandContext(ctx, kcat, "-b", b.Addr(), "-t", topic, "-C", "-o", "beginning", "-e", "-f", "%k %h %s\n")
	var stderr bytes.Buffer
	cons.Stderr = &stderr
	out, err := cons.Output()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, stderr.Bytes())
	}
	if want := "k1 h=v from-kcat\nk2 h=w from-kgo\n"; string(out) != want {
		t.Fatalf("kcat read %q, want %q", out, want)
	}
}

// TestRestart takes the shared broker down and up again. The tests in this
// package are not parallel, so that is safe here (and only here).
func TestRestart(t *testing.T) {
	b := Shared()
	const topic = "kafkatest-restart"
	if err := b.CreateTopic(t.Context(), topic, 1); err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), &kgo.Record{Topic: topic, Value: []byte("survives")})

	if err := b.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", b.Addr())
	}

	addr := b.Addr()
	if err := b.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if b.Addr() != addr {
		t.Fatalf("address changed across Restart: %s -> %s", addr, b.Addr())
	}
	if got := consumeOne(t, b.Addr(), topic); string(got.Value) != "survives" {
		t.Fatalf("after Restart read %q, want survives", got.Value)
	}

	// A broker that died behind kafkatest's back is simply started again.
	b.mu.Lock()
	p := b.proc
	b.mu.Unlock()
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	if err := b.Restart(t.Context()); err != nil {
		t.Fatalf("Restart after SIGKILL: %v", err)
	}
	if got := consumeOne(t, b.Addr(), topic); string(got.Value) != "survives" {
		t.Fatalf("after SIGKILL and Restart read %q, want survives", got.Value)
	}
}

func TestStartFailureCarriesOutput(t *testing.T) {
	_, err := Start(t.Context(), Options{
		ExtraProperties: map[string]string{"num.partitions": "not-a-number"},
		StartTimeout:    30 * time.Second,
	})
	if err == nil {
		t.Fatal("Start with an invalid property succeeded")
	}
	if !strings.Contains(err.Error(), "num.partitions") {
		t.Fatalf("error does not mention the bad property:\n%v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{name: "zero", opts: Options{}},
		{name: "extra ok", opts: Options{ExtraProperties: map[string]string{"num.partitions": "1"}}},
		{
			name: "every problem",
			opts: Options{
				StartTimeout:    -time.Second,
				LogDir:          "relative/dir",
				ExtraProperties: map[string]string{"listeners": "x", "node.id": "2"},
			},
			wantErr: []string{"StartTimeout", "LogDir", `"listeners"`, `"node.id"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("validate succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestServerPropertiesOverrides(t *testing.T) {
	got := string(serverProperties(9092, 9093, "/tmp/x", map[string]string{"num.partitions": "7"}))
	for _, want := range []string{
		"num.partitions=7\n",
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
		"controller.quorum.voters=1@127.0.0.1:9093\n",
		"log.dirs=/tmp/x\n",
		"auto.create.topics.enable=false\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, got)
		}
	}
}

func TestLineRing(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{name: "empty", max: 3, want: ""},
		{name: "partial", max: 3, writes: []string{"a", "b"}, want: "ab"},
		{name: "under", max: 3, writes: []string{"a\nb\n"}, want: "a\nb"},
		{name: "wraps", max: 2, writes: []string{"1\n2\n", "3\n4", "\n5"}, want: "3\n4\n5"},
		{name: "split line", max: 2, writes: []string{"he", "llo\nwor", "ld\n"}, want: "hello\nworld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLineRing(tt.max)
			for _, w := range tt.writes {
				r.Write([]byte(w))
			}
			if got := r.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
