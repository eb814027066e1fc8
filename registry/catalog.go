package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// errNoSubject reports that the catalog has no such subject (or version).
var errNoSubject = errors.New("subject not found")

// catalog is where schemas come from. Implementations are safe for
// concurrent use and, once warm, answer latest and byID without I/O or
// parsing.
type catalog interface {
	// latest returns the newest schema of subject, or errNoSubject.
	latest(ctx context.Context, subject string) (*schema, error)
	// version returns version v (> 0) of subject, or errNoSubject.
	version(ctx context.Context, subject string, v int) (*schema, error)
	// byID returns the schema with that ID, or ErrUnknownSchemaID.
	byID(ctx context.Context, id int) (*schema, error)
	// hasID reports whether id is registered under subject (any version).
	hasID(ctx context.Context, subject string, id int) (bool, error)
	// ready reports whether the catalog's source is reachable.
	ready(ctx context.Context) error
	// close stops background work and waits for it.
	close() error
}

// staticTable is an immutable snapshot of a local catalog.
type staticTable struct {
	subjects   map[string]*schema      // subject → latest
	ids        map[int]*schema         // every ID ever loaded by this process
	subjectIDs map[string]map[int]bool // subject → every ID it has had
}

// staticCatalog serves a staticTable swapped behind an atomic pointer; it is
// the whole of the inline catalog and the read side of the filesystem one.
type staticCatalog struct {
	table atomic.Pointer[staticTable]
}

func (c *staticCatalog) latest(_ context.Context, subject string) (*schema, error) {
	if s := c.table.Load().subjects[subject]; s != nil {
		return s, nil
	}
	return nil, errNoSubject // unwrapped: this is the pass-through hot path
}

func (c *staticCatalog) version(_ context.Context, subject string, v int) (*schema, error) {
	if s := c.table.Load().subjects[subject]; s != nil && s.version == v {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %s version %d", errNoSubject, subject, v)
}

func (c *staticCatalog) byID(_ context.Context, id int) (*schema, error) {
	if s := c.table.Load().ids[id]; s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownSchemaID, id)
}

func (c *staticCatalog) hasID(_ context.Context, subject string, id int) (bool, error) {
	return c.table.Load().subjectIDs[subject][id], nil
}

func (c *staticCatalog) ready(context.Context) error { return nil }

func (c *staticCatalog) close() error { return nil }

// newInlineCatalog compiles the schemas written in the configuration.
func newInlineCatalog(subjects map[string]InlineSchema) (*staticCatalog, error) {
	t := &staticTable{subjects: map[string]*schema{}, ids: map[int]*schema{}, subjectIDs: map[string]map[int]bool{}}
	var errs []error
	for subject, in := range subjects {
		s, err := compileLocal(in.Type, []byte(in.Schema), t.ids)
		if err != nil {
			errs = append(errs, fmt.Errorf("subjects[%s]: %w", subject, err))
			continue
		}
		s.version = 1
		t.subjects[subject] = s
		t.ids[s.id] = s
		t.subjectIDs[subject] = map[int]bool{s.id: true}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &staticCatalog{}
	c.table.Store(t)
	return c, nil
}

// compileLocal derives the stable ID of a local schema and compiles it,
// reusing an already compiled schema with the same ID. It fails on the
// (astronomically unlikely) collision of two different schemas on one ID.
func compileLocal(format SchemaFormat, text []byte, known map[int]*schema) (*schema, error) {
	id, canonical, err := deriveID(text)
	if err != nil {
		return nil, err
	}
	if s := known[id]; s != nil {
		if prev, _, _ := canonicalJSON([]byte(s.text)); !bytes.Equal(prev, canonical) || s.format != format {
			return nil, fmt.Errorf("schema ID %d collides with a different schema; change the schema text slightly", id)
		}
		return s, nil
	}
	s, err := compileSchema(format, string(text), id)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// deriveID computes the stable schema ID of a local schema: the SHA-256 of
// its canonical JSON (see canonicalJSON), first four bytes as a big-endian
// integer with the top bit cleared; 0 becomes 1.
func deriveID(text []byte) (int, []byte, error) {
	canonical, _, err := canonicalJSON(text)
	if err != nil {
		return 0, nil, err
	}
	sum := sha256.Sum256(canonical)
	id := int(binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff)
	if id == 0 {
		id = 1
	}
	return id, canonical, nil
}

// canonicalJSON re-encodes a JSON document compactly with object keys sorted
// by their UTF-8 bytes, numbers kept as written, and Go's encoding/json
// string escaping (which escapes <, > and & as \u003c, \u003e, \u0026).
func canonicalJSON(text []byte) ([]byte, any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("schema is not valid JSON: data after the document")
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("canonicalising schema: %w", err)
	}
	return out, doc, nil
}
