package registry

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"time"
)

// Kind names a schema catalog.
type Kind string

// The catalogs a Config can choose.
const (
	// KindNone disables schema governance: every topic passes through.
	KindNone Kind = "none"
	// KindSchemaRegistry reads schemas from a Confluent-compatible registry.
	KindSchemaRegistry Kind = "schema-registry"
	// KindFilesystem reads <subject>.avsc and <subject>.json files from a directory.
	KindFilesystem Kind = "filesystem"
	// KindInline takes schemas written in the configuration itself.
	KindInline Kind = "inline"
)

// Strategy names how a topic maps to a subject when no rule names one.
type Strategy string

// The subject name strategies (the names follow Confluent's serializers).
const (
	// StrategyTopic is TopicNameStrategy: "<topic>-value" and "<topic>-key".
	StrategyTopic Strategy = "topic"
	// StrategyRecord is RecordNameStrategy: the subject is the fully
	// qualified record name given by a rule's record_name.
	StrategyRecord Strategy = "record"
	// StrategyTopicRecord is TopicRecordNameStrategy: "<topic>-<record_name>".
	StrategyTopicRecord Strategy = "topic_record"
)

// Mode says whether a rule's topics are governed.
type Mode string

// The rule modes.
const (
	// ModeValidate validates and encodes every record against the subject.
	ModeValidate Mode = "validate"
	// ModePassthrough leaves records untouched, even if a subject exists.
	ModePassthrough Mode = "passthrough"
)

// UnknownSubjectPolicy says what happens to a topic that no rule matches and
// whose strategy subject is missing from the catalog.
type UnknownSubjectPolicy string

// The unknown-subject policies.
const (
	// UnknownPassthrough publishes such records unchanged.
	UnknownPassthrough UnknownSubjectPolicy = "passthrough"
	// UnknownReject answers such records with a ViolationError.
	UnknownReject UnknownSubjectPolicy = "reject"
)

// SchemaFormat names the language of a schema.
type SchemaFormat string

// The schema languages.
const (
	// FormatAvro is Apache Avro (schema as JSON text).
	FormatAvro SchemaFormat = "avro"
	// FormatJSON is JSON Schema (draft 7 or 2020-12; 2020-12 when $schema is absent).
	FormatJSON SchemaFormat = "json"
)

// Defaults applied to zero Config fields.
const (
	// DefaultMaxAge is how long a subject's latest version is trusted.
	DefaultMaxAge = 5 * time.Minute
	// DefaultTimeout bounds one HTTP request to the registry.
	DefaultTimeout = 5 * time.Second
	// DefaultPollInterval is how often the filesystem catalog checks mtimes.
	DefaultPollInterval = 2 * time.Second
)

// InlineSchema is one schema written in the configuration (kind inline).
type InlineSchema struct {
	// Type is the schema language, "avro" or "json". Required.
	Type SchemaFormat `yaml:"type"`
	// Schema is the schema text. Required.
	Schema string `yaml:"schema"`
}

// Rule governs the topics matching Topic. Rules are tried in order and the
// first match wins; a topic no rule matches follows the zero-config default
// (validate when the strategy subject exists, else UnknownSubject).
type Rule struct {
	// Topic is a pattern matched with path.Match against the whole topic
	// name: '*' matches any run of characters (topics contain no '/'), '?'
	// one character, [a-z] a class. Required.
	Topic string `yaml:"topic"`
	// Subject is the value subject. Default: derived from Strategy.
	Subject string `yaml:"subject"`
	// Version is "latest" or a positive version number; pinned versions need
	// kind schema-registry. Default: "latest".
	Version string `yaml:"version"`
	// KeySubject is the key subject. Default: "<topic>-key" with the topic
	// strategy, none with the record strategies.
	KeySubject string `yaml:"key_subject"`
	// Mode is "validate" or "passthrough". Default: "validate".
	Mode Mode `yaml:"mode"`
	// RecordName is the fully qualified record name used by the record and
	// topic_record strategies. Default: none.
	RecordName string `yaml:"record_name"`
}

// Config chooses a schema catalog and how topics map to subjects. The zero
// value disables governance: every record passes through unchanged.
type Config struct {
	// Kind is "schema-registry", "filesystem", "inline" or "none". Default:
	// inferred — URL set means schema-registry, Dir set means filesystem,
	// Subjects set means inline, otherwise none.
	Kind Kind `yaml:"kind"`
	// URL is the base URL of a Confluent-compatible schema registry.
	// Required for kind schema-registry.
	URL string `yaml:"url"`
	// Dir holds <subject>.avsc and <subject>.json files (kind filesystem);
	// files under Dir/history are loaded only to resolve old schema IDs.
	Dir string `yaml:"dir"`
	// PollInterval is how often Dir is checked for changed files; a negative
	// value disables polling (call Reload instead). Default: 2s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxAge is how long a subject's latest version is served before it is
	// refreshed in the background. Default: 5m.
	MaxAge time.Duration `yaml:"max_age"`
	// Username and Password enable HTTP basic auth. Default: none.
	Username string `yaml:"username"`
	// Password goes with Username. Never logged.
	Password string `yaml:"password"`
	// BearerToken enables "Authorization: Bearer" auth; it cannot be combined
	// with Username. Never logged. Default: none.
	BearerToken string `yaml:"bearer_token"`
	// CAFile is a PEM file of CA certificates trusted for the registry.
	// Default: the system pool.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables TLS certificate verification. Default: false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Timeout bounds each HTTP request to the registry. Default: 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Subjects holds the schemas of kind inline, keyed by subject.
	Subjects map[string]InlineSchema `yaml:"subjects"`
	// Strategy is "topic", "record" or "topic_record". Default: "topic".
	Strategy Strategy `yaml:"strategy"`
	// UnknownSubject is "passthrough" or "reject" and applies to topics no
	// rule matches whose strategy subject is missing. Default: "passthrough".
	UnknownSubject UnknownSubjectPolicy `yaml:"unknown_subject"`
	// Rules map topic patterns to subjects; first match wins. Default: none.
	Rules []Rule `yaml:"rules"`
}

// withDefaults returns c with inferred kind and default durations filled in.
func (c Config) withDefaults() Config {
	if c.Kind == "" {
		switch {
		case c.URL != "" && c.Dir == "":
			c.Kind = KindSchemaRegistry
		case c.Dir != "" && c.URL == "":
			c.Kind = KindFilesystem
		case c.URL == "" && c.Dir == "" && len(c.Subjects) > 0:
			c.Kind = KindInline
		case c.URL == "" && c.Dir == "":
			c.Kind = KindNone
		}
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Strategy == "" {
		c.Strategy = StrategyTopic
	}
	if c.UnknownSubject == "" {
		c.UnknownSubject = UnknownPassthrough
	}
	return c
}

// validate reports every problem of a defaulted Config at once.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Kind {
	case KindNone:
		if len(c.Rules) > 0 {
			add("rules are set but no catalog is configured (set kind, url, dir or subjects)")
		}
	case KindSchemaRegistry:
		if c.URL == "" {
			add("kind schema-registry needs url")
		} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("url %q is not an http(s) URL", c.URL)
		}
	case KindFilesystem:
		if c.Dir == "" {
			add("kind filesystem needs dir")
		}
	case KindInline:
		if len(c.Subjects) == 0 {
			add("kind inline needs at least one entry in subjects")
		}
	case "":
		add("both url and dir are set: choose the catalog with kind")
	default:
		add("kind %q is not one of schema-registry, filesystem, inline, none", c.Kind)
	}
	if c.Kind != KindInline && len(c.Subjects) > 0 && c.Kind != "" {
		add("subjects are only used by kind inline (kind is %q)", c.Kind)
	}
	for subject, s := range c.Subjects {
		if subject == "" {
			add("subjects: empty subject name")
		}
		if s.Type != FormatAvro && s.Type != FormatJSON {
			add("subjects[%s].type %q is not avro or json", subject, s.Type)
		}
		if s.Schema == "" {
			add("subjects[%s].schema is empty", subject)
		}
	}
	if c.MaxAge < 0 {
		add("max_age %v is negative", c.MaxAge)
	}
	if c.Timeout < 0 {
		add("timeout %v is negative", c.Timeout)
	}
	if (c.Username == "") != (c.Password == "") {
		add("username and password must be set together")
	}
	if c.BearerToken != "" && c.Username != "" {
		add("bearer_token and username/password are mutually exclusive")
	}
	switch c.Strategy {
	case StrategyTopic, StrategyRecord, StrategyTopicRecord:
	default:
		add("strategy %q is not one of topic, record, topic_record", c.Strategy)
	}
	switch c.UnknownSubject {
	case UnknownPassthrough, UnknownReject:
	default:
		add("unknown_subject %q is not passthrough or reject", c.UnknownSubject)
	}
	for i, r := range c.Rules {
		errs = append(errs, r.validate(i, c)...)
	}
	return errors.Join(errs...)
}

// validate reports every problem of rule number i.
func (r Rule) validate(i int, c Config) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("rules[%d]: "+format, append([]any{i}, args...)...))
	}
	if r.Topic == "" {
		add("topic is empty")
	} else if _, err := path.Match(r.Topic, ""); err != nil {
		add("topic pattern %q: %v", r.Topic, err)
	}
	switch r.Mode {
	case "", ModeValidate, ModePassthrough:
	default:
		add("mode %q is not validate or passthrough", r.Mode)
	}
	if _, err := parseVersion(r.Version); err != nil {
		add("%v", err)
	} else if v, _ := parseVersion(r.Version); v > 0 && c.Kind != KindSchemaRegistry {
		add("version %d: pinned versions need kind schema-registry", v)
	}
	if r.Mode != ModePassthrough && r.Subject == "" && r.RecordName == "" &&
		(c.Strategy == StrategyRecord || c.Strategy == StrategyTopicRecord) {
		add("strategy %s needs subject or record_name", c.Strategy)
	}
	return errs
}

// parseVersion turns "", "latest" or "N" into 0 (latest) or N.
func parseVersion(s string) (int, error) {
	if s == "" || s == "latest" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("version %q is not \"latest\" or a positive integer", s)
	}
	return v, nil
}
