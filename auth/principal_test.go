package auth

import (
	"bytes"
	"encoding/json"
	"testing"
)

// principalFrom builds a principal from a JSON claim set, decoded the way
// the parser decodes it.
func principalFrom(t testing.TB, claimsJSON string) (*Principal, error) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewBufferString(claimsJSON))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		t.Fatalf("claims JSON: %v", err)
	}
	return buildPrincipal(claims, DefaultClaim)
}

func TestPrincipalPermissions(t *testing.T) {
	type check struct {
		topic     string
		subscribe bool
		publish   bool
		key       string // expected key restriction; "" none
	}
	tests := []struct {
		name    string
		claims  string
		nothing bool
		checks  []check
	}{
		{
			name:   "claim object",
			claims: `{"sub":"alice","sluice":{"subscribe":["orders.*","user.{sub}.events"],"publish":["chat.*"]}}`,
			checks: []check{
				{topic: "orders.eu", subscribe: true},
				{topic: "user.alice.events", subscribe: true},
				{topic: "user.bob.events"},
				{topic: "chat.lobby", publish: true},
				{topic: "payments"},
			},
		},
		{
			name:    "nothing granted",
			claims:  `{"sub":"alice"}`,
			nothing: true,
			checks:  []check{{topic: "orders"}, {topic: ""}},
		},
		{
			name:    "only patterns over missing claims",
			claims:  `{"sluice":{"subscribe":["user.{sub}.events"]}}`,
			nothing: true,
			checks:  []check{{topic: "user..events"}, {topic: "user.{sub}.events"}},
		},
		{
			name:   "hostile subject never widens",
			claims: `{"sub":"*","sluice":{"subscribe":["user.{sub}.events"],"publish":["inbox.{sub}"]}}`,
			checks: []check{
				{topic: "user.*.events", subscribe: true},
				{topic: "user.bob.events"},
				{topic: "inbox.*", publish: true},
				{topic: "inbox.bob"},
			},
		},
		{
			name:   "subject with dots and braces is literal",
			claims: `{"sub":"a.{tenant}.*","tenant":"x","sluice":{"subscribe":["u.{sub}"]}}`,
			checks: []check{
				{topic: "u.a.{tenant}.*", subscribe: true},
				{topic: "u.a.x.y"},
				{topic: "u.a.x.*"},
			},
		},
		{
			name:   "scope string",
			claims: `{"sub":"bob","scope":"openid profile sluice:subscribe:orders.* sluice:publish:chat.{sub} other:publish:x sluice:admin:y"}`,
			checks: []check{
				{topic: "orders.us", subscribe: true},
				{topic: "chat.bob", publish: true},
				{topic: "chat.alice"},
				{topic: "x"},
			},
		},
		{
			name:   "scp array",
			claims: `{"scp":["sluice:subscribe:a.*","sluice:publish:b"]}`,
			checks: []check{{topic: "a.1", subscribe: true}, {topic: "b", publish: true}},
		},
		{
			name:   "scope and claim combine",
			claims: `{"scope":"sluice:subscribe:a","sluice":{"subscribe":["b"]}}`,
			checks: []check{{topic: "a", subscribe: true}, {topic: "b", subscribe: true}},
		},
		{
			name:   "key rule",
			claims: `{"sub":"alice","sluice":{"subscribe":["user.events","orders.*"],"keys":{"user.events":"{sub}","orders.eu":"eu-{sub}"}}}`,
			checks: []check{
				{topic: "user.events", subscribe: true, key: "alice"},
				{topic: "orders.eu", subscribe: true, key: "eu-alice"},
				{topic: "orders.us", subscribe: true},
			},
		},
		{
			name:   "key rule over a missing claim denies",
			claims: `{"sluice":{"subscribe":["user.*","t.*"],"keys":{"user.events":"{sub}","t.{tenant}.*":"k"}}}`,
			checks: []check{
				{topic: "user.events"},
				{topic: "user.other", subscribe: true},
				{topic: "t.a.b"},
				{topic: "t.a", subscribe: true},
			},
		},
		{
			name:   "conflicting key rules deny",
			claims: `{"sub":"alice","sluice":{"subscribe":["*"],"keys":{"user.*":"{sub}","*.events":"other"}}}`,
			checks: []check{
				{topic: "user.events"},
				{topic: "user.x", subscribe: true, key: "alice"},
				{topic: "x.events", subscribe: true, key: "other"},
			},
		},
		{
			name:   "key rule with a hostile key claim stays exact",
			claims: `{"sub":"*","sluice":{"subscribe":["user.events"],"keys":{"user.events":"{sub}"}}}`,
			checks: []check{{topic: "user.events", subscribe: true, key: "*"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := principalFrom(t, tt.claims)
			if err != nil {
				t.Fatalf("buildPrincipal: %v", err)
			}
			if p.GrantsNothing() != tt.nothing {
				t.Errorf("GrantsNothing() = %v", p.GrantsNothing())
			}
			for _, c := range tt.checks {
				if got := p.CanSubscribe(c.topic); got != c.subscribe {
					t.Errorf("CanSubscribe(%q) = %v", c.topic, got)
				}
				if got := p.CanPublish(c.topic); got != c.publish {
					t.Errorf("CanPublish(%q) = %v", c.topic, got)
				}
				if !c.subscribe {
					continue
				}
				key, restricted := p.KeyRestriction(c.topic)
				if key != c.key || restricted != (c.key != "") {
					t.Errorf("KeyRestriction(%q) = %q, %v; want %q", c.topic, key, restricted, c.key)
				}
			}
		})
	}
}

func TestPrincipalBadClaims(t *testing.T) {
	for _, claims := range []string{
		`{"sluice":[]}`,
		`{"sluice":{"subscribe":"orders.*"}}`,
		`{"sluice":{"publish":[null]}}`,
		`{"sluice":{"keys":[]}}`,
		`{"sluice":{"keys":{"a":1}}}`,
		`{"sluice":{"keys":{"a":"k*"}}}`,
		`{"sluice":{"keys":{"a":""}}}`,
		`{"sluice":{"keys":{"a{":"k"}}}`,
		`{"sluice":{"subscribe":["}"]}}`,
		`{"scope":"sluice:subscribe:a{"}`,
		`{"scope":{"a":1}}`,
		`{"scp":[1]}`,
	} {
		t.Run(claims, func(t *testing.T) {
			if _, err := principalFrom(t, claims); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestPrincipalClaims(t *testing.T) {
	p, err := principalFrom(t, `{"sub":"alice","uid":42,"big":123456789012345678901234,"ratio":1.5,"exp_f":1e3,"admin":true,"groups":["a"],"exp":1700000000}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want string
		ok   bool
	}{
		{"sub", "alice", true},
		{"uid", "42", true},
		{"big", "123456789012345678901234", true},
		{"ratio", "1.5", true},
		{"exp_f", "1000", true},
		{"exp", "1700000000", true},
		{"admin", "", false},
		{"groups", "", false},
		{"missing", "", false},
	}
	for _, tt := range tests {
		got, ok := p.Claim(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Claim(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if p.ExpiresAt().Unix() != 1700000000 {
		t.Errorf("ExpiresAt = %v", p.ExpiresAt())
	}
	if tpl, ok := ExpandTemplate("user.{uid}.events", p.Claim); !ok || tpl != "user.42.events" {
		t.Errorf("ExpandTemplate with a number claim = %q, %v", tpl, ok)
	}
}

func TestNilPrincipalGrantsNothing(t *testing.T) {
	var p *Principal
	if p.CanSubscribe("a") || p.CanPublish("a") || !p.GrantsNothing() || p.IsAllowAll() || p.Subject() != "" || !p.ExpiresAt().IsZero() {
		t.Fatal("nil principal grants something")
	}
	if _, restricted := p.KeyRestriction("a"); !restricted {
		t.Fatal("nil principal is not key-restricted")
	}
	if _, ok := p.Claim("sub"); ok {
		t.Fatal("nil principal has claims")
	}
}
