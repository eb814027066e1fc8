package auth

import (
	"strings"
	"testing"
)

// FuzzPatternMatch checks the pattern invariants on arbitrary input. The
// claim "c" holds value; seeds live in testdata/fuzz/FuzzPatternMatch.
func FuzzPatternMatch(f *testing.F) {
	f.Add("orders.*", "alice", "orders.eu")
	f.Add("user.{c}.events", "*", "user.bob.events")
	f.Fuzz(func(t *testing.T, pattern, value, topic string) {
		claim := claimsOf(map[string]string{"c": value})
		p, err := CompilePattern(pattern, claim) // must not panic
		if err != nil {
			return
		}
		got := p.Match(topic)

		// Agreement with a naive reference matcher over the expanded
		// pattern, where the claim value is literal.
		if ref, ok := referenceMatch(pattern, value, topic); ok && got != ref {
			t.Fatalf("Match(%q) = %v, reference %v (pattern %q, c=%q)", topic, got, ref, pattern, value)
		}

		// A pattern without "*" or "{" matches exactly itself.
		if !strings.ContainsAny(pattern, "*{") && got != (topic == pattern) {
			t.Fatalf("literal pattern %q vs %q: Match = %v", pattern, topic, got)
		}

		// A pattern whose only wildcard-free claim use is {c}: it matches
		// exactly the literal substitution, whatever the value holds.
		if !strings.Contains(pattern, "*") && strings.Count(pattern, "{") == 1 && strings.Contains(pattern, "{c}") {
			want := value != "" && topic == strings.Replace(pattern, "{c}", value, 1)
			if got != want {
				t.Fatalf("pattern %q with c=%q vs %q: Match = %v, want %v", pattern, value, topic, got, want)
			}
		}

		// A claim value can never widen a grant: the pattern with the value
		// substituted matches no more than the pattern with a fresh
		// placeholder that no topic contains.
		if got && value != "" && !strings.Contains(topic, value) && strings.Contains(pattern, "{c}") &&
			!strings.Contains(pattern, "*") {
			t.Fatalf("pattern %q matched %q without containing c=%q", pattern, topic, value)
		}

		// ExpandTemplate agrees with a literal pattern.
		if s, ok := ExpandTemplate(pattern, claim); ok {
			lit, err := CompilePattern(pattern, claim)
			if err != nil || !lit.Match(s) {
				t.Fatalf("ExpandTemplate(%q) = %q, not matched by its own pattern", pattern, s)
			}
		}
	})
}

// referenceMatch is a naive backtracking glob matcher: the pattern is
// lexed, {c} replaced by value (literal) and only "*" is special. ok is
// false when the pattern does not lex or references another claim.
func referenceMatch(pattern, value, topic string) (match, ok bool) {
	toks, err := lexPattern(pattern)
	if err != nil {
		return false, false
	}
	// Segments: literal runes, with wildcard marked by isStar.
	type seg struct {
		lit    string
		isStar bool
	}
	var segs []seg
	for _, tk := range toks {
		switch tk.kind {
		case tokLiteral:
			segs = append(segs, seg{lit: tk.value})
		case tokStar:
			segs = append(segs, seg{isStar: true})
		case tokClaim:
			if tk.value != "c" {
				return false, true // missing claim: matches nothing
			}
			if value == "" {
				return false, true
			}
			segs = append(segs, seg{lit: value})
		}
	}
	// Dynamic programming over (segment, topic offset): quadratic, so
	// the fuzzer never stalls on a pathological pattern.
	// reach[j] reports whether the segments so far can consume topic[:j].
	reach := make([]bool, len(topic)+1)
	reach[0] = true
	for _, sg := range segs {
		next := make([]bool, len(topic)+1)
		for j, ok := range reach {
			if !ok {
				continue
			}
			if sg.isStar {
				for k := j; k <= len(topic); k++ {
					next[k] = true
				}
				break
			}
			if strings.HasPrefix(topic[j:], sg.lit) {
				next[j+len(sg.lit)] = true
			}
		}
		reach = next
	}
	return reach[len(topic)], true
}
