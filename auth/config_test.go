package auth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	garbage := write("garbage.pem", []byte("hello"))
	private := write("private.pem", pem.EncodeToMemory(&pem.Block{
		Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(testEC256Key())),
	}))
	smallRSA := write("small.pem", pem.EncodeToMemory(&pem.Block{
		Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: new(big.Int).Rsh(testRSAKey().N, 1100), E: 65537}),
	}))
	rsaFile := writePEM(t, &testRSAKey().PublicKey)

	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; nil means valid
	}{
		{"zero config is mode none", Config{}, nil},
		{"secret", Config{Mode: ModeJWT, JWT: JWTConfig{Secret: "s"}}, nil},
		{"jwks only", Config{Mode: ModeJWT, JWT: JWTConfig{JWKSURL: "http://127.0.0.1:1/jwks"}}, nil},
		{"bad mode", Config{Mode: "oauth"}, []string{`mode must be "jwt" or "none"`}},
		{"jwt without key source", Config{Mode: ModeJWT}, []string{"needs a key source"}},
		{"every problem at once", Config{
			Mode:          ModeJWT,
			ExpiryWarning: -1,
			JWT: JWTConfig{
				PublicKeyFiles: []string{filepath.Join(dir, "missing.pem"), garbage, private, smallRSA, rsaFile},
				JWKSURL:        "ftp://example.com/keys",
				Algorithms:     []string{"none", "HS256", "ES256", "XY999", "RS256"},
			},
		}, []string{
			"expiry_warning", "missing.pem", "garbage.pem: no PEM block", "private key", "need at least 2048",
			"must be an http or https URL", `"none" is never allowed`, "HS256 needs jwt.secret", `unknown algorithm "XY999"`,
		}},
		{"ES256 without an EC key", Config{Mode: ModeJWT, JWT: JWTConfig{PublicKeyFiles: []string{rsaFile}, Algorithms: []string{"ES256"}}},
			[]string{"ES256 is allowed but no matching public key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(t.Context(), tt.cfg, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				g.Close()
				return
			}
			if err == nil {
				g.Close()
				t.Fatal("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDefaultAlgorithms(t *testing.T) {
	tests := []struct {
		name string
		jwt  func(t *testing.T) JWTConfig
		want string
	}{
		{"secret", secretCfg, "HS256,HS384,HS512"},
		{"rsa", rsaCfg, "RS256,RS384,RS512,PS256,PS384,PS512"},
		{"ec", ecCfg, "ES256,ES384"},
		{"ed25519", edCfg, "EdDSA"},
		{"jwks", func(*testing.T) JWTConfig { return JWTConfig{JWKSURL: "http://127.0.0.1:1/"} },
			"RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, Config{Mode: ModeJWT, JWT: tt.jwt(t)})
			if got := strings.Join(g.Algorithms(), ","); got != tt.want {
				t.Fatalf("algorithms %s, want %s", got, tt.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
