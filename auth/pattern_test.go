package auth

import (
	"errors"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	claims := claimsOf(map[string]string{
		"sub":    "alice",
		"star":   "*",
		"dotted": "a.b",
		"brace":  "{sub}",
		"tenant": "acme",
		"empty":  "",
	})
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"orders", []string{"orders"}, []string{"orders.eu", "order", "", "Orders"}},
		{"orders.*", []string{"orders.", "orders.eu", "orders.eu.west"}, []string{"orders", "ordersx", "x.orders.eu"}},
		{"*", []string{"", "a", "a.b.c"}, nil},
		{"*.events", []string{"user.events", ".events", "a.b.events"}, []string{"events", "user.event"}},
		{"a*b*c", []string{"abc", "a.b.c", "aXbYbZc", "abbc"}, []string{"ab", "acb", "abcx"}},
		{"a**b", []string{"ab", "axxb"}, []string{"a"}},
		{"aba*aba", []string{"abaaba", "ababa.aba"}, []string{"aba", "ababa"}},
		{"user.{sub}.events", []string{"user.alice.events"}, []string{"user.bob.events", "user.*.events", "user.{sub}.events"}},
		{"user.{sub}.*", []string{"user.alice.x", "user.alice."}, []string{"user.alicex.y", "user.bob.x"}},
		{"{tenant}-{sub}", []string{"acme-alice"}, []string{"acme-bob"}},
		// Claim values are literal: they never widen the grant.
		{"user.{star}.events", []string{"user.*.events"}, []string{"user.alice.events", "user..events"}},
		{"user.{star}", []string{"user.*"}, []string{"user.alice", "user."}},
		{"{dotted}.x", []string{"a.b.x"}, []string{"aXb.x", "a.c.x"}},
		{"user.{brace}", []string{"user.{sub}"}, []string{"user.alice"}},
		// Missing or empty claims match nothing.
		{"user.{missing}.events", nil, []string{"user..events", "user.{missing}.events", "user.alice.events"}},
		{"user.{empty}.*", nil, []string{"user..x", "user.x"}},
		{"*{missing}", nil, []string{"", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := CompilePattern(tt.pattern, claims)
			if err != nil {
				t.Fatalf("CompilePattern: %v", err)
			}
			for _, topic := range tt.match {
				if !p.Match(topic) {
					t.Errorf("%q (%s) does not match %q", tt.pattern, p, topic)
				}
			}
			for _, topic := range tt.noMatch {
				if p.Match(topic) {
					t.Errorf("%q (%s) matches %q", tt.pattern, p, topic)
				}
			}
		})
	}
}

func TestCompilePatternErrors(t *testing.T) {
	for _, src := range []string{"", "a.{", "a.{sub", "a.}", "{}", "a.{b{c}}", "x}{"} {
		t.Run(src, func(t *testing.T) {
			if _, err := CompilePattern(src, nil); !errors.Is(err, ErrBadPattern) {
				t.Fatalf("error %v, want ErrBadPattern", err)
			}
			if _, ok := ExpandTemplate(src, nil); ok {
				t.Fatal("ExpandTemplate accepted it")
			}
		})
	}
	var zero Pattern
	if zero.Match("") || zero.Match("x") || !zero.MatchesNothing() {
		t.Fatal("zero Pattern matches")
	}
}

func TestPatternLiteral(t *testing.T) {
	tests := []struct {
		src     string
		literal string
		ok      bool
	}{
		{"user.{sub}.events", "user.alice.events", true},
		{"orders.*", "", false},
		{"user.{missing}", "", false},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.src, claimsOf(map[string]string{"sub": "alice"}))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.Literal()
		if got != tt.literal || ok != tt.ok || p.IsLiteral() != tt.ok {
			t.Errorf("%q: Literal() = %q, %v", tt.src, got, ok)
		}
	}
}

func TestExpandTemplate(t *testing.T) {
	claims := claimsOf(map[string]string{"sub": "alice", "star": "a*b", "brace": "{sub}", "empty": ""})
	tests := []struct {
		tpl  string
		want string
		ok   bool
	}{
		{"user.{sub}.events", "user.alice.events", true},
		{"plain", "plain", true},
		{"{sub}", "alice", true},
		{"x.{star}", "x.a*b", true},
		{"x.{brace}", "x.{sub}", true},
		{"user.{missing}", "", false},
		{"user.{empty}", "", false},
		{"user.*", "", false},
		{"user.{sub", "", false},
	}
	for _, tt := range tests {
		got, ok := ExpandTemplate(tt.tpl, claims)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ExpandTemplate(%q) = %q, %v; want %q, %v", tt.tpl, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPatternMatchDoesNotAllocate(t *testing.T) {
	p, err := CompilePattern("a.*.b*c.{sub}", claimsOf(map[string]string{"sub": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { p.Match("a.foo.bxxc.x") }); n != 0 {
		t.Fatalf("Match allocates %v times", n)
	}
}
