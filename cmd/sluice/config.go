package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/bridge"
	"github.com/sluicehq/sluice/registry"
	"go.yaml.in/yaml/v3"
)

// Config is the whole of Sluice's configuration, as one YAML file holds it.
// Every key can be overridden by an environment variable named after its
// path (kafka.brokers → SLUICE_KAFKA_BROKERS), and the common ones by flags.
// Precedence: flag > environment > file > default.
type Config struct {
	// Listen is the address of the WebSocket and HTTP endpoint.
	// Default: "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// ListenReusePort opens Listen with SO_REUSEPORT, so several Sluice
	// processes on one host share the address and the kernel spreads new
	// connections across them (each process holds its own sockets, within
	// its own file-descriptor limit). Default: false.
	ListenReusePort bool `yaml:"listen_reuse_port"`
	// DataDir holds the embedded development broker's log. Only used when
	// kafka.brokers is empty. Default: "./data".
	DataDir string `yaml:"data_dir"`
	// EmbeddedKafkaListen is where the embedded development broker listens,
	// so kcat and other Kafka clients can use it too. Only used when
	// kafka.brokers is empty. Default: "127.0.0.1:9092".
	EmbeddedKafkaListen string `yaml:"embedded_kafka_listen"`

	// PprofListen, when set, serves Go's net/http/pprof profiles on this
	// address, which must be loopback. Default: "" (off).
	PprofListen string `yaml:"pprof_listen"`

	// Bridge holds the WebSocket side: kafka, routes and limits.
	Bridge bridge.Config `yaml:",inline"`
	// Auth decides who may subscribe and publish.
	Auth auth.Config `yaml:"auth"`
	// Registry is the schema catalog that governs topics. Default: none,
	// except on the embedded development broker, which uses the filesystem
	// catalog in ./compose/schemas when that directory exists.
	Registry registry.Config `yaml:"registry"`
	// TLS serves wss:// when a certificate is given.
	TLS TLSConfig `yaml:"tls"`
	// Log sets the log format and level.
	Log LogConfig `yaml:"log"`
	// Console serves the web console at "/".
	Console ConsoleConfig `yaml:"console"`
}

// TLSConfig serves the endpoint over TLS.
type TLSConfig struct {
	// CertFile is the PEM certificate chain. Default: "" (plain ws://).
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile. Default: "".
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, requires client certificates signed by one of
	// its CAs (mutual TLS). Default: "" (no client certificates).
	ClientCAFile string `yaml:"client_ca_file"`
}

// LogConfig sets up logging.
type LogConfig struct {
	// Format is "text" or "json". Default: "text".
	Format string `yaml:"format"`
	// Level is "debug", "info", "warn" or "error". Default: "info".
	Level string `yaml:"level"`
}

// ConsoleConfig controls the web console.
type ConsoleConfig struct {
	// Disabled turns the console at "/" off. Default: false.
	Disabled bool `yaml:"disabled"`
}

// source records where the configuration came from, for defaults that
// depend on it (auth mode) and for messages.
type source struct {
	file        string
	authTouched bool
}

func defaultConfig() Config {
	return Config{
		Listen:              "127.0.0.1:8080",
		DataDir:             "./data",
		EmbeddedKafkaListen: "127.0.0.1:9092",
		Log:                 LogConfig{Format: "text", Level: "info"},
	}
}

// loadFile reads a YAML file into cfg strictly: an unknown key or a value
// of the wrong type is an error naming the line.
func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// envPrefix starts every environment variable Sluice reads.
const envPrefix = "SLUICE_"

// applyEnv overrides cfg's fields from the environment, walking the same
// YAML paths the file uses. It reports which keys it set.
func applyEnv(cfg *Config, lookup func(string) (string, bool)) ([]string, error) {
	var set []string
	var errs []error
	walkKeys(reflect.ValueOf(cfg).Elem(), "", func(key string, v reflect.Value) {
		if v.Kind() == reflect.Map {
			return // maps (registry.subjects) come from the file only
		}
		name := envName(key)
		raw, ok := lookup(name)
		if !ok {
			return
		}
		if err := setFromString(v, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		set = append(set, key)
	})
	return set, errors.Join(errs...)
}

// envName turns a YAML path into its environment variable.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

// walkKeys calls fn for every settable leaf of v with its YAML path.
// Lists of structs (routes) are left to the file.
func walkKeys(v reflect.Value, prefix string, fn func(key string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if opts == "inline" {
			walkKeys(fv, prefix, fn)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + name
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)):
			walkKeys(fv, key+".", fn)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.String:
			// structured lists come from the file only
		default:
			fn(key, fv)
		}
	}
}

// setFromString parses raw into v: strings, numbers, booleans, durations,
// comma-separated string lists, and *bool.
func setFromString(v reflect.Value, raw string) error {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 30s or 5m)", raw)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(raw, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		v.SetFloat(f)
	case reflect.Slice:
		var parts []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	case reflect.Pointer:
		if v.Type().Elem().Kind() != reflect.Bool {
			return fmt.Errorf("unsupported type %s", v.Type())
		}
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.Set(reflect.ValueOf(&b))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// configKeys lists every key the configuration accepts, for docs checks.
func configKeys() []string {
	var keys []string
	cfg := defaultConfig()
	walkKeys(reflect.ValueOf(&cfg).Elem(), "", func(key string, _ reflect.Value) { keys = append(keys, key) })
	return append(keys, "routes")
}

// embedded reports whether cfg runs on the embedded development broker.
func (c *Config) embedded() bool { return len(c.Bridge.Kafka.Brokers) == 0 }

// resolveAuthMode picks the auth mode when none is set: jwt whenever a
// config file or any auth setting was given, none for the zero-config
// development default, which then must listen on loopback only.
func resolveAuthMode(cfg *Config, src source) error {
	if cfg.Auth.Mode == "" {
		if src.file != "" || src.authTouched {
			cfg.Auth.Mode = auth.ModeJWT
		} else {
			cfg.Auth.Mode = auth.ModeNone
			if !isLoopback(cfg.Listen) {
				return fmt.Errorf("listen %s is not a loopback address: without a config file Sluice runs without authentication, so it only listens on loopback; set auth (auth.mode: jwt with a key) or auth.mode: none explicitly", cfg.Listen)
			}
		}
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
