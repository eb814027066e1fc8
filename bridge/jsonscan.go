package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// The scanner under parseInbound: it validates JSON as it steps over it
// (skip), or only delimits a value whose check comes later (skimValue,
// checkValue).

// jsonScanner walks JSON text, validating as it skips.
type jsonScanner struct {
	data []byte
	i    int
}

var errSyntax = errors.New("invalid JSON")

func (p *jsonScanner) fail(what string) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, p.i, what)
}

func (p *jsonScanner) end() error {
	p.ws()
	if p.i != len(p.data) {
		return p.fail("unexpected data after the object")
	}
	return nil
}

func (p *jsonScanner) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) eat(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

// keyBytes reads an object key and returns its bytes, unescaped; without
// escapes they are a sub-slice of the input and nothing is allocated.
func (p *jsonScanner) keyBytes() ([]byte, error) {
	start := p.i
	if err := p.skipString(); err != nil {
		return nil, err
	}
	body := p.data[start+1 : p.i-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	k, err := stringField("key", p.data[start:p.i])
	return []byte(k), err
}

// members walks the object at the scanner's position. For each member it
// reads the key and calls value positioned at the member's value, which
// must step over it.
func (p *jsonScanner) members(depth int, value func(key []byte) error) error {
	if err := p.objectStart(depth); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, done, err := p.nextKey(first)
		if err != nil || done {
			return err
		}
		if err := value(key); err != nil {
			return err
		}
	}
}

// objectStart steps into the object at the scanner's position.
func (p *jsonScanner) objectStart(depth int) error {
	if depth > maxJSONDepth {
		return p.fail("nested too deeply")
	}
	if !p.eat('{') {
		return p.fail("expected an object")
	}
	return nil
}

// nextKey reads the next member's key and the ':' after it, leaving the
// scanner at the member's value; done is true at the object's end. first
// is true for the first call after objectStart.
func (p *jsonScanner) nextKey(first bool) (key []byte, done bool, err error) {
	p.ws()
	if first {
		if p.eat('}') {
			return nil, true, nil
		}
	} else {
		switch {
		case p.eat(','):
			p.ws()
		case p.eat('}'):
			return nil, true, nil
		default:
			return nil, false, p.fail("expected ',' or '}' in object")
		}
	}
	if key, err = p.keyBytes(); err != nil {
		return nil, false, err
	}
	p.ws()
	if !p.eat(':') {
		return nil, false, p.fail("expected ':' after object key")
	}
	p.ws()
	return key, false, nil
}

// skip validates and steps over one JSON value.
func (p *jsonScanner) skip(depth int) error {
	if depth > maxJSONDepth {
		return p.fail("nested too deeply")
	}
	if p.i >= len(p.data) {
		return p.fail("unexpected end of frame")
	}
	switch c := p.data[p.i]; {
	case c == '"':
		return p.skipString()
	case c == '{':
		return p.members(depth, func([]byte) error { return p.skip(depth + 1) })
	case c == '[':
		p.i++
		p.ws()
		if p.eat(']') {
			return nil
		}
		for {
			p.ws()
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat(']') {
				return nil
			}
			return p.fail("expected ',' or ']' in array")
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.skipNumber()
	}
	return p.fail("unexpected character " + strconv.QuoteRune(rune(p.data[p.i])))
}

func (p *jsonScanner) literal(word string) error {
	if len(p.data)-p.i < len(word) || string(p.data[p.i:p.i+len(word)]) != word {
		return p.fail("invalid literal")
	}
	p.i += len(word)
	return nil
}

// plainStringByte marks the bytes a JSON string may hold as they are:
// printable ASCII other than '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (p *jsonScanner) skipString() error {
	if !p.eat('"') {
		return p.fail("expected a string")
	}
	for p.i < len(p.data) {
		// Runs of plain ASCII are the common case: skip them sixteen and
		// eight bytes at a time, then byte by byte.
		p.i = jsontext.SkipPlain(p.data, p.i)
		for p.i < len(p.data) && plainStringByte[p.data[p.i]] {
			p.i++
		}
		if p.i >= len(p.data) {
			break
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return nil
		case c == '\\':
			p.i++
			if p.i >= len(p.data) {
				return p.fail("unterminated escape")
			}
			switch p.data[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				if len(p.data)-p.i < 5 || !isHex4(p.data[p.i+1:p.i+5]) {
					return p.fail(`invalid \u escape`)
				}
				p.i += 5
			default:
				return p.fail("invalid escape")
			}
		case c < 0x20:
			return p.fail("control character in string")
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size == 1 {
				return p.fail("invalid UTF-8 in string")
			}
			p.i += size
		}
	}
	return p.fail("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// skipNumber steps over a number following RFC 8259's grammar.
func (p *jsonScanner) skipNumber() error {
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.data) && p.data[p.i] >= '1' && p.data[p.i] <= '9':
		p.digits()
	default:
		return p.fail("invalid number")
	}
	if p.eat('.') {
		if p.digits() == 0 {
			return p.fail("invalid number: no digits after '.'")
		}
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return p.fail("invalid number: no digits in exponent")
		}
	}
	return nil
}

func (p *jsonScanner) digits() int {
	n := 0
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// skimValue moves past one JSON value without checking it: a string to its
// closing quote (found with the runtime's vectorised byte search), an
// object or array to its matching bracket, skipping strings; a number or
// literal is short and is checked at once. It fails only when the input
// ends inside the value; whatever else it passes over, checkValue refuses.
func (p *jsonScanner) skimValue() error {
	if p.i >= len(p.data) {
		return p.fail("unexpected end of frame")
	}
	switch p.data[p.i] {
	case '"':
		return p.skimString()
	case '{', '[':
	default:
		return p.skip(1)
	}
	depth := 0
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case '"':
			if err := p.skimString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i++
				return nil
			}
		}
		p.i++
	}
	return p.fail("unexpected end of frame")
}

// skimString moves past the string at p.i: to the first quote not escaped
// (not after an odd run of backslashes).
func (p *jsonScanner) skimString() error {
	d := p.data
	for i := p.i + 1; ; i++ {
		q := bytes.IndexByte(d[i:], '"')
		if q < 0 {
			p.i = len(d)
			return p.fail("unterminated string")
		}
		i += q
		run := 0
		for j := i - 1; j > p.i && d[j] == '\\'; j-- {
			run++
		}
		if run%2 == 0 {
			p.i = i + 1
			return nil
		}
	}
}

// checkValue checks a value parseInbound only delimited: one JSON value,
// valid UTF-8 in its strings, nested at most maxJSONDepth deep within the
// frame.
func checkValue(v []byte) error {
	p := jsonScanner{data: v}
	if err := p.skip(1); err != nil {
		return err
	}
	if p.i != len(v) {
		return p.fail("unexpected data after the value")
	}
	return nil
}
