package registry

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Scalar conversions of the JSON → Avro mapping (see docs/schemas.md).

// describe names the JSON shape a node expects, for error messages.
func describe(n *anode) string {
	switch n.logical {
	case lDate:
		return "integer days since 1970-01-01 or a \"YYYY-MM-DD\" string"
	case lTimeMillis, lTimeMicros:
		return "integer time of day or an \"HH:MM:SS[.fff]\" string"
	case lTimestampMillis, lTimestampMicros, lLocalTimestampMillis, lLocalTimestampMicros:
		return "integer timestamp or an RFC 3339 string"
	}
	if n.kind == aInt {
		return "integer (int)"
	}
	return "integer (long)"
}

// parseInteger parses a JSON number literal as an integer of the given bit
// size. Integral values written with a fraction or exponent (12.0, 1e3) are
// accepted. It returns a reason when the literal does not fit.
func parseInteger(s string, bits int) (int64, string) {
	x, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		switch {
		case ferr != nil && !isRangeErr(ferr), f != math.Trunc(f):
			return 0, fmt.Sprintf("expected integer, got %s", clip(s))
		case f < -(1<<63) || f >= 1<<63 || isRangeErr(ferr):
			return 0, fmt.Sprintf("%s is out of range for long", clip(s))
		}
		x = int64(f)
	}
	if bits == 32 && (x < math.MinInt32 || x > math.MaxInt32) {
		return 0, fmt.Sprintf("%s is out of range for int", clip(s))
	}
	return x, ""
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseTemporal parses the string forms accepted for temporal logical types.
func parseTemporal(l alogical, s string) (int64, bool) {
	switch l {
	case lDate:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, false
		}
		return t.Unix() / 86400, true
	case lTimeMillis, lTimeMicros:
		t, err := time.Parse("15:04:05.999999999", s)
		if err != nil {
			return 0, false
		}
		d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
			time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
		if l == lTimeMillis {
			return d.Milliseconds(), true
		}
		return d.Microseconds(), true
	case lTimestampMillis, lTimestampMicros, lLocalTimestampMillis, lLocalTimestampMicros:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil && (l == lLocalTimestampMillis || l == lLocalTimestampMicros) {
			t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
		}
		if err != nil {
			return 0, false
		}
		if l == lTimestampMillis || l == lLocalTimestampMillis {
			return t.UnixMilli(), true
		}
		return t.UnixMicro(), true
	}
	return 0, false
}

// decodeBase64 accepts standard base64 (RFC 4648 §4) with or without padding.
func decodeBase64(s string) ([]byte, error) {
	if len(s)%4 == 0 {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

var bigTen = big.NewInt(10)

// parseDecimal turns "12.34" (or 1.2e1) into the unscaled integer for scale,
// rejecting values with more fractional digits than scale (no rounding) or
// more digits than precision.
func parseDecimal(s string, precision, scale int) (*big.Int, string) {
	if len(s) > 400 {
		return nil, "decimal literal too long"
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/xXpP_") {
		return nil, fmt.Sprintf("expected decimal string like \"12.34\", got %q", clip(s))
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(bigTen, big.NewInt(int64(scale)), nil)))
	if !r.IsInt() {
		return nil, fmt.Sprintf("%s has more than %d fractional digits", clip(s), scale)
	}
	i := new(big.Int).Set(r.Num())
	if digits := len(new(big.Int).Abs(i).String()); precision > 0 && digits > precision && i.Sign() != 0 {
		return nil, fmt.Sprintf("%s has %d digits, more than precision %d", clip(s), digits, precision)
	}
	return i, ""
}

// twosComplement returns the minimal big-endian two's-complement form of i,
// as Java's BigInteger.toByteArray (and so Confluent's serializers) write it.
func twosComplement(i *big.Int) []byte {
	switch i.Sign() {
	case 0:
		return []byte{0}
	case 1:
		b := i.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	t := new(big.Int).Neg(i)
	t.Sub(t, big.NewInt(1)) // -i-1 >= 0
	k := t.BitLen()/8 + 1
	v := new(big.Int).Lsh(big.NewInt(1), uint(8*k))
	v.Add(v, i)
	b := v.Bytes()
	out := make([]byte, k)
	copy(out[k-len(b):], b)
	return out
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			return false
		}
	}
	return true
}

// clip shortens user-supplied text quoted in error messages.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
