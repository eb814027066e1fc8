package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// configDoc is the reference of every configuration key.
const configDoc = "../../docs/configuration.md"

// exampleConfig is the example configuration the compose stack mounts.
const exampleConfig = "../../compose/sluice.yaml"

// docRow matches a row of the key tables in docs/configuration.md:
// | `yaml.path` | `SLUICE_ENV` | `--flag` | type | default | meaning |
var docRow = regexp.MustCompile("(?m)^\\| `([a-z][a-z0-9_.\\[\\]<>-]*)` \\|(.*)$")

// documentedKeys returns each key row of the reference with the rest of
// its row.
func documentedKeys(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range docRow.FindAllStringSubmatch(string(data), -1) {
		if _, dup := rows[m[1]]; dup {
			t.Errorf("%s documents %s twice", configDoc, m[1])
		}
		rows[m[1]] = m[2]
	}
	return rows
}

// envKeys lists the keys an environment variable can set: the leaves
// walkKeys visits, except maps, which setFromString cannot parse.
func envKeys() []string {
	var keys []string
	cfg := defaultConfig()
	walkKeys(reflect.ValueOf(&cfg).Elem(), "", func(key string, v reflect.Value) {
		if v.Kind() != reflect.Map {
			keys = append(keys, key)
		}
	})
	return keys
}

// TestConfigDocCoversEveryKey fails when a key is added to the
// configuration without a row in docs/configuration.md, or when a row
// names the wrong environment variable.
func TestConfigDocCoversEveryKey(t *testing.T) {
	rows := documentedKeys(t)
	keys := configKeys()
	if len(keys) == 0 {
		t.Fatal("configKeys() is empty")
	}
	envable := envKeys()
	for _, key := range keys {
		row, ok := rows[key]
		if !ok {
			t.Errorf("key %s is not documented in %s (add a row: | `%s` | `%s` | ... |)", key, configDoc, key, envName(key))
			continue
		}
		if slices.Contains(envable, key) && !strings.Contains(row, "`"+envName(key)+"`") {
			t.Errorf("%s: the row of %s does not name its environment variable `%s`", configDoc, key, envName(key))
		}
	}
}

// TestEveryEnvKeyParses sets every key the reference documents with an
// environment variable from a sample value of its type, so that a key of a
// type setFromString cannot parse is caught before a user sets it.
func TestEveryEnvKeyParses(t *testing.T) {
	cfg := defaultConfig()
	walkKeys(reflect.ValueOf(&cfg).Elem(), "", func(key string, v reflect.Value) {
		if v.Kind() == reflect.Map {
			return // file only, documented so
		}
		sample := map[reflect.Kind]string{
			reflect.String: "x", reflect.Bool: "true", reflect.Slice: "a,b", reflect.Pointer: "true",
			reflect.Int: "1", reflect.Int8: "1", reflect.Int16: "1", reflect.Int32: "1", reflect.Int64: "1",
			reflect.Uint: "1", reflect.Uint8: "1", reflect.Uint16: "1", reflect.Uint32: "1", reflect.Uint64: "1",
			reflect.Float32: "1.5", reflect.Float64: "1.5",
		}[v.Kind()]
		if v.Type() == reflect.TypeOf(time.Duration(0)) {
			sample = "1s"
		}
		if err := setFromString(reflect.New(v.Type()).Elem(), sample); err != nil {
			t.Errorf("%s=%s: %v", envName(key), sample, err)
		}
	})
}

// TestConfigDocHasNoStaleKeys fails when docs/configuration.md documents
// a key the configuration does not accept. Fields of list items
// (routes[].path) and of map values are documented under their list.
func TestConfigDocHasNoStaleKeys(t *testing.T) {
	known := configKeys()
	for key := range documentedKeys(t) {
		// A field of a list item or map value (routes[].path,
		// registry.subjects.<subject>.type) is checked through its parent.
		parent := key
		if i := strings.IndexAny(key, "[<"); i >= 0 {
			parent = strings.TrimSuffix(key[:i], ".")
		}
		if !slices.Contains(known, parent) && !isListKey(parent) {
			t.Errorf("%s documents %s, but %s is not a configuration key", configDoc, key, parent)
		}
	}
}

// isListKey reports whether key is a list of structs, which walkKeys (and
// so configKeys) leaves to the file.
func isListKey(key string) bool {
	cfg := defaultConfig()
	v := reflect.ValueOf(&cfg).Elem()
	found := false
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if opts == "inline" {
				walk(v.Field(i), prefix)
				continue
			}
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(v.Field(i), prefix+name+".")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				found = found || prefix+name == key
			}
		}
	}
	walk(v, "")
	return found
}

// TestConfigDocNamesEveryFlag fails when a flag of serve or check-config
// is missing from docs/configuration.md; a flag that overrides a key must
// be on that key's row.
func TestConfigDocNamesEveryFlag(t *testing.T) {
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	rows := documentedKeys(t)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		name := "`--" + f.Name + "`"
		// The usage names the key it overrides first in parentheses:
		// "... (kafka.brokers; env SLUICE_KAFKA_BROKERS)".
		_, rest, _ := strings.Cut(f.Usage, "(")
		key, _, _ := strings.Cut(rest, ";")
		if row, ok := rows[key]; ok {
			if !strings.Contains(row, name) {
				t.Errorf("%s: the row of %s does not name its flag %s", configDoc, key, name)
			}
			return
		}
		if !strings.Contains(string(data), name) {
			t.Errorf("%s does not mention the flag %s", configDoc, name)
		}
	})
}

// TestExampleConfigIsValid runs compose/sluice.yaml through the checks of
// "sluice check-config", with no SLUICE_ variables from the test's
// environment.
func TestExampleConfigIsValid(t *testing.T) {
	path, err := filepath.Abs(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	cf := configFlags{config: path}
	noEnv := func(string) (string, bool) { return "", false }
	cfg, _, err := cf.load(noEnv)
	if err != nil {
		t.Fatalf("loading %s: %v", exampleConfig, err)
	}
	if err := validateAll(context.Background(), cfg); err != nil {
		t.Fatalf("%s is not valid:\n%v", exampleConfig, err)
	}
	if cfg.embedded() {
		t.Errorf("%s: kafka.brokers is empty, so it would run the embedded development broker", exampleConfig)
	}
	if cfg.Auth.Mode != "jwt" {
		t.Errorf("%s: auth.mode is %q, want jwt", exampleConfig, cfg.Auth.Mode)
	}
	if isLoopback(cfg.Listen) {
		t.Errorf("%s: listen %s is loopback, unreachable from outside its container", exampleConfig, cfg.Listen)
	}
}
