package registry

import (
	"errors"
	"fmt"
	"github.com/sluicehq/sluice/internal/jsontext"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth bounds the nesting of JSON documents and Avro schemas walked by
// the encoders and decoders, so hostile input cannot exhaust the stack.
const maxDepth = 256

// jkind is the kind of a parsed JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "boolean"
	case jNumber:
		return "number"
	case jString:
		return "string"
	case jArray:
		return "array"
	default:
		return "object"
	}
}

// jnode is one parsed JSON value. Strings and numbers alias the input when
// they contain no escapes, so a jnode tree is only valid while the input
// bytes are unchanged and must not outlive the call that parsed it.
type jnode struct {
	kind jkind
	b    bool
	s    string   // string value, or the number's literal text
	kids []jnode  // array elements, or object member values
	keys []string // object member names, parallel to kids
}

// jparser parses JSON into jnode trees, reusing its arenas between calls.
// It is not safe for concurrent use; pool it.
type jparser struct {
	data  []byte
	pos   int
	stack []jnode
	kstk  []string
	arena []jnode
	karen []string
}

var errJSONDepth = errors.New("document nested too deeply")

// parse parses data as exactly one JSON value. The returned tree aliases data
// and the parser's arenas until the next call.
func (p *jparser) parse(data []byte) (jnode, error) {
	p.data, p.pos = data, 0
	p.stack, p.kstk = p.stack[:0], p.kstk[:0]
	p.arena, p.karen = p.arena[:0], p.karen[:0]
	v, err := p.value(0)
	if err != nil {
		return jnode{}, err
	}
	p.ws()
	if p.pos != len(p.data) {
		return jnode{}, p.errf("unexpected data after the JSON value")
	}
	return v, nil
}

func (p *jparser) errf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jparser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (jnode, error) {
	if depth > maxDepth {
		return jnode{}, errJSONDepth
	}
	p.ws()
	if p.pos >= len(p.data) {
		return jnode{}, p.errf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return jnode{kind: jString, s: s}, err
	case c == 't':
		return jnode{kind: jBool, b: true}, p.lit("true")
	case c == 'f':
		return jnode{kind: jBool}, p.lit("false")
	case c == 'n':
		return jnode{kind: jNull}, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return jnode{}, p.errf("unexpected character %q", c)
	}
}

func (p *jparser) lit(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errf("invalid literal")
	}
	p.pos += len(word)
	return nil
}

func (p *jparser) number() (jnode, error) {
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return jnode{}, p.errf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			p.pos = i
			return jnode{}, p.errf("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == j {
			p.pos = i
			return jnode{}, p.errf("invalid number")
		}
	}
	p.pos = i
	return jnode{kind: jNumber, s: bytesString(d[start:i])}, nil
}

// bytesString aliases b as a string without copying; b must not change while
// the string is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// str parses a JSON string starting at the opening quote.
func (p *jparser) str() (string, error) {
	d := p.data
	p.pos++ // opening quote
	start := p.pos
	high := false
	for i := start; i < len(d); i++ {
		i = jsontext.SkipPlain(d, i) // long runs of plain text, eight bytes at a time
		if i >= len(d) {
			break
		}
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			if high && !utf8.Valid(d[start:i]) {
				return "", p.errf("invalid UTF-8 in string")
			}
			return bytesString(d[start:i]), nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			p.pos = i
			return "", p.errf("control character in string")
		case c >= 0x80:
			high = true
		}
	}
	p.pos = len(d)
	return "", p.errf("unterminated string")
}

// strSlow handles strings with escapes; it copies.
func (p *jparser) strSlow(start int) (string, error) {
	d := p.data
	out := make([]byte, 0, 16+len(d)-start)
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			if !utf8.Valid(out) {
				return "", p.errf("invalid UTF-8 in string")
			}
			return string(out), nil
		case c < 0x20:
			p.pos = i
			return "", p.errf("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		i++
		if i >= len(d) {
			break
		}
		switch e := d[i]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d, i+1)
			if !ok {
				p.pos = i
				return "", p.errf("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+2 < len(d) && d[i+1] == '\\' && d[i+2] == 'u' {
					r2, ok2 = hex4(d, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			p.pos = i
			return "", p.errf("invalid escape \\%c", e)
		}
		i++
	}
	p.pos = len(d)
	return "", p.errf("unterminated string")
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d[i:i+4]), 16, 32)
	return rune(v), err == nil
}

func (p *jparser) array(depth int) (jnode, error) {
	p.pos++ // [
	mark := len(p.stack)
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return jnode{kind: jArray}, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return jnode{}, err
		}
		p.stack = append(p.stack, v)
		p.ws()
		if p.pos >= len(p.data) {
			return jnode{}, p.errf("unterminated array")
		}
		c := p.data[p.pos]
		p.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			p.pos--
			return jnode{}, p.errf("expected ',' or ']' in array")
		}
	}
	a := len(p.arena)
	p.arena = append(p.arena, p.stack[mark:]...)
	p.stack = p.stack[:mark]
	return jnode{kind: jArray, kids: p.arena[a:len(p.arena):len(p.arena)]}, nil
}

func (p *jparser) object(depth int) (jnode, error) {
	p.pos++ // {
	mark, kmark := len(p.stack), len(p.kstk)
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return jnode{kind: jObject}, nil
	}
	for {
		p.ws()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return jnode{}, p.errf("expected string key in object")
		}
		k, err := p.str()
		if err != nil {
			return jnode{}, err
		}
		p.ws()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return jnode{}, p.errf("expected ':' after object key")
		}
		p.pos++
		v, err := p.value(depth + 1)
		if err != nil {
			return jnode{}, err
		}
		p.kstk = append(p.kstk, k)
		p.stack = append(p.stack, v)
		p.ws()
		if p.pos >= len(p.data) {
			return jnode{}, p.errf("unterminated object")
		}
		c := p.data[p.pos]
		p.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			p.pos--
			return jnode{}, p.errf("expected ',' or '}' in object")
		}
	}
	a, ka := len(p.arena), len(p.karen)
	p.arena = append(p.arena, p.stack[mark:]...)
	p.karen = append(p.karen, p.kstk[kmark:]...)
	p.stack, p.kstk = p.stack[:mark], p.kstk[:kmark]
	return jnode{
		kind: jObject,
		kids: p.arena[a:len(p.arena):len(p.arena)],
		keys: p.karen[ka:len(p.karen):len(p.karen)],
	}, nil
}
