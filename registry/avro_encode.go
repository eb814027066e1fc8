package registry

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// pathSeg is one step of the location of a value being encoded. The encoder
// keeps the current location as a stack of segments and renders it to a
// string only when it reports an error.
type pathSeg struct {
	key   string
	idx   int
	isIdx bool
}

// renderPath returns the JSONPath-like form: $, $.a.b, $.tags[1], $["odd key"].
func renderPath(path []pathSeg) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, p := range path {
		switch {
		case p.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.idx))
			b.WriteByte(']')
		case isIdent(p.key):
			b.WriteByte('.')
			b.WriteString(p.key)
		default:
			b.WriteString("[")
			b.WriteString(strconv.Quote(p.key))
			b.WriteString("]")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// aencoder turns a parsed JSON tree into Avro binary, recording every
// violation. It is not safe for concurrent use; it is pooled.
type aencoder struct {
	buf   []byte
	errs  []FieldError
	nerr  int       // violations seen, including those of discarded union trials
	trial int       // >0 while trying a union branch: violations are only counted
	slots []int     // scratch: JSON member index per record field
	path  []pathSeg // location of the value being encoded
}

func (e *aencoder) reset() {
	e.buf, e.errs, e.nerr, e.trial, e.slots, e.path = e.buf[:0], e.errs[:0], 0, 0, e.slots[:0], e.path[:0]
}

func (e *aencoder) fail(format string, args ...any) {
	e.nerr++
	if e.trial > 0 || len(e.errs) >= maxDetails {
		return
	}
	e.errs = append(e.errs, FieldError{Path: renderPath(e.path), Reason: fmt.Sprintf(format, args...)})
}

func (e *aencoder) push(key string) { e.path = append(e.path, pathSeg{key: key}) }
func (e *aencoder) pushIdx(i int)   { e.path = append(e.path, pathSeg{idx: i, isIdx: true}) }
func (e *aencoder) pop()            { e.path = e.path[:len(e.path)-1] }

func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func appendAvroString(b []byte, s string) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

func (e *aencoder) encode(n *anode, v *jnode, depth int) {
	if depth > maxDepth {
		e.fail("value nested deeper than %d levels", maxDepth)
		return
	}
	switch n.kind {
	case aNull:
		if v.kind != jNull {
			e.fail("expected null, got %s", v.kind)
		}
	case aBoolean:
		if v.kind != jBool {
			e.fail("expected boolean, got %s", v.kind)
			return
		}
		if v.b {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case aInt, aLong:
		e.integer(n, v)
	case aFloat, aDouble:
		e.float(n, v)
	case aString:
		if v.kind != jString {
			e.fail("expected string, got %s", v.kind)
			return
		}
		if n.logical == lUUID && !isUUID(v.s) {
			e.fail("expected a UUID string like 123e4567-e89b-12d3-a456-426614174000, got %q", clip(v.s))
			return
		}
		e.buf = appendAvroString(e.buf, v.s)
	case aBytes:
		if n.logical == lDecimal {
			e.decimal(n, v)
			return
		}
		b, ok := e.base64(v)
		if !ok {
			return
		}
		e.buf = appendLong(e.buf, int64(len(b)))
		e.buf = append(e.buf, b...)
	case aFixed:
		if n.logical == lDecimal {
			e.decimal(n, v)
			return
		}
		b, ok := e.base64(v)
		if !ok {
			return
		}
		if len(b) != n.size {
			e.fail("expected %d bytes for fixed %s, got %d", n.size, n.name, len(b))
			return
		}
		e.buf = append(e.buf, b...)
	case aEnum:
		if v.kind != jString {
			e.fail("expected string (enum %s), got %s", n.name, v.kind)
			return
		}
		i, ok := n.symbolIndex[v.s]
		if !ok {
			e.fail("%q is not a symbol of enum %s %v", clip(v.s), n.name, n.symbols)
			return
		}
		e.buf = appendLong(e.buf, int64(i))
	case aRecord:
		e.record(n, v, depth)
	case aArray:
		if v.kind != jArray {
			e.fail("expected array, got %s", v.kind)
			return
		}
		if len(v.kids) > 0 {
			e.buf = appendLong(e.buf, int64(len(v.kids)))
			for i := range v.kids {
				e.pushIdx(i)
				e.encode(n.items, &v.kids[i], depth+1)
				e.pop()
			}
		}
		e.buf = append(e.buf, 0)
	case aMap:
		if v.kind != jObject {
			e.fail("expected object (map), got %s", v.kind)
			return
		}
		if len(v.kids) > 0 {
			e.buf = appendLong(e.buf, int64(len(v.kids)))
			for i := range v.kids {
				e.buf = appendAvroString(e.buf, v.keys[i])
				e.push(v.keys[i])
				e.encode(n.items, &v.kids[i], depth+1)
				e.pop()
			}
		}
		e.buf = append(e.buf, 0)
	case aUnion:
		e.union(n, v, depth)
	}
}

func (e *aencoder) record(n *anode, v *jnode, depth int) {
	if v.kind != jObject {
		e.fail("expected object (record %s), got %s", n.name, v.kind)
		return
	}
	m := len(n.fields)
	base := len(e.slots)
	for range m {
		e.slots = append(e.slots, -1)
	}
	for j, key := range v.keys {
		fi := -1
		if j < m && n.fields[j].name == key {
			fi = j
		} else if i, ok := n.fieldIndex[key]; ok {
			fi = i
		}
		if fi < 0 {
			e.push(key)
			e.fail("unknown field (record %s has no such field)", n.name)
			e.pop()
			continue
		}
		if e.slots[base+fi] >= 0 {
			e.push(key)
			e.fail("duplicate field")
			e.pop()
			continue
		}
		e.slots[base+fi] = j
	}
	for i := range n.fields {
		f := &n.fields[i]
		j := e.slots[base+i]
		if j < 0 {
			switch {
			case f.hasDefault:
				e.buf = append(e.buf, f.defBytes...)
			case f.nullable:
				e.buf = appendLong(e.buf, int64(f.node.nullIdx))
			default:
				e.push(f.name)
				e.fail("required field missing")
				e.pop()
			}
			continue
		}
		e.push(f.name)
		e.encode(f.node, &v.kids[j], depth+1)
		e.pop()
	}
	e.slots = e.slots[:base]
}

// accepts reports whether a JSON value of kind k could possibly be encoded as
// branch b; it only prunes union candidates, the trial encoding decides.
func accepts(k jkind, b *anode) bool {
	switch k {
	case jNull:
		return b.kind == aNull
	case jBool:
		return b.kind == aBoolean
	case jNumber:
		switch b.kind {
		case aInt, aLong, aFloat, aDouble:
			return true
		case aBytes, aFixed:
			return b.logical == lDecimal
		}
	case jString:
		switch b.kind {
		case aString, aEnum, aBytes, aFixed, aFloat, aDouble:
			return true
		case aInt, aLong:
			return b.logical != lNone
		}
	case jArray:
		return b.kind == aArray
	case jObject:
		return b.kind == aRecord || b.kind == aMap
	}
	return false
}

// union encodes v into the first acceptable branch. Order: for JSON numbers
// the int and long branches come first, then the others, each group in schema
// order; for other values schema order. When no branch takes the plain value
// and v is an object with a single member naming a branch ({"string":"x"}),
// that wrapped form is used.
func (e *aencoder) union(n *anode, v *jnode, depth int) {
	if v.kind == jNull && n.nullIdx >= 0 {
		e.buf = appendLong(e.buf, int64(n.nullIdx))
		return
	}
	start, nerr := len(e.buf), e.nerr
	candidates, last := 0, -1
	try := func(i int) bool {
		b := n.branches[i]
		if !accepts(v.kind, b) {
			return false
		}
		candidates++
		last = i
		e.buf = appendLong(e.buf, int64(i))
		e.trial++
		e.encode(b, v, depth+1)
		e.trial--
		if e.nerr == nerr {
			return true
		}
		e.buf, e.nerr = e.buf[:start], nerr
		return false
	}
	if v.kind == jNumber {
		for i, b := range n.branches {
			if (b.kind == aInt || b.kind == aLong) && try(i) {
				return
			}
		}
		for i, b := range n.branches {
			if b.kind != aInt && b.kind != aLong && try(i) {
				return
			}
		}
	} else {
		for i := range n.branches {
			if try(i) {
				return
			}
		}
	}
	if v.kind == jObject && len(v.keys) == 1 {
		for i, b := range n.branches {
			if v.keys[0] == b.name || (b.short != "" && v.keys[0] == b.short) {
				e.buf = appendLong(e.buf, int64(i))
				e.push(v.keys[0])
				e.encode(b, &v.kids[0], depth+1)
				e.pop()
				return
			}
		}
	}
	if candidates == 1 {
		// Exactly one branch had the right shape: report its detailed errors.
		e.encode(n.branches[last], v, depth+1)
		return
	}
	if candidates == 0 {
		e.fail("expected %s, got %s", branchList(n), v.kind)
		return
	}
	e.fail("%s value matches no branch of %s", v.kind, n.typeName())
}

// branchList names a union's branches for messages: "null or string",
// "null, long, double or string".
func branchList(n *anode) string {
	var b strings.Builder
	for i, br := range n.branches {
		switch {
		case i == 0:
		case i == len(n.branches)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(br.typeName())
	}
	return b.String()
}

func (e *aencoder) integer(n *anode, v *jnode) {
	bits := 64
	if n.kind == aInt {
		bits = 32
	}
	var x int64
	switch v.kind {
	case jNumber:
		var reason string
		x, reason = parseInteger(v.s, bits)
		if reason != "" {
			e.fail("%s", reason)
			return
		}
	case jString:
		var ok bool
		x, ok = parseTemporal(n.logical, v.s)
		if !ok {
			e.fail("expected %s, got string %q", describe(n), clip(v.s))
			return
		}
	default:
		e.fail("expected %s, got %s", describe(n), v.kind)
		return
	}
	e.buf = appendLong(e.buf, x)
}

func (e *aencoder) float(n *anode, v *jnode) {
	var f float64
	switch v.kind {
	case jNumber:
		var err error
		if n.kind == aFloat {
			f, err = strconv.ParseFloat(v.s, 32)
		} else {
			f, err = strconv.ParseFloat(v.s, 64)
		}
		if err != nil {
			e.fail("%s is out of range for %s", clip(v.s), n.name)
			return
		}
	case jString:
		switch v.s {
		case "NaN":
			f = math.NaN()
		case "Infinity":
			f = math.Inf(1)
		case "-Infinity":
			f = math.Inf(-1)
		default:
			e.fail("expected number, got string")
			return
		}
	default:
		e.fail("expected number, got %s", v.kind)
		return
	}
	if n.kind == aFloat {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(float32(f)))
	} else {
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
	}
}

func (e *aencoder) base64(v *jnode) ([]byte, bool) {
	if v.kind != jString {
		e.fail("expected base64 string, got %s", v.kind)
		return nil, false
	}
	b, err := decodeBase64(v.s)
	if err != nil {
		e.fail("expected base64 string: %v", err)
		return nil, false
	}
	return b, true
}

func (e *aencoder) decimal(n *anode, v *jnode) {
	if v.kind != jString && v.kind != jNumber {
		e.fail("expected decimal string like \"12.34\", got %s", v.kind)
		return
	}
	unscaled, reason := parseDecimal(v.s, n.precision, n.scale)
	if reason != "" {
		e.fail("%s", reason)
		return
	}
	b := twosComplement(unscaled)
	if n.kind == aBytes {
		e.buf = appendLong(e.buf, int64(len(b)))
		e.buf = append(e.buf, b...)
		return
	}
	if len(b) > n.size {
		e.fail("decimal %s does not fit in fixed(%d)", clip(v.s), n.size)
		return
	}
	pad := byte(0)
	if unscaled.Sign() < 0 {
		pad = 0xff
	}
	for range n.size - len(b) {
		e.buf = append(e.buf, pad)
	}
	e.buf = append(e.buf, b...)
}
