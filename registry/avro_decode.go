package registry

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/sluicehq/sluice/internal/jsontext"
	"math"
	"math/big"
	"strconv"
)

// maxZeroSizeItems bounds the items of one array or map whose item type has
// an empty encoding (null, empty record): the count is not bounded by the
// input length, so hostile input could otherwise ask for billions.
const maxZeroSizeItems = 65536

var errShort = errors.New("unexpected end of data")

// adecoder turns Avro binary into natural JSON. Not safe for concurrent use.
type adecoder struct {
	data []byte
	pos  int
	out  []byte
}

func (d *adecoder) errf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

// decodeAll decodes exactly one value of n from data and appends its JSON to
// out; trailing bytes are an error.
func decodeAvro(n *anode, data, out []byte) ([]byte, error) {
	d := adecoder{data: data, out: out}
	if err := d.decode(n, 0); err != nil {
		return d.out, err
	}
	if d.pos != len(d.data) {
		return d.out, d.errf("%d trailing bytes after the record", len(d.data)-d.pos)
	}
	return d.out, nil
}

func (d *adecoder) long() (int64, error) {
	var u uint64
	for shift := uint(0); shift < 70; shift += 7 {
		if d.pos >= len(d.data) {
			return 0, d.errf("%v", errShort)
		}
		c := d.data[d.pos]
		d.pos++
		if shift == 63 && c > 1 {
			return 0, d.errf("varint overflows 64 bits")
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, d.errf("varint overflows 64 bits")
}

func (d *adecoder) int() (int64, error) {
	v, err := d.long()
	if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
		return 0, d.errf("int %d out of range", v)
	}
	return v, err
}

func (d *adecoder) bytes() ([]byte, error) {
	l, err := d.long()
	if err != nil {
		return nil, err
	}
	if l < 0 || l > int64(len(d.data)-d.pos) {
		return nil, d.errf("length %d exceeds the %d remaining bytes", l, len(d.data)-d.pos)
	}
	b := d.data[d.pos : d.pos+int(l)]
	d.pos += int(l)
	return b, nil
}

func (d *adecoder) fixed(n int) ([]byte, error) {
	if n > len(d.data)-d.pos {
		return nil, d.errf("%v", errShort)
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// blockCount reads an array or map block header and bounds the count.
func (d *adecoder) blockCount(items *anode, seen int64) (int64, error) {
	c, err := d.long()
	if err != nil {
		return 0, err
	}
	if c < 0 {
		if c == math.MinInt64 {
			return 0, d.errf("invalid block count")
		}
		c = -c
		if size, err := d.long(); err != nil {
			return 0, err
		} else if size < 0 {
			return 0, d.errf("negative block size")
		}
	}
	if min := int64(items.minSize); min > 0 {
		if c > int64(len(d.data)-d.pos)/min {
			return 0, d.errf("block of %d items exceeds the remaining data", c)
		}
	} else if c+seen > maxZeroSizeItems {
		return 0, d.errf("more than %d empty items", maxZeroSizeItems)
	}
	return c, nil
}

func (d *adecoder) decode(n *anode, depth int) error {
	if depth > maxDepth {
		return d.errf("nested deeper than %d levels", maxDepth)
	}
	switch n.kind {
	case aNull:
		d.out = append(d.out, "null"...)
	case aBoolean:
		b, err := d.fixed(1)
		if err != nil {
			return err
		}
		switch b[0] {
		case 0:
			d.out = append(d.out, "false"...)
		case 1:
			d.out = append(d.out, "true"...)
		default:
			return d.errf("invalid boolean byte %d", b[0])
		}
	case aInt:
		v, err := d.int()
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, v, 10)
	case aLong:
		v, err := d.long()
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, v, 10)
	case aFloat:
		b, err := d.fixed(4)
		if err != nil {
			return err
		}
		d.out = appendJSONFloat(d.out, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32)
	case aDouble:
		b, err := d.fixed(8)
		if err != nil {
			return err
		}
		d.out = appendJSONFloat(d.out, math.Float64frombits(binary.LittleEndian.Uint64(b)), 64)
	case aString:
		b, err := d.bytes()
		if err != nil {
			return err
		}
		d.out = jsontext.AppendString(d.out, b)
	case aBytes, aFixed:
		var b []byte
		var err error
		if n.kind == aBytes {
			b, err = d.bytes()
		} else {
			b, err = d.fixed(n.size)
		}
		if err != nil {
			return err
		}
		if n.logical == lDecimal {
			d.out = appendDecimal(d.out, b, n.scale)
			return nil
		}
		d.out = append(d.out, '"')
		d.out = base64.StdEncoding.AppendEncode(d.out, b)
		d.out = append(d.out, '"')
	case aEnum:
		i, err := d.int()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			return d.errf("enum index %d out of range for %s", i, n.name)
		}
		d.out = append(d.out, n.symbolJSON[i]...)
	case aUnion:
		i, err := d.int()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return d.errf("union index %d out of range for %s", i, n.typeName())
		}
		return d.decode(n.branches[i], depth+1)
	case aRecord:
		d.out = append(d.out, '{')
		for i := range n.fields {
			if i > 0 {
				d.out = append(d.out, ',')
			}
			d.out = append(d.out, n.fields[i].keyJSON...)
			if err := d.decode(n.fields[i].node, depth+1); err != nil {
				return err
			}
		}
		d.out = append(d.out, '}')
	case aArray, aMap:
		return d.container(n, depth)
	}
	return nil
}

func (d *adecoder) container(n *anode, depth int) error {
	open, closing := byte('['), byte(']')
	if n.kind == aMap {
		open, closing = '{', '}'
	}
	d.out = append(d.out, open)
	var seen int64
	for {
		c, err := d.blockCount(n.items, seen)
		if err != nil {
			return err
		}
		if c == 0 {
			break
		}
		for range c {
			if seen > 0 {
				d.out = append(d.out, ',')
			}
			seen++
			if n.kind == aMap {
				k, err := d.bytes()
				if err != nil {
					return err
				}
				d.out = jsontext.AppendString(d.out, k)
				d.out = append(d.out, ':')
			}
			if err := d.decode(n.items, depth+1); err != nil {
				return err
			}
		}
	}
	d.out = append(d.out, closing)
	return nil
}

// appendDecimal writes the two's-complement unscaled value b as a JSON
// string with scale fractional digits ("12.34", "-0.50", "7").
func appendDecimal(out, b []byte, scale int) []byte {
	i := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		i.Sub(i, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	s := i.String()
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out = append(out, '"')
	if neg {
		out = append(out, '-')
	}
	if scale <= 0 {
		out = append(out, s...)
		return append(out, '"')
	}
	for len(s) <= scale {
		s = "0" + s
	}
	out = append(out, s[:len(s)-scale]...)
	out = append(out, '.')
	out = append(out, s[len(s)-scale:]...)
	return append(out, '"')
}

// appendJSONFloat writes f the way encoding/json does; NaN and infinities,
// which JSON cannot express, become the strings "NaN", "Infinity", "-Infinity".
func appendJSONFloat(out []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(out, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(out, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(out, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	out = strconv.AppendFloat(out, f, format, -1, bits)
	if format == 'e' {
		n := len(out)
		if n >= 4 && out[n-4] == 'e' && out[n-3] == '-' && out[n-2] == '0' {
			out[n-2] = out[n-1]
			out = out[:n-1]
		}
	}
	return out
}
