package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riferrei/srclient"
)

// unavailableRetry is the longest time a failed registry lookup is remembered
// before it is retried (it is shortened to MaxAge when that is smaller).
const unavailableRetry = 5 * time.Second

// entryKind says what a cache entry holds.
type entryKind uint8

const (
	kLatest   entryKind = iota // latest version of a subject; expires after MaxAge
	kVersion                   // a pinned subject version; kept forever
	kID                        // a schema by ID; kept forever
	kIDOwners                  // the subjects an ID is registered under; expires after MaxAge
)

// entryKey identifies a cache entry.
type entryKey struct {
	kind    entryKind
	subject string
	n       int // version or schema ID
}

// entry is one immutable cached answer (except the refreshing flag).
type entry struct {
	sch         *schema
	owners      []string // kIDOwners only
	err         error    // errNoSubject, ErrUnknownSchemaID, ErrUnsupportedSchema or ErrUnavailable
	freshUntil  time.Time
	forever     bool
	unavailable bool // err is ErrUnavailable and nothing better was known
	refreshing  atomic.Bool
}

// call is one in-flight registry request; waiters read val and err after
// done is closed.
type call struct {
	done chan struct{}
	ent  *entry
}

// regCatalog reads a Confluent-compatible registry through srclient. All
// answers are cached in one copy-on-write map behind an atomic pointer: IDs
// and pinned versions forever, latest versions and missing subjects for
// MaxAge. An expired latest entry is still served while one background
// request refreshes it, so a warm hot path never waits for HTTP; if the
// registry is down the stale entry keeps being served.
type regCatalog struct {
	client *srclient.SchemaRegistryClient
	maxAge time.Duration
	retry  time.Duration
	log    *slog.Logger

	entries atomic.Pointer[map[entryKey]*entry]

	mu       sync.Mutex // guards entries writers, inflight and closed
	inflight map[entryKey]*call
	closed   bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ctxTransport attaches the catalog's lifetime context to every request, so
// Close aborts requests in flight (srclient takes no context).
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

// newRegCatalog builds the HTTP client and srclient for cfg (defaulted).
func newRegCatalog(cfg Config, log *slog.Logger) (*regCatalog, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificates", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	ctx, cancel := context.WithCancel(context.Background())
	httpClient := &http.Client{Timeout: cfg.Timeout, Transport: ctxTransport{ctx: ctx, base: base}}

	client := srclient.NewSchemaRegistryClient(cfg.URL, srclient.WithClient(httpClient))
	client.CachingEnabled(false) // we cache, with expiry
	client.CodecCreationEnabled(false)
	if cfg.Username != "" {
		client.SetCredentials(cfg.Username, cfg.Password)
	}
	if cfg.BearerToken != "" {
		client.SetBearerToken(cfg.BearerToken)
	}
	c := &regCatalog{
		client:   client,
		maxAge:   cfg.MaxAge,
		retry:    min(cfg.MaxAge, unavailableRetry),
		log:      log,
		inflight: map[entryKey]*call{},
		cancel:   cancel,
	}
	c.entries.Store(&map[entryKey]*entry{})
	return c, nil
}

func (c *regCatalog) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

func (c *regCatalog) ready(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	done := make(chan error, 1)
	c.wg.Add(1)
	c.mu.Unlock()
	go func() { // bounded by the HTTP client timeout and by close
		defer c.wg.Done()
		_, err := c.client.GetGlobalCompatibilityLevel()
		done <- err
	}()
	select {
	case err := <-done:
		var se srclient.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &se) && (httpClass(se.Code) == 401 || httpClass(se.Code) == 403):
			return fmt.Errorf("%w: credentials rejected: %v", ErrUnavailable, err)
		case errors.As(err, &se) && httpClass(se.Code) < 500:
			return nil // the registry answered
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// httpClass maps a registry error code (40401, 50001, or a bare HTTP status)
// to its HTTP status.
func httpClass(code int) int {
	if code >= 10000 {
		return code / 100
	}
	return code
}

func (c *regCatalog) latest(ctx context.Context, subject string) (*schema, error) {
	e, err := c.lookup(ctx, entryKey{kind: kLatest, subject: subject})
	if err != nil {
		return nil, err
	}
	return e.sch, e.err
}

func (c *regCatalog) version(ctx context.Context, subject string, v int) (*schema, error) {
	e, err := c.lookup(ctx, entryKey{kind: kVersion, subject: subject, n: v})
	if err != nil {
		return nil, err
	}
	return e.sch, e.err
}

func (c *regCatalog) byID(ctx context.Context, id int) (*schema, error) {
	e, err := c.lookup(ctx, entryKey{kind: kID, n: id})
	if err != nil {
		return nil, err
	}
	return e.sch, e.err
}

func (c *regCatalog) hasID(ctx context.Context, subject string, id int) (bool, error) {
	e, err := c.lookup(ctx, entryKey{kind: kIDOwners, n: id})
	if err != nil {
		return false, err
	}
	if e.err != nil {
		if errors.Is(e.err, ErrUnknownSchemaID) {
			return false, nil
		}
		return false, e.err
	}
	return slices.Contains(e.owners, subject), nil
}

// lookup answers from the cache, refreshing expired entries in the
// background, and fetches synchronously only when nothing usable is cached.
func (c *regCatalog) lookup(ctx context.Context, k entryKey) (*entry, error) {
	if e := (*c.entries.Load())[k]; e != nil {
		if e.forever || time.Now().Before(e.freshUntil) {
			return e, nil
		}
		if !e.unavailable {
			if e.refreshing.CompareAndSwap(false, true) {
				c.start(k)
			}
			return e, nil
		}
	}
	cl := c.start(k)
	if cl == nil {
		return nil, ErrClosed
	}
	select {
	case <-cl.done:
		return cl.ent, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("looking up schema: %w", ctx.Err())
	}
}

// start begins (or joins) the request for k on a goroutine owned by c.
func (c *regCatalog) start(k entryKey) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.inflight[k]; cl != nil {
		return cl
	}
	if c.closed {
		return nil
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[k] = cl
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ent := c.fetch(k)
		c.mu.Lock()
		delete(c.inflight, k)
		c.mu.Unlock()
		cl.ent = ent
		close(cl.done)
	}()
	return cl
}

// store publishes e under k (copy-on-write).
func (c *regCatalog) store(k entryKey, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.entries.Load()
	m := make(map[entryKey]*entry, len(old)+1)
	for kk, v := range old {
		m[kk] = v
	}
	m[k] = e
	c.entries.Store(&m)
}

func (k entryKey) String() string {
	switch k.kind {
	case kLatest:
		return "subject " + k.subject + " (latest)"
	case kVersion:
		return "subject " + k.subject + " version " + strconv.Itoa(k.n)
	case kID:
		return "schema id " + strconv.Itoa(k.n)
	default:
		return "subjects of schema id " + strconv.Itoa(k.n)
	}
}

// fetch performs the registry request for k, classifies the answer, caches
// it and returns the entry to serve.
func (c *regCatalog) fetch(k entryKey) *entry {
	var (
		s      *srclient.Schema
		owners srclient.SubjectVersionResponse
		err    error
	)
	switch k.kind {
	case kLatest:
		s, err = c.client.GetLatestSchema(k.subject)
	case kVersion:
		s, err = c.client.GetSchemaByVersion(k.subject, k.n)
	case kID:
		s, err = c.client.GetSchema(k.n)
	case kIDOwners:
		owners, err = c.client.GetSubjectVersionsById(k.n)
	}
	now := time.Now()
	e := &entry{freshUntil: now.Add(c.maxAge), forever: k.kind == kVersion || k.kind == kID}
	switch {
	case err == nil && k.kind == kIDOwners:
		for _, o := range owners {
			e.owners = append(e.owners, o.Subject)
		}
	case err == nil:
		e.sch, e.err = c.compile(k, s)
		if e.err != nil {
			e.forever = false
		}
	case isNotFound(err):
		e.forever = false
		if k.kind == kID || k.kind == kIDOwners {
			e.err = fmt.Errorf("%w: %d", ErrUnknownSchemaID, k.n)
		} else {
			e.err = fmt.Errorf("%w: %s", errNoSubject, k)
		}
	default:
		uerr := fmt.Errorf("%w: looking up %s: %v", ErrUnavailable, k, err)
		if old := (*c.entries.Load())[k]; old != nil && !old.unavailable {
			c.log.Warn("schema registry unavailable, serving cached answer", "lookup", k.String(), "err", err)
			e = &entry{sch: old.sch, owners: old.owners, err: old.err, freshUntil: now.Add(c.retry)}
			c.store(k, e)
			return e
		}
		c.log.Warn("schema registry unavailable", "lookup", k.String(), "err", err)
		e = &entry{err: uerr, unavailable: true, freshUntil: now.Add(c.retry)}
	}
	c.store(k, e)
	if k.kind == kLatest && e.sch != nil {
		c.log.Debug("schema refreshed", "subject", k.subject, "id", e.sch.id, "version", e.sch.version)
	}
	return e
}

// compile returns the compiled schema for a registry answer, reusing the
// one cached under its ID.
func (c *regCatalog) compile(k entryKey, s *srclient.Schema) (*schema, error) {
	id := s.ID()
	if k.kind == kID {
		id = k.n
	}
	if e := (*c.entries.Load())[entryKey{kind: kID, n: id}]; e != nil && e.sch != nil {
		return e.sch, nil
	}
	if len(s.References()) > 0 {
		return nil, fmt.Errorf("%w: schema %d uses references", ErrUnsupportedSchema, id)
	}
	format := FormatAvro
	if t := s.SchemaType(); t != nil {
		switch *t {
		case srclient.Avro, "":
		case srclient.Json:
			format = FormatJSON
		default:
			return nil, fmt.Errorf("%w: schema %d has type %s", ErrUnsupportedSchema, id, *t)
		}
	}
	sch, err := compileSchema(format, s.Schema(), id)
	if err != nil {
		return nil, fmt.Errorf("%w: schema %d: %w", ErrUnsupportedSchema, id, err)
	}
	sch.version = s.Version()
	if k.kind != kID {
		c.store(entryKey{kind: kID, n: id}, &entry{sch: sch, forever: true})
	}
	return sch, nil
}

// isNotFound reports a registry "not found" answer (error codes 404xx or
// HTTP 404).
func isNotFound(err error) bool {
	var se srclient.Error
	if errors.As(err, &se) {
		return httpClass(se.Code) == 404
	}
	// srclient reports a 404 without a JSON body as the bare status line.
	return strings.HasPrefix(err.Error(), "404 ")
}
