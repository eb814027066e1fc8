package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
)

// Governor decides, per topic, how record keys and values are validated,
// encoded and decoded. It is safe for concurrent use; build it with New and
// stop it with Close.
type Governor struct {
	cfg    Config
	log    *slog.Logger
	cat    catalog // nil: governance disabled
	fs     *fsCatalog
	router *router
	pool   statePool

	closeOnce sync.Once
	closeErr  error
}

// Decoded is a record value or key turned into JSON for subscribers.
type Decoded struct {
	// JSON is the natural JSON of a framed record; nil when the value is not
	// framed or could not be decoded.
	JSON []byte
	// SchemaID is the ID named by the frame; 0 when not framed.
	SchemaID int
	// Framed is true when the value starts with the wire-format header
	// (magic byte 0 and a 4-byte schema ID).
	Framed bool
}

// New validates cfg, connects the chosen catalog and returns a Governor. The
// zero Config yields a Governor under which every topic passes through. A
// nil logger discards logs. The filesystem catalog starts its watcher here.
func New(cfg Config, logger *slog.Logger) (*Governor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "registry")
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("registry config: %w", err)
	}
	g := &Governor{cfg: cfg, log: logger, router: newRouter(cfg)}
	switch cfg.Kind {
	case KindSchemaRegistry:
		c, err := newRegCatalog(cfg, logger)
		if err != nil {
			return nil, fmt.Errorf("registry catalog: %w", err)
		}
		g.cat = c
		logger.Info("schema governance enabled", "kind", cfg.Kind, "url", redact(cfg.URL), "max_age", cfg.MaxAge)
	case KindFilesystem:
		c, err := newFSCatalog(cfg.Dir, cfg.PollInterval, logger)
		if err != nil {
			return nil, fmt.Errorf("filesystem catalog: %w", err)
		}
		g.cat, g.fs = c, c
		logger.Info("schema governance enabled", "kind", cfg.Kind, "dir", cfg.Dir, "poll_interval", cfg.PollInterval)
	case KindInline:
		c, err := newInlineCatalog(cfg.Subjects)
		if err != nil {
			return nil, fmt.Errorf("inline catalog: %w", err)
		}
		g.cat = c
		logger.Info("schema governance enabled", "kind", cfg.Kind, "subjects", len(cfg.Subjects))
	}
	return g, nil
}

// redact hides credentials embedded in a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	return u.Redacted()
}

// EncodeValue validates a published value for topic and returns the bytes to
// write to Kafka: the wire-format header followed by the Avro binary or JSON
// text. isJSON is false when the client sent raw bytes (value_b64); a
// governed topic then answers a ViolationError unless the bytes are already a
// valid framed record of an allowed schema ID (the pinned version's ID, or
// any ID registered under the subject when the rule follows latest), and
// returns them unchanged. Pass-through topics return value unchanged.
// Errors: *ViolationError, or an error wrapping ErrUnavailable or
// ErrUnsupportedSchema.
func (g *Governor) EncodeValue(ctx context.Context, topic string, value []byte, isJSON bool) ([]byte, error) {
	out, _, err := g.EncodeValueParsed(ctx, topic, value, isJSON)
	return out, err
}

// EncodeValueParsed is EncodeValue that also reports whether it parsed a
// JSON value in full: true when an Avro schema applied, whose encoder
// refuses anything that is not valid JSON (and valid UTF-8) with a
// ViolationError. A caller that has not checked the value itself must then
// do so when parsed is false (pass-through topics, JSON Schema subjects,
// whose validator reads JSON leniently).
func (g *Governor) EncodeValueParsed(ctx context.Context, topic string, value []byte, isJSON bool) (out []byte, parsed bool, err error) {
	if g.cat == nil {
		return value, false, nil
	}
	rt := g.router.routeFor(topic)
	if rt.passthrough {
		return value, false, nil
	}
	sch, err := g.schemaFor(ctx, rt.valueSubject, rt.version, rt.valueExplicit, true)
	if err != nil || sch == nil {
		return value, false, err
	}
	if !isJSON {
		if err := g.checkFramed(ctx, rt.valueSubject, rt.version, sch, value); err != nil {
			return nil, false, err
		}
		return value, false, nil
	}
	st := g.pool.get()
	out, err = sch.encode(st, rt.valueSubject, value)
	g.pool.put(st)
	return out, sch.format == FormatAvro, err
}

// EncodeKey validates and encodes a record key for topic when a key subject
// applies (the rule's key_subject, or "<topic>-key" with the topic strategy
// when that subject exists); otherwise the key is returned unchanged. A key
// subject whose schema is the Avro primitive "string" takes the key bytes as
// the string; any other schema takes the key as a JSON document.
func (g *Governor) EncodeKey(ctx context.Context, topic string, key []byte) ([]byte, error) {
	if g.cat == nil || key == nil {
		return key, nil
	}
	rt := g.router.routeFor(topic)
	if rt.passthrough || rt.keySubject == "" {
		return key, nil
	}
	sch, err := g.schemaFor(ctx, rt.keySubject, 0, rt.keyExplicit, false)
	if err != nil || sch == nil {
		return key, err
	}
	if sch.keyString {
		return sch.encodeKeyString(rt.keySubject, key)
	}
	st := g.pool.get()
	out, err := sch.encode(st, rt.keySubject, key)
	g.pool.put(st)
	return out, err
}

// DecodeValue turns a record value read from topic into JSON for
// subscribers. Values that are not schema-framed, topics of passthrough
// rules and a Governor without catalog give Decoded{} and no error (the
// caller handles raw JSON or bytes). A framed value gives its natural JSON;
// when it cannot be decoded the error (wrapping ErrUnknownSchemaID,
// ErrMalformed, ErrUnsupportedSchema or ErrUnavailable) comes with
// Decoded{SchemaID: id, Framed: true} so the caller can forward the raw
// bytes with the schema ID.
func (g *Governor) DecodeValue(ctx context.Context, topic string, value []byte) (Decoded, error) {
	return g.decode(ctx, topic, value, "value")
}

// DecodeKey is DecodeValue for record keys.
func (g *Governor) DecodeKey(ctx context.Context, topic string, key []byte) (Decoded, error) {
	return g.decode(ctx, topic, key, "key")
}

func (g *Governor) decode(ctx context.Context, topic string, value []byte, what string) (Decoded, error) {
	if g.cat == nil {
		return Decoded{}, nil
	}
	id, payload, ok := parseHeader(value)
	if !ok || g.router.routeFor(topic).passthrough {
		return Decoded{}, nil
	}
	d := Decoded{SchemaID: id, Framed: true}
	sch, err := g.cat.byID(ctx, id)
	if err != nil {
		return d, fmt.Errorf("decoding %s of topic %s: %w", what, topic, err)
	}
	st := g.pool.get()
	js, err := sch.decode(st, payload)
	g.pool.put(st)
	if err != nil {
		return d, fmt.Errorf("decoding %s of topic %s: %w", what, topic, err)
	}
	d.JSON = js
	return d, nil
}

// Ready reports whether the catalog is reachable (for /readyz): for kind
// schema-registry it makes one small request; it is nil for the other
// catalogs and without catalog. A failure wraps ErrUnavailable.
func (g *Governor) Ready(ctx context.Context) error {
	if g.cat == nil {
		return nil
	}
	return g.cat.ready(ctx)
}

// Reload re-reads the filesystem catalog now instead of waiting for the next
// poll; it returns the problems of files that failed (their subjects keep
// their previous schemas). It is a no-op for other catalogs.
func (g *Governor) Reload(ctx context.Context) error {
	if g.fs == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := g.fs.reload(); err != nil {
		return fmt.Errorf("reloading %s: %w", g.cfg.Dir, err)
	}
	return nil
}

// Close stops the filesystem watcher and background registry requests and
// waits for them (a registry request in flight is aborted). Safe to call
// more than once.
func (g *Governor) Close() error {
	g.closeOnce.Do(func() {
		if g.cat != nil {
			g.closeErr = g.cat.close()
		}
	})
	return g.closeErr
}

// schemaFor resolves a subject. A missing subject is a violation when
// explicit; otherwise, for values (policy true), unknown_subject decides, and
// for keys it means "not governed". (nil, nil) means pass through.
func (g *Governor) schemaFor(ctx context.Context, subject string, version int, explicit, policy bool) (*schema, error) {
	if subject == "" {
		if policy && g.cfg.UnknownSubject == UnknownReject {
			return nil, violation("", "no subject applies to this topic and unknown_subject is reject")
		}
		return nil, nil
	}
	var (
		sch *schema
		err error
	)
	if version > 0 {
		sch, err = g.cat.version(ctx, subject, version)
	} else {
		sch, err = g.cat.latest(ctx, subject)
	}
	switch {
	case err == nil:
		return sch, nil
	case errors.Is(err, errNoSubject) && explicit:
		if version > 0 {
			return nil, violation(subject, fmt.Sprintf("subject %s version %d not found in the schema catalog", subject, version))
		}
		return nil, violation(subject, fmt.Sprintf("subject %s not found in the schema catalog", subject))
	case errors.Is(err, errNoSubject) && policy && g.cfg.UnknownSubject == UnknownReject:
		return nil, violation(subject, fmt.Sprintf("subject %s not found in the schema catalog and unknown_subject is reject", subject))
	case errors.Is(err, errNoSubject):
		return nil, nil
	}
	return nil, fmt.Errorf("resolving subject %s: %w", subject, err)
}

// checkFramed accepts raw bytes for a governed subject only when they are a
// framed record of an allowed schema ID that decodes cleanly.
func (g *Governor) checkFramed(ctx context.Context, subject string, version int, sch *schema, value []byte) error {
	id, payload, ok := parseHeader(value)
	if !ok {
		return violation(subject, fmt.Sprintf(
			"raw bytes are not accepted: subject %s governs this topic; publish JSON, or bytes framed with schema ID %d", subject, sch.id))
	}
	target := sch
	if id != sch.id {
		if version > 0 {
			return violation(subject, fmt.Sprintf("schema ID %d is not allowed: the topic is pinned to schema ID %d", id, sch.id))
		}
		owned, err := g.cat.hasID(ctx, subject, id)
		if err != nil {
			return fmt.Errorf("checking schema ID %d of subject %s: %w", id, subject, err)
		}
		if !owned {
			return violation(subject, fmt.Sprintf("schema ID %d is not registered under subject %s", id, subject))
		}
		if target, err = g.cat.byID(ctx, id); err != nil {
			return fmt.Errorf("checking schema ID %d of subject %s: %w", id, subject, err)
		}
	}
	if err := target.check(subject, payload); err != nil {
		var ve *ViolationError
		if errors.As(err, &ve) {
			return ve
		}
		return &ViolationError{Subject: subject,
			Message: fmt.Sprintf("framed bytes do not decode with schema ID %d", id),
			Details: []FieldError{{Path: "$", Reason: err.Error()}}}
	}
	return nil
}
