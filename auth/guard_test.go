package auth

import (
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAuthenticateAlgorithmFamilies(t *testing.T) {
	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    func() any // signing key
		cfg    func(t *testing.T) JWTConfig
	}{
		{"HS256", jwt.SigningMethodHS256, func() any { return []byte(testSecret) }, secretCfg},
		{"HS384", jwt.SigningMethodHS384, func() any { return []byte(testSecret) }, secretCfg},
		{"HS512", jwt.SigningMethodHS512, func() any { return []byte(testSecret) }, secretCfg},
		{"RS256", jwt.SigningMethodRS256, func() any { return testRSAKey() }, rsaCfg},
		{"RS512", jwt.SigningMethodRS512, func() any { return testRSAKey() }, rsaCfg},
		{"PS256", jwt.SigningMethodPS256, func() any { return testRSAKey() }, rsaCfg},
		{"ES256", jwt.SigningMethodES256, func() any { return testEC256Key() }, ecCfg},
		{"ES384", jwt.SigningMethodES384, func() any { return testEC384Key() }, ecCfg},
		{"EdDSA", jwt.SigningMethodEdDSA, func() any { return testEdKey() }, edCfg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, Config{Mode: ModeJWT, JWT: tt.cfg(t)})
			token := sign(t, tt.method, tt.key(), "", validClaims())
			p, err := authenticate(t, g, token)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if p.Subject() != "alice" || !p.CanSubscribe("orders.eu") || p.CanPublish("orders.eu") {
				t.Fatalf("principal: sub=%q sub(orders.eu)=%v pub=%v", p.Subject(), p.CanSubscribe("orders.eu"), p.CanPublish("orders.eu"))
			}
			if p.ExpiresAt().IsZero() {
				t.Fatal("ExpiresAt is zero")
			}

			// Tampering with the payload breaks the signature.
			parts := strings.Split(token, ".")
			c := validClaims()
			c["sluice"] = map[string]any{"subscribe": []string{"*"}}
			forged := sign(t, jwt.SigningMethodHS256, []byte("other"), "", c)
			parts[1] = strings.Split(forged, ".")[1]
			_, err = authenticate(t, g, strings.Join(parts, "."))
			if got := Reason(err); got != ReasonSignature {
				t.Fatalf("tampered payload: reason %q (%v), want signature", got, err)
			}
		})
	}
}

func secretCfg(*testing.T) JWTConfig { return JWTConfig{Secret: testSecret} }
func rsaCfg(t *testing.T) JWTConfig {
	return JWTConfig{PublicKeyFiles: []string{writePEM(t, &testRSAKey().PublicKey)}}
}
func ecCfg(t *testing.T) JWTConfig {
	return JWTConfig{PublicKeyFiles: []string{writePEM(t, &testEC256Key().PublicKey, &testEC384Key().PublicKey)}}
}
func edCfg(t *testing.T) JWTConfig {
	return JWTConfig{PublicKeyFiles: []string{writePEM(t, testEdKey().Public())}}
}

func TestAuthenticateRejects(t *testing.T) {
	rsaPEM := func(t *testing.T) string { return writePEM(t, &testRSAKey().PublicKey) }
	at := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims()
		mod(c)
		return c
	}
	noneToken := func(t *testing.T) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs := func(c jwt.MapClaims) func(*testing.T) string {
		return func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	}
	b64 := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name   string
		cfg    func(t *testing.T) JWTConfig
		token  func(t *testing.T) string
		reason string // "" means accepted
	}{
		{"valid", secretCfg, hs(validClaims()), ""},
		{"missing", secretCfg, func(*testing.T) string { return "" }, ReasonMissing},
		{"garbage", secretCfg, func(*testing.T) string { return "not-a-jwt" }, ReasonMalformed},
		{"bad base64", secretCfg, func(*testing.T) string { return "a.b!.c" }, ReasonMalformed},
		{"too long", secretCfg, func(*testing.T) string { return strings.Repeat("a", DefaultMaxTokenBytes+1) }, ReasonMalformed},
		{"alg none", secretCfg, noneToken, ReasonAlgorithm},
		{"alg none with RSA key", rsaCfg, noneToken, ReasonAlgorithm},
		{"unknown alg", secretCfg, func(*testing.T) string {
			return b64([]byte(`{"alg":"XX256","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"x"}`)) + ".c2ln"
		}, ReasonAlgorithm},
		{"HS signed with RSA public PEM, HS not allowed", rsaPEM0, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pemBytes(t, &testRSAKey().PublicKey), "", validClaims())
		}, ReasonAlgorithm},
		{"HS signed with RSA public PEM, HS allowed with a secret", func(t *testing.T) JWTConfig {
			return JWTConfig{Secret: testSecret, PublicKeyFiles: []string{rsaPEM(t)}}
		}, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pemBytes(t, &testRSAKey().PublicKey), "", validClaims())
		}, ReasonSignature},
		{"alg not in allow-list", func(t *testing.T) JWTConfig {
			return JWTConfig{PublicKeyFiles: []string{rsaPEM(t)}, Algorithms: []string{"RS256"}}
		}, func(t *testing.T) string { return sign(t, jwt.SigningMethodPS256, testRSAKey(), "", validClaims()) }, ReasonAlgorithm},
		{"EdDSA with only RSA keys", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, testEdKey(), "", validClaims())
		}, ReasonAlgorithm},
		{"ES384 token signed by a P-384 key not configured", ecCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES384, mustEC(elliptic.P384()), "", validClaims())
		}, ReasonSignature},
		{"ES512 token with only P-256/384 keys", ecCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES512, mustEC(elliptic.P521()), "", validClaims())
		}, ReasonAlgorithm},
		{"wrong secret", secretCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret"), "", validClaims())
		}, ReasonSignature},
		{"expired", secretCfg, hs(with(func(c jwt.MapClaims) { c["exp"] = at(-2 * time.Minute) })), ReasonExpired},
		{"expired within leeway", secretCfg, hs(with(func(c jwt.MapClaims) { c["exp"] = at(-10 * time.Second) })), ""},
		{"expired, leeway disabled", func(*testing.T) JWTConfig {
			return JWTConfig{Secret: testSecret, Leeway: -1}
		}, hs(with(func(c jwt.MapClaims) { c["exp"] = at(-10 * time.Second) })), ReasonExpired},
		{"not yet valid", secretCfg, hs(with(func(c jwt.MapClaims) { c["nbf"] = at(2 * time.Minute) })), ReasonNotYetValid},
		{"nbf within leeway", secretCfg, hs(with(func(c jwt.MapClaims) { c["nbf"] = at(10 * time.Second) })), ""},
		{"issued in the future", secretCfg, hs(with(func(c jwt.MapClaims) { c["iat"] = at(2 * time.Minute) })), ReasonNotYetValid},
		{"wrong issuer", issCfg, hs(with(func(c jwt.MapClaims) { c["iss"] = "https://evil"; c["aud"] = "sluice" })), ReasonIssuer},
		{"missing issuer", issCfg, hs(with(func(c jwt.MapClaims) { c["aud"] = "sluice" })), ReasonIssuer},
		{"wrong audience", issCfg, hs(with(func(c jwt.MapClaims) { c["iss"] = "https://idp"; c["aud"] = "other" })), ReasonAudience},
		{"issuer and audience match", issCfg, hs(with(func(c jwt.MapClaims) { c["iss"] = "https://idp"; c["aud"] = []string{"x", "sluice"} })), ""},
		{"no exp", secretCfg, hs(with(func(c jwt.MapClaims) { delete(c, "exp") })), ReasonClaims},
		{"no exp allowed", func(*testing.T) JWTConfig {
			f := false
			return JWTConfig{Secret: testSecret, RequireExp: &f}
		}, hs(with(func(c jwt.MapClaims) { delete(c, "exp") })), ""},
		{"permission claim not an object", secretCfg, hs(with(func(c jwt.MapClaims) { c["sluice"] = "orders.*" })), ReasonClaims},
		{"subscribe not strings", secretCfg, hs(with(func(c jwt.MapClaims) { c["sluice"] = map[string]any{"subscribe": []any{1}} })), ReasonClaims},
		{"bad pattern", secretCfg, hs(with(func(c jwt.MapClaims) { c["sluice"] = map[string]any{"publish": []string{"a.{sub"}} })), ReasonClaims},
		{"scope not a string", secretCfg, hs(with(func(c jwt.MapClaims) { c["scope"] = 3 })), ReasonClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, Config{Mode: ModeJWT, JWT: tt.cfg(t)})
			p, err := authenticate(t, g, tt.token(t))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v (reason %s)", err, Reason(err))
				}
				if p == nil {
					t.Fatal("nil principal")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want reason %q", tt.reason)
			}
			if got := Reason(err); got != tt.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tt.reason, err)
			}
			wantSentinel := ErrInvalidToken
			if tt.reason == ReasonMissing {
				wantSentinel = ErrMissingToken
			}
			if !errors.Is(err, wantSentinel) {
				t.Fatalf("error %v is not %v", err, wantSentinel)
			}
			if got := errors.Is(err, ErrExpired); got != (tt.reason == ReasonExpired) {
				t.Fatalf("errors.Is(ErrExpired) = %v for reason %s", got, tt.reason)
			}
		})
	}
}

// rsaPEM0 configures an RSA public key and nothing else.
func rsaPEM0(t *testing.T) JWTConfig { return rsaCfg(t) }

func issCfg(*testing.T) JWTConfig {
	return JWTConfig{Secret: testSecret, Issuer: "https://idp", Audience: "sluice"}
}

func TestModeNone(t *testing.T) {
	for _, cfg := range []Config{{}, {Mode: ModeNone}, {Mode: ModeNone, JWT: JWTConfig{Secret: "ignored"}}} {
		g := newGuard(t, cfg)
		if g.Enabled() {
			t.Fatalf("%+v: Enabled() = true", cfg)
		}
		p, err := authenticate(t, g, "")
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if !p.CanSubscribe("anything") || !p.CanPublish("x.y") || p.GrantsNothing() || !p.ExpiresAt().IsZero() {
			t.Fatal("mode none principal is restricted")
		}
		if _, restricted := p.KeyRestriction("anything"); restricted {
			t.Fatal("mode none principal is key-restricted")
		}
	}
	g := newGuard(t, Config{JWT: JWTConfig{Secret: testSecret}})
	if !g.Enabled() {
		t.Fatal("a config with a secret and no mode should enable jwt")
	}
	if g.ExpiryWarning() != DefaultExpiryWarning || g.AuthTimeout() != DefaultAuthTimeout {
		t.Fatalf("defaults: %s %s", g.ExpiryWarning(), g.AuthTimeout())
	}
	if got := strings.Join(g.Algorithms(), ","); got != "HS256,HS384,HS512" {
		t.Fatalf("algorithms %s", got)
	}
}

func TestMintHS256(t *testing.T) {
	g := newGuard(t, Config{Mode: ModeJWT, JWT: JWTConfig{Secret: testSecret, Issuer: "dev", Audience: "sluice"}})
	token, err := MintHS256([]byte(testSecret), MintClaims{
		Subject: "alice", Issuer: "dev", Audience: "sluice",
		Subscribe: []string{"orders.*", "user.{sub}.events"}, Publish: []string{"chat.*"},
		Keys: map[string]string{"user.events": "{sub}"},
		TTL:  time.Hour,
	})
	if err != nil {
		t.Fatalf("MintHS256: %v", err)
	}
	p, err := authenticate(t, g, token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	checks := []struct {
		name string
		got  bool
	}{
		{"subscribe orders.eu", p.CanSubscribe("orders.eu")},
		{"subscribe user.alice.events", p.CanSubscribe("user.alice.events")},
		{"not subscribe user.bob.events", !p.CanSubscribe("user.bob.events")},
		{"publish chat.room", p.CanPublish("chat.room")},
		{"not publish orders.eu", !p.CanPublish("orders.eu")},
		{"exp about an hour", time.Until(p.ExpiresAt()) > 59*time.Minute},
	}
	for _, c := range checks {
		if !c.got {
			t.Errorf("%s: false", c.name)
		}
	}
	if key, restricted := p.KeyRestriction("user.events"); !restricted || key != "alice" {
		t.Errorf("KeyRestriction(user.events) = %q, %v", key, restricted)
	}

	bad := []struct {
		name   string
		secret string
		c      MintClaims
	}{
		{"no secret", "", MintClaims{TTL: time.Hour}},
		{"no ttl", "s", MintClaims{}},
		{"negative ttl", "s", MintClaims{TTL: -time.Second}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := MintHS256([]byte(tt.secret), tt.c); err == nil {
				t.Fatal("MintHS256 succeeded")
			}
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("x"), ReasonOther},
		{ErrMissingToken, ReasonMissing},
		{reject(ReasonAudience, errors.New("aud")), ReasonAudience},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
