package registry

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigFromYAML(t *testing.T) {
	const doc = `
kind: schema-registry
url: https://registry.example:8081
max_age: 30s
timeout: 2s
bearer_token: tok
strategy: topic
unknown_subject: reject
rules:
  - topic: "orders.*"
    subject: orders-value
    version: 3
    key_subject: orders-key
  - topic: "raw.*"
    mode: passthrough
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxAge != 30*time.Second || cfg.Timeout != 2*time.Second || cfg.Rules[0].Version != "3" ||
		cfg.Rules[1].Mode != ModePassthrough || cfg.UnknownSubject != UnknownReject {
		t.Fatalf("decoded %+v", cfg)
	}
	if err := cfg.withDefaults().validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		kind Kind
	}{
		{"zero value disables", Config{}, KindNone},
		{"url implies registry", Config{URL: "http://r:8081"}, KindSchemaRegistry},
		{"dir implies filesystem", Config{Dir: "/schemas"}, KindFilesystem},
		{"subjects imply inline", Config{Subjects: map[string]InlineSchema{"a": {}}}, KindInline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in.withDefaults()
			if c.Kind != tt.kind || c.MaxAge != DefaultMaxAge || c.Timeout != DefaultTimeout ||
				c.PollInterval != DefaultPollInterval || c.Strategy != StrategyTopic || c.UnknownSubject != UnknownPassthrough {
				t.Fatalf("withDefaults = %+v", c)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"registry without url", Config{Kind: KindSchemaRegistry}, []string{"needs url"}},
		{"many problems at once", Config{
			URL: "ftp://x", Username: "u", BearerToken: "t", MaxAge: -1, Strategy: "nope", UnknownSubject: "maybe",
			Rules: []Rule{{Topic: "[", Mode: "sometimes", Version: "x"}},
		}, []string{
			"not an http(s) URL", "username and password", "mutually exclusive", "max_age", "strategy \"nope\"",
			"unknown_subject \"maybe\"", "rules[0]: topic pattern", "rules[0]: mode", "rules[0]: version \"x\"",
		}},
		{"url and dir", Config{URL: "http://r", Dir: "/d"}, []string{"choose the catalog with kind"}},
		{"pinned version needs registry", Config{Dir: "/d", Rules: []Rule{{Topic: "a", Version: "2"}}}, []string{"pinned versions need kind schema-registry"}},
		{"rules without catalog", Config{Rules: []Rule{{Topic: "a"}}}, []string{"no catalog"}},
		{"record strategy needs a name", Config{Dir: "/d", Strategy: StrategyRecord, Rules: []Rule{{Topic: "a"}}}, []string{"needs subject or record_name"}},
		{"bad inline subject", Config{Subjects: map[string]InlineSchema{"s": {Type: "xml"}}}, []string{"not avro or json", "schema is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.withDefaults().validate()
			if err == nil {
				t.Fatal("validate succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, nerr := New(tt.cfg, nil); nerr == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	r := newRouter(Config{Strategy: StrategyTopic, Rules: []Rule{
		{Topic: "orders.*", Subject: "orders-value", Version: "2"},
		{Topic: "orders.internal", Mode: ModePassthrough}, // shadowed by the rule above
		{Topic: "raw-*", Mode: ModePassthrough},
		{Topic: "metrics.?", KeySubject: "m-key"},
	}})
	tests := []struct {
		topic string
		want  route
	}{
		{"orders.eu", route{valueSubject: "orders-value", version: 2, valueExplicit: true, keySubject: "orders.eu-key"}},
		{"orders.internal", route{valueSubject: "orders-value", version: 2, valueExplicit: true, keySubject: "orders.internal-key"}},
		{"raw-x", route{passthrough: true}},
		{"metrics.a", route{valueSubject: "metrics.a-value", valueExplicit: true, keySubject: "m-key", keyExplicit: true}},
		{"metrics.ab", route{valueSubject: "metrics.ab-value", keySubject: "metrics.ab-key"}},
		{"logs", route{valueSubject: "logs-value", keySubject: "logs-key"}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			for range 2 { // computed, then cached
				if got := r.routeFor(tt.topic); *got != tt.want {
					t.Fatalf("route = %+v, want %+v", *got, tt.want)
				}
			}
		})
	}
}

func TestViolationErrorMessage(t *testing.T) {
	e := &ViolationError{Subject: "s", Message: "bad", Details: []FieldError{{"$.a", "x"}, {"$.b", "y"}, {"$.c", "z"}, {"$.d", "w"}}}
	if got, want := e.Error(), "schema violation (subject s): bad; $.a: x; $.b: y; $.c: z; …"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
