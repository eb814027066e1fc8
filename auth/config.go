package auth

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Modes accepted in [Config.Mode].
const (
	// ModeJWT requires every client to present a valid JWT.
	ModeJWT = "jwt"
	// ModeNone disables authentication: every client gets [AllowAll]. For
	// local development only.
	ModeNone = "none"
)

// Defaults applied to zero-valued [Config] fields.
const (
	// DefaultExpiryWarning is the default for [Config.ExpiryWarning].
	DefaultExpiryWarning = 30 * time.Second
	// DefaultAuthTimeout is the default for [Config.AuthTimeout].
	DefaultAuthTimeout = 10 * time.Second
	// DefaultClaim is the default for [JWTConfig.Claim].
	DefaultClaim = "sluice"
	// DefaultLeeway is the default for [JWTConfig.Leeway].
	DefaultLeeway = 30 * time.Second
	// DefaultMaxTokenBytes is the default for [JWTConfig.MaxTokenBytes].
	DefaultMaxTokenBytes = 8 << 10
	// DefaultJWKSRefreshInterval is the default for
	// [JWTConfig.JWKSRefreshInterval].
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultJWKSUnknownKIDInterval is the default for
	// [JWTConfig.JWKSUnknownKIDInterval].
	DefaultJWKSUnknownKIDInterval = time.Minute
	// DefaultJWKSTimeout is the default for [JWTConfig.JWKSTimeout].
	DefaultJWKSTimeout = 10 * time.Second
	// minRSABits is the smallest RSA modulus accepted for a verification key.
	minRSABits = 2048
)

// Config configures a [Guard]. The binary parses YAML once and passes this
// typed struct to [New].
type Config struct {
	// Mode is "jwt" or "none". Empty means the binary decides; [New] then
	// uses [Config.EffectiveMode]: "jwt" when any JWT setting is given,
	// "none" otherwise. Default: "".
	Mode string `yaml:"mode"`
	// JWT configures token verification and the permission claim. Only
	// read in mode "jwt".
	JWT JWTConfig `yaml:"jwt"`
	// ExpiryWarning is how long before a token's exp the server sends
	// {"op":"auth_expiring"}. Default: 30s.
	ExpiryWarning time.Duration `yaml:"expiry_warning"`
	// AuthTimeout is the deadline for a client that authenticates with a
	// first-frame auth op to send it. Default: 10s.
	AuthTimeout time.Duration `yaml:"auth_timeout"`
}

// JWTConfig configures how tokens are verified and read. At least one key
// source (Secret, PublicKeyFiles or JWKSURL) is required.
type JWTConfig struct {
	// Secret is the shared secret for HS256/384/512. Default: "" (HMAC
	// algorithms disabled).
	Secret string `yaml:"secret"`
	// PublicKeyFiles are PEM files holding RSA, ECDSA (P-256/384/521) or
	// Ed25519 public keys ("PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE"
	// blocks); a file may hold several. Default: none.
	PublicKeyFiles []string `yaml:"public_key_files"`
	// JWKSURL is an http(s) URL serving a JSON Web Key Set. Keys are cached,
	// looked up by the token's kid and refetched when an unknown kid shows
	// up (rate limited). Default: "" (no JWKS).
	JWKSURL string `yaml:"jwks_url"`
	// JWKSRefreshInterval is how often the JWKS is refetched in the
	// background. Default: 1h.
	JWKSRefreshInterval time.Duration `yaml:"jwks_refresh_interval"`
	// JWKSUnknownKIDInterval is the minimum time between refetches caused
	// by tokens with an unknown kid. Default: 1m.
	JWKSUnknownKIDInterval time.Duration `yaml:"jwks_unknown_kid_interval"`
	// JWKSTimeout bounds one JWKS HTTP fetch. Default: 10s.
	JWKSTimeout time.Duration `yaml:"jwks_timeout"`
	// Issuer, when set, must equal the token's iss. Default: "" (not
	// checked).
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be one of the token's aud values. Default:
	// "" (not checked).
	Audience string `yaml:"audience"`
	// Algorithms is the allow-list of signing algorithms (HS256, HS384,
	// HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512,
	// EdDSA). "none" is never allowed. Default: every algorithm that
	// matches a configured key: HS* with Secret, the families of the PEM
	// keys, and all asymmetric algorithms with JWKSURL.
	Algorithms []string `yaml:"algorithms"`
	// Claim is the name of the claim holding the permission object, and the
	// prefix of permission scopes ("<claim>:subscribe:<pattern>").
	// Default: "sluice".
	Claim string `yaml:"claim"`
	// Leeway is the clock skew tolerated when checking exp, nbf and iat. A
	// negative value means no leeway. Default: 30s.
	Leeway time.Duration `yaml:"leeway"`
	// RequireExp rejects tokens without an exp claim. Default: true.
	RequireExp *bool `yaml:"require_exp"`
	// MaxTokenBytes rejects longer tokens before parsing them. Default:
	// 8192.
	MaxTokenBytes int `yaml:"max_token_bytes"`
}

// EffectiveMode returns Mode if set, otherwise "jwt" when any JWT setting
// is given and "none" when the JWT section is empty.
func (c Config) EffectiveMode() string {
	if c.Mode != "" {
		return c.Mode
	}
	j := c.JWT
	if j.Secret != "" || len(j.PublicKeyFiles) > 0 || j.JWKSURL != "" ||
		j.Issuer != "" || j.Audience != "" || len(j.Algorithms) > 0 {
		return ModeJWT
	}
	return ModeNone
}

// withDefaults returns a copy of c with every zero-valued field replaced by
// its documented default.
func (c Config) withDefaults() Config {
	c.Mode = c.EffectiveMode()
	if c.ExpiryWarning == 0 {
		c.ExpiryWarning = DefaultExpiryWarning
	}
	if c.AuthTimeout == 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	j := &c.JWT
	if j.Claim == "" {
		j.Claim = DefaultClaim
	}
	switch {
	case j.Leeway == 0:
		j.Leeway = DefaultLeeway
	case j.Leeway < 0:
		j.Leeway = 0
	}
	if j.RequireExp == nil {
		t := true
		j.RequireExp = &t
	}
	if j.MaxTokenBytes == 0 {
		j.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if j.JWKSRefreshInterval == 0 {
		j.JWKSRefreshInterval = DefaultJWKSRefreshInterval
	}
	if j.JWKSUnknownKIDInterval == 0 {
		j.JWKSUnknownKIDInterval = DefaultJWKSUnknownKIDInterval
	}
	if j.JWKSTimeout == 0 {
		j.JWKSTimeout = DefaultJWKSTimeout
	}
	return c
}

// validate checks a defaulted config and reports every problem at once. In
// mode jwt it also loads the PEM key files and returns the keys found, so
// that unreadable or invalid files are reported here.
func (c Config) validate() (*staticKeys, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if c.ExpiryWarning < 0 {
		bad("expiry_warning must not be negative, got %s", c.ExpiryWarning)
	}
	if c.AuthTimeout < 0 {
		bad("auth_timeout must not be negative, got %s", c.AuthTimeout)
	}
	switch c.Mode {
	case ModeNone:
		return &staticKeys{}, errors.Join(errs...)
	case ModeJWT:
	default:
		bad("mode must be %q or %q, got %q", ModeJWT, ModeNone, c.Mode)
		return nil, errors.Join(errs...)
	}

	j := c.JWT
	if j.Secret == "" && len(j.PublicKeyFiles) == 0 && j.JWKSURL == "" {
		bad("jwt mode needs a key source: jwt.secret, jwt.public_key_files or jwt.jwks_url")
	}
	keys, err := loadKeyFiles(j.PublicKeyFiles)
	if err != nil {
		errs = append(errs, err)
	}
	if j.Secret != "" {
		keys.secret = []byte(j.Secret)
	}
	if j.JWKSURL != "" {
		u, err := url.Parse(j.JWKSURL)
		switch {
		case err != nil:
			bad("jwt.jwks_url: %w", err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad("jwt.jwks_url must be an http or https URL, got scheme %q", u.Scheme)
		case u.Host == "":
			bad("jwt.jwks_url %q has no host", j.JWKSURL)
		}
	}
	for _, a := range j.Algorithms {
		fam, ok := algorithms[a]
		switch {
		case strings.EqualFold(a, "none"):
			bad("jwt.algorithms: %q is never allowed", a)
		case !ok:
			bad("jwt.algorithms: unknown algorithm %q (known: %s)", a, strings.Join(knownAlgorithms(), ", "))
		case fam.hmac && j.Secret == "":
			bad("jwt.algorithms: %s needs jwt.secret", a)
		case !fam.hmac && j.JWKSURL == "" && !keys.hasFor(a):
			bad("jwt.algorithms: %s is allowed but no matching public key is configured (jwt.public_key_files or jwt.jwks_url)", a)
		}
	}
	if j.Leeway > 5*time.Minute {
		bad("jwt.leeway must be at most 5m, got %s", j.Leeway)
	}
	if j.MaxTokenBytes < 0 {
		bad("jwt.max_token_bytes must not be negative, got %d", j.MaxTokenBytes)
	}
	if j.JWKSRefreshInterval < 0 || j.JWKSUnknownKIDInterval < 0 || j.JWKSTimeout < 0 {
		bad("jwt.jwks_refresh_interval, jwt.jwks_unknown_kid_interval and jwt.jwks_timeout must not be negative")
	}
	if strings.ContainsAny(j.Claim, " \t\n") {
		bad("jwt.claim %q must not contain whitespace", j.Claim)
	}
	return keys, errors.Join(errs...)
}

// allowedAlgorithms resolves the allow-list: the configured one, or every
// algorithm with a configured key.
func (c Config) allowedAlgorithms(keys *staticKeys) []string {
	if len(c.JWT.Algorithms) > 0 {
		return slices.Clone(c.JWT.Algorithms)
	}
	var out []string
	for _, a := range knownAlgorithms() {
		fam := algorithms[a]
		switch {
		case fam.hmac && len(keys.secret) > 0:
			out = append(out, a)
		case !fam.hmac && (c.JWT.JWKSURL != "" || keys.hasFor(a)):
			out = append(out, a)
		}
	}
	return out
}
