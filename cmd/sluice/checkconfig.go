package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// problem is one configuration error as check-config reports it.
type problem struct {
	file string
	line int
	msg  string
	hint string
}

func (p problem) String() string {
	var b strings.Builder
	switch {
	case p.file != "" && p.line > 0:
		fmt.Fprintf(&b, "%s:%d: %s", p.file, p.line, p.msg)
	case p.file != "":
		fmt.Fprintf(&b, "%s: %s", p.file, p.msg)
	default:
		b.WriteString(p.msg)
	}
	if p.hint != "" {
		b.WriteString("\n    hint: " + p.hint)
	}
	return b.String()
}

// hints match error text to a suggested fix. First match wins.
var hints = []struct {
	re   *regexp.Regexp
	hint string
}{
	{regexp.MustCompile(`field (\S+) not found`), "unknown key: check its spelling against docs/configuration.md; keys are snake_case"},
	{regexp.MustCompile(`cannot unmarshal .* into .*time\.Duration|not a duration`), "durations are written like 500ms, 30s or 5m"},
	{regexp.MustCompile(`cannot unmarshal !!str .* into (int|float)`), "this key takes a number, without quotes"},
	{regexp.MustCompile(`cannot unmarshal !!str .* into bool`), "this key takes true or false"},
	{regexp.MustCompile(`cannot unmarshal !!(map|seq)`), "this key has the wrong shape (a list where a value is expected, or the reverse); see docs/configuration.md"},
	{regexp.MustCompile(`path must start with '/'`), `route paths look like "/chat/{room}"`},
	{regexp.MustCompile(`must fill the whole segment`), `a path variable is a whole segment: "/chat/{room}", not "/chat/x{room}"`},
	{regexp.MustCompile(`compression`), "use none, gzip, snappy, lz4 or zstd"},
	{regexp.MustCompile(`(?i)reading .*no such file|unreadable|cannot read|open .*: no such file`), "the path is read relative to the directory sluice runs in; check it exists and is readable"},
	{regexp.MustCompile(`(?i)key source|secret|public_key_files|jwks`), "auth.mode jwt needs auth.jwt.secret, auth.jwt.public_key_files or auth.jwt.jwks_url (or set auth.mode: none for local development)"},
	{regexp.MustCompile(`(?i)pattern`), "topic patterns use '*' for any run of characters, e.g. orders.*"},
	{regexp.MustCompile(`kafka.brokers`), "give brokers as host:port, or leave kafka.brokers empty for the embedded development broker"},
	{regexp.MustCompile(`not a loopback address`), "add a config with auth, or bind to 127.0.0.1"},
	{regexp.MustCompile(`log\.(level|format)`), "log.level: debug|info|warn|error; log.format: text|json"},
	{regexp.MustCompile(`tls`), "give tls.cert_file and tls.key_file together, as PEM files"},
}

func hintFor(msg string) string {
	for _, h := range hints {
		if h.re.MatchString(msg) {
			return h.hint
		}
	}
	return ""
}

var (
	yamlLine   = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	leadingKey = regexp.MustCompile(`^([a-z_]+(?:\.[a-z_]+)*)(?:[:\s]|$)`)
	routeName  = regexp.MustCompile(`route "([^"]*)"`)
)

// explain turns the error of loading or validating the file at path into
// problems with file, line and hint. The line of a semantic error is found
// by looking up the key (or the route) it names in the file.
func explain(path string, err error) []problem {
	var root *yaml.Node
	if path != "" {
		if data, rerr := os.ReadFile(path); rerr == nil {
			var doc yaml.Node
			if yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc) == nil && len(doc.Content) > 0 {
				root = doc.Content[0]
			}
		}
	}
	var out []problem
	for _, msg := range splitErrors(err) {
		msg = strings.TrimPrefix(msg, path+": ")
		p := problem{file: path, msg: msg}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			fmt.Sscan(m[1], &p.line)
			p.msg = m[2]
		} else if root != nil {
			p.line = locate(root, msg)
		}
		p.hint = hintFor(p.msg)
		out = append(out, p)
	}
	return out
}

// splitErrors flattens joined errors and yaml's multi-line type errors.
func splitErrors(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		for _, line := range strings.Split(e.Error(), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasSuffix(line, "errors decoding:") || strings.HasSuffix(line, "unmarshal errors:") {
				continue
			}
			out = append(out, line)
		}
	}
	walk(err)
	if len(out) == 0 && err != nil {
		out = append(out, err.Error())
	}
	return out
}

// locate finds the line of the key or route an error message names.
func locate(root *yaml.Node, msg string) int {
	msg = strings.TrimPrefix(msg, "bridge config: ")
	msg = strings.TrimPrefix(msg, "routes: ")
	if rest, ok := strings.CutPrefix(msg, "auth config: "); ok {
		msg = "auth." + rest
	}
	if m := routeName.FindStringSubmatch(msg); m != nil {
		if routes := lookup(root, "routes"); routes != nil {
			for _, r := range routes.Content {
				if p := lookup(r, "path"); p != nil && p.Value == m[1] {
					return p.Line
				}
			}
			return routes.Line
		}
	}
	m := leadingKey.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	node := root
	line := 0
	for _, part := range strings.Split(m[1], ".") {
		node = lookup(node, part)
		if node == nil {
			break
		}
		line = node.Line
	}
	return line
}

// lookup returns the value node of key in a mapping node.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// report prints problems as check-config and serve show them.
func report(problems []problem) string {
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = "  " + strings.ReplaceAll(p.String(), "\n", "\n  ")
	}
	return strings.Join(lines, "\n")
}

var errInvalidConfig = errors.New("configuration is not valid")
