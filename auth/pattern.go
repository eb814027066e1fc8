package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadPattern is returned by [CompilePattern] for a pattern or template
// that is not well formed: empty, an unclosed "{", a stray "}" or an empty
// claim name "{}".
var ErrBadPattern = errors.New("auth: bad pattern")

// Pattern is a compiled topic pattern. Its source syntax is:
//
//   - "*" matches any run of characters, including "." and the empty run;
//   - "{name}" is replaced, at compile time, by the string value of claim
//     name of the same token. The value is inserted LITERALLY: a "*", "{",
//     "}" or any other character in it matches only itself, so a claim can
//     never widen a grant. A claim that is missing or empty makes the whole
//     pattern match nothing;
//   - every other character matches itself.
//
// The zero Pattern matches nothing. A Pattern is immutable and
// [Pattern.Match] does not allocate.
type Pattern struct {
	// parts are the literal runs between wildcards: a pattern with n stars
	// has n+1 parts. nil means the pattern matches nothing.
	parts []string
}

// patternToken is one lexical element of a pattern source.
type patternToken struct {
	kind  tokenKind
	value string // literal text or claim name
}

// tokenKind distinguishes the lexical elements of a pattern.
type tokenKind uint8

const (
	tokLiteral tokenKind = iota
	tokStar
	tokClaim
)

// lexPattern splits src into literals, stars and claim references.
func lexPattern(src string) ([]patternToken, error) {
	if src == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadPattern)
	}
	var toks []patternToken
	lit := 0 // start of the pending literal run
	flush := func(end int) {
		if end > lit {
			toks = append(toks, patternToken{kind: tokLiteral, value: src[lit:end]})
		}
	}
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '*':
			flush(i)
			toks = append(toks, patternToken{kind: tokStar})
			lit = i + 1
		case '{':
			flush(i)
			end := strings.IndexAny(src[i+1:], "{}")
			if end < 0 || src[i+1+end] != '}' {
				return nil, fmt.Errorf("%w: unclosed { in %q", ErrBadPattern, src)
			}
			name := src[i+1 : i+1+end]
			if name == "" {
				return nil, fmt.Errorf("%w: empty claim name {} in %q", ErrBadPattern, src)
			}
			toks = append(toks, patternToken{kind: tokClaim, value: name})
			i += end + 1
			lit = i + 1
		case '}':
			return nil, fmt.Errorf("%w: stray } in %q", ErrBadPattern, src)
		}
	}
	flush(len(src))
	return toks, nil
}

// CompilePattern parses src and substitutes its {claim} references using
// claim, which returns a claim's string value and whether it exists. It
// returns [ErrBadPattern] for malformed syntax. A reference to a missing
// or empty claim is not an error: the result matches nothing.
func CompilePattern(src string, claim func(name string) (string, bool)) (Pattern, error) {
	return compilePattern(src, claim, false)
}

// compilePattern is [CompilePattern]; with missingAsStar a missing claim is
// replaced by "*" instead of making the pattern match nothing. That
// over-approximation is used only for deny rules.
func compilePattern(src string, claim func(string) (string, bool), missingAsStar bool) (Pattern, error) {
	toks, err := lexPattern(src)
	if err != nil {
		return Pattern{}, err
	}
	parts := make([]string, 0, 2)
	var cur strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tokLiteral:
			cur.WriteString(t.value)
		case tokStar:
			parts = append(parts, cur.String())
			cur.Reset()
		case tokClaim:
			v, ok := lookupClaim(claim, t.value)
			switch {
			case ok:
				cur.WriteString(v)
			case missingAsStar:
				parts = append(parts, cur.String())
				cur.Reset()
			default:
				return Pattern{}, nil
			}
		}
	}
	parts = append(parts, cur.String())
	return Pattern{parts: parts}, nil
}

// lookupClaim calls claim, treating a nil func and empty values as missing.
func lookupClaim(claim func(string) (string, bool), name string) (string, bool) {
	if claim == nil {
		return "", false
	}
	v, ok := claim(name)
	return v, ok && v != ""
}

// Match reports whether topic matches the pattern. It does not allocate.
func (p Pattern) Match(topic string) bool {
	n := len(p.parts)
	switch n {
	case 0:
		return false
	case 1:
		return topic == p.parts[0]
	}
	first, last := p.parts[0], p.parts[n-1]
	if len(topic) < len(first)+len(last) ||
		!strings.HasPrefix(topic, first) || !strings.HasSuffix(topic, last) {
		return false
	}
	// Leftmost matching of each middle literal is optimal for "*"-only
	// globs: it leaves the longest remainder for the rest.
	mid := topic[len(first) : len(topic)-len(last)]
	for _, part := range p.parts[1 : n-1] {
		i := strings.Index(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}

// MatchesNothing reports whether the pattern can match no topic at all
// (the zero Pattern, or one that referenced a missing claim).
func (p Pattern) MatchesNothing() bool { return p.parts == nil }

// IsLiteral reports whether the pattern has no wildcard, i.e. matches
// exactly one topic (see [Pattern.Literal]).
func (p Pattern) IsLiteral() bool { return len(p.parts) == 1 }

// Literal returns the single topic a literal pattern matches, and false
// for patterns with a wildcard or that match nothing.
func (p Pattern) Literal() (string, bool) {
	if len(p.parts) != 1 {
		return "", false
	}
	return p.parts[0], true
}

// String renders the compiled pattern with "*" for wildcards. Claim values
// are shown as substituted, so a literal "*" from a claim is
// indistinguishable in the output; use it for logs and debugging only.
func (p Pattern) String() string {
	if p.parts == nil {
		return "<nothing>"
	}
	return strings.Join(p.parts, "*")
}

// ExpandTemplate substitutes the {claim} references in tpl, e.g. for route
// templates such as "user.{sub}.events". Claim values are inserted
// literally. It returns false when tpl is malformed, contains "*" (a
// template names one topic or key, never a set), or references a claim
// that is missing or empty.
func ExpandTemplate(tpl string, claim func(name string) (string, bool)) (string, bool) {
	toks, err := lexPattern(tpl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tokLiteral:
			b.WriteString(t.value)
		case tokStar:
			return "", false
		case tokClaim:
			v, ok := lookupClaim(claim, t.value)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		}
	}
	return b.String(), true
}
