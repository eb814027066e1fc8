package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// benchPrincipal is a realistic grant: a dozen patterns, claims substituted.
func benchPrincipal(b *testing.B) *Principal {
	b.Helper()
	p, err := principalFrom(b, `{"sub":"alice","tenant":"acme","sluice":{
		"subscribe":["orders.*","payments.{tenant}.*","user.{sub}.events","audit.*.{tenant}",
			"inventory.eu.*","inventory.us.*","metrics.*.raw","alerts.{tenant}","chat.*.{sub}",
			"catalog.products","catalog.prices","*.public"],
		"publish":["chat.*"],
		"keys":{"user.{sub}.events":"{sub}"}}}`)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkCanSubscribe(b *testing.B) {
	p := benchPrincipal(b)
	cases := []struct {
		name  string
		topic string
		want  bool
	}{
		{"first pattern", "orders.eu.west", true},
		{"claim pattern", "user.alice.events", true},
		{"last pattern", "weather.public", true},
		{"denied", "payments.other.tx", false},
	}
	for _, c := range cases {
		if got := p.CanSubscribe(c.topic); got != c.want {
			b.Fatalf("CanSubscribe(%q) = %v", c.topic, got)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.CanSubscribe(c.topic)
			}
		})
	}
}

func BenchmarkKeyRestriction(b *testing.B) {
	p := benchPrincipal(b)
	b.ReportAllocs()
	for b.Loop() {
		p.KeyRestriction("user.alice.events")
	}
}

func BenchmarkAuthenticateHS256(b *testing.B) {
	g, err := New(b.Context(), Config{Mode: ModeJWT, JWT: JWTConfig{Secret: testSecret}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	token := sign(b, jwt.SigningMethodHS256, []byte(testSecret), "", validClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Authenticate(b.Context(), token); err != nil {
			b.Fatal(err)
		}
	}
}
