package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JWKS that a test can swap, counting fetches.
type jwksServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	fetches atomic.Int64
}

// newJWKSServer starts a JWKS endpoint on 127.0.0.1:0 serving keys.
func newJWKSServer(t *testing.T, keys map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.serve(t, keys)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

// serve replaces the served key set (kid → public key).
func (s *jwksServer) serve(t *testing.T, keys map[string]any) {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for kid, pub := range keys {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
		if err != nil {
			t.Fatalf("JWK %s: %v", kid, err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(raw)
	s.body.Store(&b)
}

func TestJWKSRotation(t *testing.T) {
	k1, k2 := mustEC(elliptic.P256()), mustEC(elliptic.P256())
	srv := newJWKSServer(t, map[string]any{"k1": &k1.PublicKey})
	g := newGuard(t, Config{Mode: ModeJWT, JWT: JWTConfig{
		JWKSURL:                srv.URL + "/jwks.json",
		JWKSUnknownKIDInterval: time.Millisecond,
	}})
	tok := func(k *ecdsa.PrivateKey, kid string) string {
		return sign(t, jwt.SigningMethodES256, k, kid, validClaims())
	}
	steps := []struct {
		name   string
		before func()
		token  string
		reason string
	}{
		{"k1 accepted", nil, tok(k1, "k1"), ""},
		{"k1 without kid accepted", nil, tok(k1, ""), ""},
		{"k2 unknown before rotation", nil, tok(k2, "k2"), ReasonUnknownKey},
		{"k2 accepted after rotation", func() {
			srv.serve(t, map[string]any{"k1": &k1.PublicKey, "k2": &k2.PublicKey})
		}, tok(k2, "k2"), ""},
		{"k1 still accepted while published", nil, tok(k1, "k1"), ""},
		{"k2 key under k1's kid fails signature", nil, tok(k2, "k1"), ReasonSignature},
		{"k1 removed", func() {
			srv.serve(t, map[string]any{"k2": &k2.PublicKey})
			// An unknown kid triggers the refetch that drops k1.
			if _, err := authenticate(t, g, tok(k2, "k3")); Reason(err) != ReasonUnknownKey {
				t.Fatalf("k3: %v", err)
			}
		}, tok(k1, "k1"), ReasonUnknownKey},
		{"k2 still accepted", nil, tok(k2, "k2"), ""},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		_, err := authenticate(t, g, s.token)
		if got := Reason(err); got != s.reason {
			t.Fatalf("%s: reason %q, want %q (%v)", s.name, got, s.reason, err)
		}
	}
}

func TestJWKSUnknownKIDRateLimited(t *testing.T) {
	k1, k2, k3 := mustEC(elliptic.P256()), mustEC(elliptic.P256()), mustEC(elliptic.P256())
	srv := newJWKSServer(t, map[string]any{"k1": &k1.PublicKey})
	g := newGuard(t, Config{Mode: ModeJWT, JWT: JWTConfig{
		JWKSURL:                srv.URL,
		JWKSUnknownKIDInterval: time.Hour,
		JWKSTimeout:            2 * time.Second,
	}})
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start, want 1", n)
	}
	srv.serve(t, map[string]any{"k2": &k2.PublicKey})
	if _, err := authenticate(t, g, sign(t, jwt.SigningMethodES256, k2, "k2", validClaims())); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	srv.serve(t, map[string]any{"k3": &k3.PublicKey})
	start := time.Now()
	for range 5 {
		_, err := authenticate(t, g, sign(t, jwt.SigningMethodES256, k3, "k3", validClaims()))
		if Reason(err) != ReasonUnknownKey {
			t.Fatalf("k3 within the rate limit: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (start + one unknown-kid refetch)", n)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("rate-limited lookups took %s; they should fail at once", d)
	}
}

func TestJWKSKeyTypeMustFitAlgorithm(t *testing.T) {
	ec := mustEC(elliptic.P256())
	srv := newJWKSServer(t, map[string]any{"rsa": &testRSAKey().PublicKey, "ec": &ec.PublicKey})
	g := newGuard(t, Config{Mode: ModeJWT, JWT: JWTConfig{JWKSURL: srv.URL}})
	tests := []struct {
		name   string
		token  string
		reason string
	}{
		{"RS256 with rsa kid", sign(t, jwt.SigningMethodRS256, testRSAKey(), "rsa", validClaims()), ""},
		{"ES256 with ec kid", sign(t, jwt.SigningMethodES256, ec, "ec", validClaims()), ""},
		{"ES256 naming the rsa kid", sign(t, jwt.SigningMethodES256, ec, "rsa", validClaims()), ReasonAlgorithm},
		{"HS256 signed with the RSA PEM", sign(t, jwt.SigningMethodHS256, pemBytes(t, &testRSAKey().PublicKey), "rsa", validClaims()), ReasonAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authenticate(t, g, tt.token)
			if got := Reason(err); got != tt.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tt.reason, err)
			}
		})
	}
}

func TestJWKSUnreachableAtStart(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	g := newGuard(t, Config{Mode: ModeJWT, JWT: JWTConfig{JWKSURL: srv.URL, JWKSTimeout: time.Second}})
	_, err := authenticate(t, g, sign(t, jwt.SigningMethodES256, testEC256Key(), "k", validClaims()))
	if Reason(err) != ReasonUnknownKey {
		t.Fatalf("reason %q (%v), want unknown_key", Reason(err), err)
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	k1 := mustEC(elliptic.P256())
	srv := newJWKSServer(t, map[string]any{"k1": &k1.PublicKey})
	g := newGuard(t, Config{Mode: ModeJWT, JWT: JWTConfig{
		JWKSURL:        srv.URL,
		Secret:         testSecret,
		PublicKeyFiles: []string{writePEM(t, testEdKey().Public())},
	}})
	tokens := []string{
		sign(t, jwt.SigningMethodES256, k1, "k1", validClaims()),
		sign(t, jwt.SigningMethodHS512, []byte(testSecret), "", validClaims()),
		sign(t, jwt.SigningMethodEdDSA, testEdKey(), "", validClaims()),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(tokens))
	for range 8 {
		for _, tok := range tokens {
			wg.Go(func() {
				p, err := g.Authenticate(t.Context(), tok)
				if err == nil && !p.CanSubscribe("orders.x") {
					err = errors.New("orders.x denied")
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
