package registry

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schema is one compiled schema, immutable once built and shared by every
// goroutine: the cache of the catalogs maps IDs to these.
type schema struct {
	id      int
	version int // 0 when unknown; the same ID can serve several subjects
	format  SchemaFormat
	text    string

	avro      avro.Schema // hamba's parsed schema (Avro only)
	node      *anode      // compiled encoder/decoder tree (Avro only)
	keyString bool        // Avro schema is the primitive "string"

	js *jsonschema.Schema // compiled JSON Schema (JSON only)
}

// compileSchema parses and compiles schema text of the given format.
func compileSchema(format SchemaFormat, text string, id int) (*schema, error) {
	s := &schema{id: id, format: format, text: text}
	switch format {
	case FormatAvro:
		parsed, node, err := compileAvro(text)
		if err != nil {
			return nil, err
		}
		s.avro, s.node = parsed, node
		s.keyString = node.kind == aString && node.logical == lNone
	case FormatJSON:
		js, err := compileJSONSchema(text, id)
		if err != nil {
			return nil, err
		}
		s.js = js
	default:
		return nil, fmt.Errorf("%w: schema type %q", ErrUnsupportedSchema, format)
	}
	return s, nil
}

// noLoader refuses to load any external resource, so that a schema cannot
// make the gateway read local files or fetch URLs through $ref.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %s: external $ref resources are not allowed", url)
}

// compileJSONSchema compiles a JSON Schema (draft 7 or 2020-12, 2020-12 when
// $schema is absent) with format assertions enabled.
func compileJSONSchema(text string, id int) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parsing JSON schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	loc := "sluice:///schemas/" + strconv.Itoa(id) + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("adding JSON schema: %w", err)
	}
	js, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compiling JSON schema: %w", err)
	}
	return js, nil
}

// codecState is the pooled per-call scratch space of encoders and decoders.
type codecState struct {
	parser jparser
	enc    aencoder
	out    []byte
}

// maxPooledBuffer keeps very large scratch buffers out of the pool.
const maxPooledBuffer = 1 << 20

var errNotJSON = errors.New("value is not valid JSON")

// encode validates a JSON document against s and returns the framed record
// (magic byte, schema ID, payload) in a new slice.
func (s *schema) encode(st *codecState, subject string, value []byte) ([]byte, error) {
	switch s.format {
	case FormatAvro:
		root, err := st.parser.parse(value)
		if err != nil {
			return nil, &ViolationError{Subject: subject, Message: errNotJSON.Error(),
				Details: []FieldError{{Path: "$", Reason: err.Error()}}}
		}
		e := &st.enc
		e.reset()
		e.buf = appendHeader(e.buf, s.id)
		e.encode(s.node, &root, 0)
		if e.nerr > 0 {
			return nil, violationFrom(subject, e)
		}
		return bytes.Clone(e.buf), nil
	default:
		if err := s.validateJSON(subject, value); err != nil {
			return nil, err
		}
		out := make([]byte, 0, headerLen+len(value))
		out = appendHeader(out, s.id)
		return append(out, value...), nil
	}
}

// encodeKeyString frames a raw key as an Avro string.
func (s *schema) encodeKeyString(subject string, key []byte) ([]byte, error) {
	if !utfValid(key) {
		return nil, &ViolationError{Subject: subject, Message: "key is not valid UTF-8 text",
			Details: []FieldError{{Path: "$", Reason: "expected UTF-8 string"}}}
	}
	out := make([]byte, 0, headerLen+10+len(key))
	out = appendHeader(out, s.id)
	out = appendLong(out, int64(len(key)))
	return append(out, key...), nil
}

func violationFrom(subject string, e *aencoder) *ViolationError {
	msg := "record does not match the Avro schema: 1 problem"
	if e.nerr != 1 {
		msg = fmt.Sprintf("record does not match the Avro schema: %d problems", e.nerr)
	}
	return &ViolationError{Subject: subject, Message: msg, Details: append([]FieldError(nil), e.errs...)}
}

// validateJSON checks a JSON document against the compiled JSON Schema and
// returns a ViolationError listing every failing instance location.
func (s *schema) validateJSON(subject string, value []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		return &ViolationError{Subject: subject, Message: errNotJSON.Error(),
			Details: []FieldError{{Path: "$", Reason: err.Error()}}}
	}
	err = s.js.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validating against schema %d: %w", s.id, err)
	}
	var details []FieldError
	collectLeaves(ve, &details)
	return &ViolationError{Subject: subject,
		Message: fmt.Sprintf("document does not match the JSON schema: %d problem(s)", len(details)),
		Details: details}
}

// collectLeaves appends one FieldError per leaf of the validation tree.
func collectLeaves(e *jsonschema.ValidationError, out *[]FieldError) {
	if len(*out) >= maxDetails {
		return
	}
	if len(e.Causes) == 0 {
		reason := ""
		if u := e.BasicOutput(); u.Error != nil {
			reason = u.Error.String()
		}
		*out = append(*out, FieldError{Path: pointerPath(e.InstanceLocation), Reason: reason})
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, out)
	}
}

// pointerPath renders JSON-pointer tokens as $.a.b[1]; all-digit tokens are
// shown as indexes.
func pointerPath(tokens []string) string {
	segs := make([]pathSeg, len(tokens))
	for i, t := range tokens {
		if n, err := strconv.Atoi(t); err == nil && n >= 0 {
			segs[i] = pathSeg{idx: n, isIdx: true}
		} else {
			segs[i] = pathSeg{key: t}
		}
	}
	return renderPath(segs)
}

// decode turns a framed payload (header already stripped) into JSON.
func (s *schema) decode(st *codecState, payload []byte) ([]byte, error) {
	switch s.format {
	case FormatAvro:
		out, err := decodeAvro(s.node, payload, st.out[:0])
		st.out = out
		if err != nil {
			return nil, fmt.Errorf("%w: schema %d: %w", ErrMalformed, s.id, err)
		}
		return bytes.Clone(out), nil
	default:
		if !jsonValid(payload) {
			return nil, fmt.Errorf("%w: schema %d: payload is not valid JSON", ErrMalformed, s.id)
		}
		return bytes.Clone(payload), nil
	}
}

// check reports whether payload (header stripped) is a valid record of s.
func (s *schema) check(subject string, payload []byte) error {
	switch s.format {
	case FormatAvro:
		_, err := decodeAvro(s.node, payload, nil)
		return err
	default:
		return s.validateJSON(subject, payload)
	}
}

// statePool hands out codecStates; it belongs to one Governor.
type statePool struct{ p sync.Pool }

func (sp *statePool) get() *codecState {
	if st, ok := sp.p.Get().(*codecState); ok {
		return st
	}
	return &codecState{}
}

func (sp *statePool) put(st *codecState) {
	if cap(st.enc.buf) > maxPooledBuffer || cap(st.out) > maxPooledBuffer || cap(st.parser.arena) > maxPooledBuffer/64 {
		return
	}
	// Drop references into the caller's input before pooling.
	clear(st.parser.arena)
	clear(st.parser.karen)
	st.parser.data = nil
	sp.p.Put(st)
}
