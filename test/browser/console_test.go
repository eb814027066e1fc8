package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/kafkatest"
)

// e2eTimeout bounds the console's end-to-end run.
const e2eTimeout = 4 * time.Minute

// jwtSecret signs the page's token.
const jwtSecret = "browser-e2e-secret-0123456789abcdef"

// configYAML is sluice's configuration: JWT auth with a secret (%[1]s) and
// an inline JSON schema for the values of one topic (%[2]s).
const configYAML = `auth:
  mode: jwt
  jwt:
    secret: %[1]s
registry:
  kind: inline
  subjects:
    %[2]s-value:
      type: json
      schema: '{"type":"object","required":["id","amount"],"properties":{"id":{"type":"integer"},"amount":{"type":"number","minimum":0},"currency":{"type":"string","enum":["EUR","USD"]}}}'
`

// TestConsoleE2E drives the console in headless Chromium against sluice on
// the shared Kafka broker (e2e.mjs): kcat records appear in the table, a
// publish from the page is read back with kcat, invalid publishes show
// their error inline, docs/console.png is refreshed, and after a sluice
// restart mid-stream the page holds every record exactly once.
func TestConsoleE2E(t *testing.T) {
	t.Parallel()
	requireNode(t)
	kcat := kafkatest.RequireTool(t, "kcat")
	chromium := kafkatest.RequireTool(t, "chromium")
	bin := sluiceBinary(t)
	root := moduleRoot(t)
	broker := kafkatest.Shared()

	const consoleTopic, resumeTopic, ordersTopic = "e2e.console", "e2e.resume", "e2e.orders"
	for _, topic := range []string{consoleTopic, resumeTopic, ordersTopic} {
		if err := broker.CreateTopic(t.Context(), topic, 3); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(configYAML, jwtSecret, ordersTopic)), 0o600); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(root, "test", "browser")
	npmCI(t, dir)
	run(t, e2eTimeout, dir, []string{
		"SLUICE_BIN=" + bin,
		"SLUICE_CONFIG=" + config,
		"JWT_SECRET=" + jwtSecret,
		"KAFKA_BROKERS=" + broker.Addr(),
		"KCAT=" + kcat,
		"CHROMIUM=" + chromium,
		"TOPIC_CONSOLE=" + consoleTopic,
		"TOPIC_RESUME=" + resumeTopic,
		"TOPIC_ORDERS=" + ordersTopic,
		"SCREENSHOT=" + filepath.Join(root, "docs", "console.png"),
	}, "node", "e2e.mjs")
}
