package registry

import (
	"fmt"
	"github.com/sluicehq/sluice/internal/jsontext"
	"strings"

	"github.com/hamba/avro/v2"
)

// akind is the Avro type of an anode.
type akind uint8

const (
	aNull akind = iota
	aBoolean
	aInt
	aLong
	aFloat
	aDouble
	aBytes
	aString
	aRecord
	aEnum
	aArray
	aMap
	aUnion
	aFixed
)

// alogical is the logical type of an anode, if any.
type alogical uint8

const (
	lNone alogical = iota
	lDecimal
	lUUID
	lDate
	lTimeMillis
	lTimeMicros
	lTimestampMillis
	lTimestampMicros
	lLocalTimestampMillis
	lLocalTimestampMicros
)

// logicalOn maps each logical type (but decimal, which carries parameters)
// to the underlying type it annotates and the node's logical kind. A logical
// type on any other underlying type is ignored, as the Avro spec says.
var logicalOn = map[avro.LogicalType]struct {
	kind    akind
	logical alogical
}{
	avro.UUID:                 {aString, lUUID},
	avro.Date:                 {aInt, lDate},
	avro.TimeMillis:           {aInt, lTimeMillis},
	avro.TimeMicros:           {aLong, lTimeMicros},
	avro.TimestampMillis:      {aLong, lTimestampMillis},
	avro.TimestampMicros:      {aLong, lTimestampMicros},
	avro.LocalTimestampMillis: {aLong, lLocalTimestampMillis},
	avro.LocalTimestampMicros: {aLong, lLocalTimestampMicros},
}

// anode is a compiled Avro schema node: the hamba schema flattened into what
// the encoder and decoder need, with every lookup table precomputed. Nodes of
// named types are shared, so recursive schemas form cycles. Immutable after
// compileAvro returns.
type anode struct {
	kind    akind
	logical alogical
	name    string // full name of named types, type name otherwise; used for union branches
	short   string // unqualified name of named types

	// decimal
	precision, scale int
	// fixed
	size int

	// record
	fields     []afield
	fieldIndex map[string]int

	// enum
	symbols     []string
	symbolIndex map[string]int
	symbolJSON  [][]byte // symbols as JSON strings, for the decoder

	// array items / map values
	items *anode

	// union
	branches []*anode
	nullIdx  int // index of the null branch, -1 if none

	// minSize is the smallest possible encoding in bytes (0 for null, empty
	// records); used to bound block counts when decoding.
	minSize int
}

// afield is one record field.
type afield struct {
	name       string
	node       *anode
	hasDefault bool
	defBytes   []byte // Avro encoding of the default
	nullable   bool   // union containing null: a missing field encodes null
	keyJSON    []byte // `"name":`, precomputed for the decoder
}

// typeName is how errors and union wrapping name a node.
func (n *anode) typeName() string {
	if n.kind == aUnion {
		parts := make([]string, len(n.branches))
		for i, b := range n.branches {
			parts[i] = b.typeName()
		}
		return "union[" + strings.Join(parts, ",") + "]"
	}
	return n.name
}

// avroCompiler turns a parsed hamba schema into anodes.
type avroCompiler struct {
	named map[string]*anode
	api   avro.API // encodes defaults with positive block counts, like Java
}

// compileAvro parses schema text with hamba/avro and compiles it.
func compileAvro(text string) (avro.Schema, *anode, error) {
	s, err := avro.ParseBytesWithCache([]byte(text), "", &avro.SchemaCache{})
	if err != nil {
		return nil, nil, fmt.Errorf("parsing avro schema: %w", err)
	}
	c := &avroCompiler{named: map[string]*anode{}}
	c.api = avro.Config{DisableBlockSizeHeader: true}.Freeze()
	n, err := c.node(s, 0)
	if err != nil {
		return nil, nil, err
	}
	return s, n, nil
}

func (c *avroCompiler) node(s avro.Schema, depth int) (*anode, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("avro schema nested deeper than %d", maxDepth)
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		if n, ok := c.named[s.Schema().FullName()]; ok {
			return n, nil
		}
		return c.node(s.Schema(), depth+1)
	case *avro.PrimitiveSchema:
		return c.primitive(s)
	case *avro.RecordSchema:
		if n, ok := c.named[s.FullName()]; ok {
			return n, nil
		}
		n := &anode{kind: aRecord, name: s.FullName(), short: s.Name(), fieldIndex: map[string]int{}}
		c.named[s.FullName()] = n
		for i, f := range s.Fields() {
			fn, err := c.node(f.Type(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			af := afield{name: f.Name(), node: fn, nullable: fn.kind == aUnion && fn.nullIdx >= 0,
				keyJSON: append(jsontext.AppendString(nil, f.Name()), ':')}
			if f.HasDefault() {
				b, err := encodeDefault(c.api, f)
				if err != nil {
					return nil, fmt.Errorf("field %s: encoding default: %w", f.Name(), err)
				}
				af.hasDefault, af.defBytes = true, b
			}
			n.fields = append(n.fields, af)
			n.fieldIndex[f.Name()] = i
			n.minSize += fn.minSize
		}
		return n, nil
	case *avro.EnumSchema:
		if n, ok := c.named[s.FullName()]; ok {
			return n, nil
		}
		n := &anode{kind: aEnum, name: s.FullName(), short: s.Name(), symbols: s.Symbols(),
			symbolIndex: make(map[string]int, len(s.Symbols())), minSize: 1}
		for i, sym := range s.Symbols() {
			n.symbolIndex[sym] = i
			n.symbolJSON = append(n.symbolJSON, jsontext.AppendString(nil, sym))
		}
		c.named[s.FullName()] = n
		return n, nil
	case *avro.FixedSchema:
		if n, ok := c.named[s.FullName()]; ok {
			return n, nil
		}
		n := &anode{kind: aFixed, name: s.FullName(), short: s.Name(), size: s.Size(), minSize: s.Size()}
		if d, ok := s.Logical().(*avro.DecimalLogicalSchema); ok {
			n.logical, n.precision, n.scale = lDecimal, d.Precision(), d.Scale()
		}
		c.named[s.FullName()] = n
		return n, nil
	case *avro.ArraySchema:
		items, err := c.node(s.Items(), depth+1)
		if err != nil {
			return nil, err
		}
		return &anode{kind: aArray, name: "array", items: items, minSize: 1}, nil
	case *avro.MapSchema:
		vals, err := c.node(s.Values(), depth+1)
		if err != nil {
			return nil, err
		}
		return &anode{kind: aMap, name: "map", items: vals, minSize: 1}, nil
	case *avro.UnionSchema:
		n := &anode{kind: aUnion, name: "union", nullIdx: -1, minSize: 1}
		for i, b := range s.Types() {
			bn, err := c.node(b, depth+1)
			if err != nil {
				return nil, err
			}
			if bn.kind == aNull {
				n.nullIdx = i
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case *avro.NullSchema:
		return &anode{kind: aNull, name: "null"}, nil
	default:
		return nil, fmt.Errorf("%w: avro type %s", ErrUnsupportedSchema, s.Type())
	}
}

func (c *avroCompiler) primitive(s *avro.PrimitiveSchema) (*anode, error) {
	n := &anode{name: string(s.Type()), minSize: 1}
	switch s.Type() {
	case avro.Null:
		n.kind, n.minSize = aNull, 0
	case avro.Boolean:
		n.kind = aBoolean
	case avro.Int:
		n.kind = aInt
	case avro.Long:
		n.kind = aLong
	case avro.Float:
		n.kind, n.minSize = aFloat, 4
	case avro.Double:
		n.kind, n.minSize = aDouble, 8
	case avro.Bytes:
		n.kind = aBytes
	case avro.String:
		n.kind = aString
	default:
		return nil, fmt.Errorf("%w: avro type %s", ErrUnsupportedSchema, s.Type())
	}
	if l := s.Logical(); l != nil {
		switch l.Type() {
		case avro.Decimal:
			if d, ok := l.(*avro.DecimalLogicalSchema); ok && n.kind == aBytes {
				n.logical, n.precision, n.scale = lDecimal, d.Precision(), d.Scale()
			}
		default:
			if m, ok := logicalOn[l.Type()]; ok && n.kind == m.kind {
				n.logical = m.logical
			}
		}
	}
	return n, nil
}

// encodeDefault returns the Avro binary encoding of a field's default. For a
// union the default belongs to the first branch (Avro specification), so the
// encoding is branch index 0 followed by the branch value.
func encodeDefault(api avro.API, f *avro.Field) ([]byte, error) {
	typ := f.Type()
	if u, ok := typ.(*avro.UnionSchema); ok {
		b, err := api.Marshal(u.Types()[0], f.Default())
		if err != nil {
			return nil, err
		}
		return append([]byte{0}, b...), nil
	}
	return api.Marshal(typ, f.Default())
}
