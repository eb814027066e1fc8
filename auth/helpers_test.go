package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Test keys are generated once per test binary: RSA generation is slow
// under -race.
var (
	testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	testEC256Key = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	testEC384Key = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P384()) })
	testEdKey    = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// testSecret is the shared secret of HMAC tests.
const testSecret = "test-secret-at-least-32-bytes-long!!"

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// writePEM writes the public halves of keys into one PEM file and returns
// its path.
func writePEM(t *testing.T, pubs ...any) string {
	t.Helper()
	var data []byte
	for _, pub := range pubs {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatalf("marshal public key: %v", err)
		}
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	path := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write PEM: %v", err)
	}
	return path
}

// pemBytes returns the PEM encoding of pub, as an attacker would fetch it.
func pemBytes(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// sign signs claims with method and key, setting kid when non-empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// validClaims returns claims valid for the next hour, granting orders.*.
func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub":    "alice",
		"iat":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
		"sluice": map[string]any{"subscribe": []string{"orders.*"}},
	}
}

// newGuard builds a Guard for a test and closes it on cleanup.
func newGuard(t *testing.T, cfg Config) *Guard {
	t.Helper()
	g, err := New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(g.Close)
	return g
}

// claimsOf returns a claim lookup over a fixed map.
func claimsOf(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// authenticate is Guard.Authenticate with a test context.
func authenticate(t *testing.T, g *Guard, token string) (*Principal, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return g.Authenticate(ctx, token)
}
