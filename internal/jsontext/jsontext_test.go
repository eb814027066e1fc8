package jsontext

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// plainByte is the byte-at-a-time definition SkipPlain and specialBytes must
// agree with.
func plainByte(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }

// TestSpecialBytesMatchesBytes checks the eight-bytes-at-a-time test against
// plainByte, on every byte value in every lane and on random words.
func TestSpecialBytesMatchesBytes(t *testing.T) {
	check := func(w [8]byte) {
		want := true
		for _, c := range w {
			want = want && plainByte(c)
		}
		if got := specialBytes(binary.LittleEndian.Uint64(w[:])) == 0; got != want {
			t.Fatalf("specialBytes(%q) == 0 is %v, want %v", w[:], got, want)
		}
	}
	base := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
	for lane := range 8 {
		for c := range 256 {
			w := base
			w[lane] = byte(c)
			check(w)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		check(w)
		for i := range w { // mostly plain words with one odd byte
			w[i] = byte(0x20 + rng.IntN(0x60))
		}
		w[rng.IntN(8)] = byte(rng.IntN(256))
		check(w)
	}
}

// TestSkipPlain checks that SkipPlain never skips a special byte and stops
// within seven bytes of the first one, at every position and offset.
func TestSkipPlain(t *testing.T) {
	for n := range 70 {
		for at := range n + 1 {
			b := []byte(strings.Repeat("x", n))
			if at < n {
				b[at] = '"'
			}
			for from := 0; from <= n; from++ {
				got := SkipPlain(b, from)
				next := n // the first special byte at or after from
				if at >= from && at < n {
					next = at
				}
				if got < from || got > next || next-got > 7 && len(b)-got >= 8 {
					t.Fatalf("len %d, special at %d, from %d: SkipPlain = %d", n, at, from, got)
				}
				if got2 := SkipPlain(string(b), from); got2 != got {
					t.Fatalf("string and slice disagree: %d, %d", got2, got)
				}
			}
		}
	}
}

// TestAppendString compares AppendString with encoding/json on strings of
// every kind; both must decode to the same value (invalid UTF-8 as U+FFFD).
func TestAppendString(t *testing.T) {
	cases := []string{
		"", "plain", strings.Repeat("long plain text ", 20), `quote " and \ backslash`,
		"tab\tnewline\nreturn\rbell\x07nul\x00", "ünïcödé ✓ 😀", "line\u2028para\u2029",
		"bad \xff utf8 \xc3", strings.Repeat("a", 17) + "\x01" + strings.Repeat("b", 30),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		b := make([]byte, rng.IntN(80))
		for i := range b {
			if rng.IntN(8) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		for _, out := range [][]byte{AppendString(nil, s), AppendString(nil, []byte(s))} {
			var got string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, out, err)
			}
			want := strings.ToValidUTF8(s, "\uFFFD")
			if !utf8.ValidString(s) {
				// encoding/json replaces each invalid byte on its own.
				var w string
				raw, _ := json.Marshal(s)
				_ = json.Unmarshal(raw, &w)
				want = w
			}
			if got != want {
				t.Fatalf("AppendString(%q) decodes to %q, want %q", s, got, want)
			}
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "a key of some length, and then ünïcödé"
	bs := []byte(s)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendString(buf[:0], s)
		buf = AppendString(buf[:0], bs)
	}
}

// BenchmarkSkipPlain1KiB skips the 1 KiB string of sluice-bench's publish
// value, as a []byte (bridge) and as a string.
func BenchmarkSkipPlain1KiB(b *testing.B) {
	d := []byte(strings.Repeat("x", 1024) + `"`)
	s := string(d)
	b.SetBytes(2 * 1024)
	b.ReportAllocs()
	for b.Loop() {
		if SkipPlain(d, 0) < 1017 || SkipPlain(s, 0) < 1017 {
			b.Fatal("stopped early")
		}
	}
}
