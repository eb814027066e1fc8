package topics

import (
	"errors"
	"fmt"
	"strings"
)

// RouteConfig maps one URL path template to one topic template.
type RouteConfig struct {
	// Path is the URL path template, such as "/chat/{room}". A segment
	// written {name} matches any one non-empty path segment and binds it to
	// name. Required.
	Path string `yaml:"path"`
	// Topic is the topic template, such as "chat.{room}". A placeholder
	// names a path variable or, when the path has no variable of that name,
	// a claim of the connection's token (for example "user.{sub}.events").
	// Required.
	Topic string `yaml:"topic"`
	// From is where a route connection starts reading: "latest" or
	// "earliest". Default: "latest".
	From string `yaml:"from"`
	// Mode says what a route connection may do: "both" (receive the topic's
	// records and publish each frame it sends), "subscribe" or "publish".
	// Default: "both".
	Mode string `yaml:"mode"`
}

// Route is a compiled RouteConfig.
type Route struct {
	config   RouteConfig
	segments []segment
	topic    []piece
}

// segment is one path segment of a route: a literal or a variable.
type segment struct {
	literal  string
	variable string
}

// piece is one part of a topic template: a literal or a placeholder.
type piece struct {
	literal     string
	placeholder string
}

// Config returns the route's configuration with defaults filled in.
func (r *Route) Config() RouteConfig { return r.config }

// Subscribes reports whether a connection on this route receives records.
func (r *Route) Subscribes() bool { return r.config.Mode != "publish" }

// Publishes reports whether frames sent on this route are published.
func (r *Route) Publishes() bool { return r.config.Mode != "subscribe" }

// ErrUnresolved is returned (wrapped) by Route.Topic when a placeholder has
// no value or the result is not a legal topic name.
var ErrUnresolved = errors.New("route topic unresolved")

// Topic fills the route's topic template from the path variables vars and,
// for placeholders that are not path variables, from claim. claim may be
// nil. The result is checked with ValidateName, so a path variable cannot
// smuggle characters into a topic name.
func (r *Route) Topic(vars map[string]string, claim func(name string) (string, bool)) (string, error) {
	var b strings.Builder
	for _, p := range r.topic {
		if p.placeholder == "" {
			b.WriteString(p.literal)
			continue
		}
		v, ok := vars[p.placeholder]
		if !ok && claim != nil {
			v, ok = claim(p.placeholder)
		}
		if !ok || v == "" {
			return "", fmt.Errorf("%w: no value for {%s}", ErrUnresolved, p.placeholder)
		}
		b.WriteString(v)
	}
	name := b.String()
	if err := ValidateName(name); err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnresolved, err)
	}
	return name, nil
}

// match reports whether path matches the route and returns its variables.
func (r *Route) match(path []string) (map[string]string, bool) {
	if len(path) != len(r.segments) {
		return nil, false
	}
	var vars map[string]string
	for i, s := range r.segments {
		if s.variable == "" {
			if path[i] != s.literal {
				return nil, false
			}
			continue
		}
		if path[i] == "" {
			return nil, false
		}
		if vars == nil {
			vars = make(map[string]string, len(r.segments))
		}
		vars[s.variable] = path[i]
	}
	return vars, true
}

func compileRoute(c RouteConfig) (*Route, []error) {
	var errs []error
	if c.From == "" {
		c.From = "latest"
	}
	if c.Mode == "" {
		c.Mode = "both"
	}
	if c.From != "latest" && c.From != "earliest" {
		errs = append(errs, fmt.Errorf("route %q: from %q: want \"latest\" or \"earliest\"", c.Path, c.From))
	}
	if c.Mode != "both" && c.Mode != "subscribe" && c.Mode != "publish" {
		errs = append(errs, fmt.Errorf("route %q: mode %q: want \"both\", \"subscribe\" or \"publish\"", c.Path, c.Mode))
	}
	r := &Route{config: c}
	if !strings.HasPrefix(c.Path, "/") || c.Path == "/" {
		errs = append(errs, fmt.Errorf("route %q: path must start with '/' and name at least one segment", c.Path))
	} else {
		seen := map[string]bool{}
		for _, s := range strings.Split(c.Path[1:], "/") {
			name, isVar, err := parsePlaceholder(s)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("route %q: %w", c.Path, err))
			case isVar && seen[name]:
				errs = append(errs, fmt.Errorf("route %q: variable {%s} appears twice", c.Path, name))
			case isVar:
				seen[name] = true
				r.segments = append(r.segments, segment{variable: name})
			case s == "":
				errs = append(errs, fmt.Errorf("route %q: empty path segment", c.Path))
			default:
				r.segments = append(r.segments, segment{literal: s})
			}
		}
	}
	pieces, err := parseTopicTemplate(c.Topic)
	if err != nil {
		errs = append(errs, fmt.Errorf("route %q: topic %q: %w", c.Path, c.Topic, err))
	}
	r.topic = pieces
	return r, errs
}

// parsePlaceholder reports whether a path segment is a {variable}.
func parsePlaceholder(s string) (name string, isVar bool, err error) {
	if !strings.ContainsAny(s, "{}") {
		return "", false, nil
	}
	if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' || strings.ContainsAny(s[1:len(s)-1], "{}") {
		return "", false, fmt.Errorf("segment %q: a variable must fill the whole segment, as {name}", s)
	}
	return s[1 : len(s)-1], true, nil
}

// parseTopicTemplate splits "chat.{room}" into literals and placeholders and
// checks that every literal is made of legal topic characters.
func parseTopicTemplate(t string) ([]piece, error) {
	if t == "" {
		return nil, errors.New("empty")
	}
	var pieces []piece
	for t != "" {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			pieces = append(pieces, piece{literal: t})
			break
		}
		if open > 0 {
			pieces = append(pieces, piece{literal: t[:open]})
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			return nil, errors.New("unclosed '{'")
		}
		name := t[open+1 : open+end]
		if name == "" || strings.ContainsAny(name, "{") {
			return nil, fmt.Errorf("bad placeholder %q", t[open:open+end+1])
		}
		pieces = append(pieces, piece{placeholder: name})
		t = t[open+end+1:]
	}
	for _, p := range pieces {
		if p.placeholder != "" {
			continue
		}
		if strings.ContainsRune(p.literal, '}') {
			return nil, errors.New("'}' without '{'")
		}
		for i := 0; i < len(p.literal); i++ {
			if !legalByte(p.literal[i]) {
				return nil, fmt.Errorf("character %q is not legal in a topic name", p.literal[i])
			}
		}
	}
	return pieces, nil
}
