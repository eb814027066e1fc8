package integration

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
)

// kcatTimeout bounds one kcat run.
const kcatTimeout = 30 * time.Second

// runKcat runs kcat with args and stdin and returns its standard output.
func runKcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	kcat := kafkatest.RequireTool(t, "kcat")
	ctx, cancel := context.WithTimeout(t.Context(), kcatTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", kafkatest.Shared().Addr()}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// TestKcatInterop checks both directions with a standard Kafka client:
// kcat produces, a WebSocket subscriber receives key, headers and JSON
// value; a WebSocket publish with key and headers is what kcat consumes.
func TestKcatInterop(t *testing.T) {
	p := sharedSluice(t)

	t.Run("kcat to WebSocket", func(t *testing.T) {
		topic := uniqueTopic(t, "in")
		createTopic(t, topic, 3)
		c := dial(t, p.wsURL("/v1/ws"))
		c.subscribe("s", topic, "latest")
		runKcat(t, "user-1:{\"a\":1,\"tags\":[\"x\",\"y\"]}\n",
			"-P", "-t", topic, "-K:", "-H", "h=v", "-H", "trace-id=abc-123")
		m := c.waitMessages(topic, 1)[0]
		if m.Key == nil || *m.Key != "user-1" {
			t.Errorf("key %v, want user-1", m.Key)
		}
		if string(m.Value) != `{"a":1,"tags":["x","y"]}` || m.ValueB64 != nil {
			t.Errorf("value %s (b64 %v), want the JSON kcat wrote", m.Value, m.ValueB64)
		}
		if len(m.Headers) != 2 || m.Headers["h"] != "v" || m.Headers["trace-id"] != "abc-123" {
			t.Errorf("headers %v, want h=v and trace-id=abc-123", m.Headers)
		}
		if m.Timestamp == 0 {
			t.Errorf("message without timestamp: %v", m)
		}
	})

	t.Run("WebSocket to kcat", func(t *testing.T) {
		topic := uniqueTopic(t, "out")
		createTopic(t, topic, 3)
		c := dial(t, p.wsURL("/v1/ws"))
		c.sendRaw(1, []byte(`{"op":"publish","id":"p1","topic":"`+topic+`","key":"order-42","value":{"b":[1,2],"s":"ok"},"headers":{"h2":"v2","h1":"v1"}}`))
		if f := c.waitReply("p1"); f.Op != "published" {
			t.Fatalf("publish: %v", f)
		}
		out := runKcat(t, "", "-C", "-t", topic, "-o", "beginning", "-c", "1", "-e", "-f", "%k|%h|%s\n")
		if want := "order-42|h1=v1,h2=v2|{\"b\":[1,2],\"s\":\"ok\"}\n"; out != want {
			t.Errorf("kcat read %q, want %q", out, want)
		}
	})
}
