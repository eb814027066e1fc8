// Package jsontext holds the JSON text routines the hot paths of bridge and
// registry share: finding the end of a run of plain string bytes eight
// bytes at a time, and quoting a string. It does no I/O and keeps no state;
// everything in it is safe for concurrent use.
package jsontext

import "unicode/utf8"

// specialBytes is non-zero when any of the eight bytes of v is not a plain
// string byte: below 0x20, '"', '\\' or non-ASCII (the SWAR tests of "Bit
// Twiddling Hacks": a byte is zero, or less than n).
func specialBytes(v uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := v ^ (lo * '"')
	bs := v ^ (lo * '\\')
	return ((v-lo*0x20)&^v | (q-lo)&^q | (bs-lo)&^bs | v) & hi
}

// SkipPlain returns the index of the first byte at or after i that may not
// be a plain string byte, testing sixteen and then eight bytes at a time.
// Up to seven plain bytes before that index may be left for the caller's
// byte-by-byte loop, which must classify d[i] itself.
func SkipPlain[S ~string | ~[]byte](d S, i int) int {
	for ; i+16 <= len(d); i += 16 {
		a := le64(d[i : i+8])
		b := le64(d[i+8 : i+16])
		if specialBytes(a)|specialBytes(b) != 0 {
			break
		}
	}
	for ; i+8 <= len(d); i += 8 {
		if specialBytes(le64(d[i:i+8])) != 0 {
			break
		}
	}
	return i
}

// le64 reads eight bytes little-endian (binary.LittleEndian.Uint64, for a
// string or a slice); it compiles to one load.
func le64[S ~string | ~[]byte](b S) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// and U+2028 and U+2029 are escaped so the output is also valid
// JavaScript.
func AppendString[S ~string | ~[]byte](buf []byte, s S) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if j := SkipPlain(s, i); j > i {
			i = j
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// decodeRune is utf8.DecodeRune for strings and byte slices alike.
func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.DecodeRuneInString(string(s))
}
