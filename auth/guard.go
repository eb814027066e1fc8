package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Guard verifies tokens and builds [Principal] values. It is immutable
// after [New] (the JWKS cache synchronises itself) and safe for
// concurrent use.
type Guard struct {
	cfg    Config
	logger *slog.Logger

	enabled    bool
	algs       []string
	parser     *jwt.Parser
	keys       *staticKeys
	staticByAl map[string][]any
	jwks       *jwksSource

	// cancel stops the JWKS refresher started under New's context.
	cancel context.CancelFunc
}

// New builds a Guard from cfg. It validates the whole config, reporting
// every problem at once, loads the PEM key files and, with a JWKS URL,
// fetches the key set once (a failed first fetch is logged, not fatal:
// tokens fail with "unknown_key" until a refresh succeeds). ctx bounds the
// lifetime of the JWKS background refresher; [Guard.Close] stops it
// earlier. logger may be nil.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Guard, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "auth")
	cfg = cfg.withDefaults()
	keys, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	g := &Guard{cfg: cfg, logger: logger, keys: keys, cancel: func() {}}
	if cfg.Mode == ModeNone {
		logger.Warn("authentication disabled (mode none): every client may subscribe and publish to every topic")
		return g, nil
	}

	g.enabled = true
	g.algs = cfg.allowedAlgorithms(keys)
	g.staticByAl = make(map[string][]any, len(g.algs))
	for _, a := range g.algs {
		g.staticByAl[a] = keys.forAlg(a)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(g.algs),
		jwt.WithJSONNumber(),
		jwt.WithLeeway(cfg.JWT.Leeway),
		jwt.WithIssuedAt(),
	}
	if cfg.JWT.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.JWT.Issuer))
	}
	if cfg.JWT.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.JWT.Audience))
	}
	if *cfg.JWT.RequireExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	g.parser = jwt.NewParser(opts...)

	if cfg.JWT.JWKSURL != "" {
		jctx, cancel := context.WithCancel(ctx)
		g.cancel = cancel
		g.jwks, err = newJWKSSource(jctx, cfg.JWT, logger)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	logger.Info("authentication enabled",
		"mode", cfg.Mode,
		"algorithms", g.algs,
		"public_keys", len(keys.public),
		"shared_secret", len(keys.secret) > 0,
		"jwks", cfg.JWT.JWKSURL != "",
		"issuer", cfg.JWT.Issuer,
		"audience", cfg.JWT.Audience,
	)
	if cfg.JWT.Issuer == "" && cfg.JWT.Audience == "" {
		logger.Warn("neither jwt.issuer nor jwt.audience is set: any token signed by a configured key is accepted")
	}
	return g, nil
}

// Enabled reports whether tokens are required (false in mode "none").
func (g *Guard) Enabled() bool { return g.enabled }

// ExpiryWarning returns how long before a token's expiry the client is
// warned (Config.ExpiryWarning with its default applied).
func (g *Guard) ExpiryWarning() time.Duration { return g.cfg.ExpiryWarning }

// AuthTimeout returns the deadline for a first-frame auth op
// (Config.AuthTimeout with its default applied).
func (g *Guard) AuthTimeout() time.Duration { return g.cfg.AuthTimeout }

// Algorithms returns the effective allow-list of signing algorithms (nil
// in mode "none").
func (g *Guard) Algorithms() []string { return slices.Clone(g.algs) }

// Close cancels the context of the JWKS background refresher (owned by
// keyfunc/jwkset), which then exits at its next wake-up; Close does not
// wait for it. It is safe to call more than once; the Guard must not be
// used afterwards.
func (g *Guard) Close() { g.cancel() }

// Authenticate verifies token and returns its principal. In mode "none" it
// returns [AllowAll] whatever the token. ctx bounds a JWKS refetch caused
// by an unknown kid. Errors satisfy errors.Is on [ErrMissingToken] or
// [ErrInvalidToken] (and [ErrExpired]); [Reason] gives their label. Error
// text never contains the token.
func (g *Guard) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if !g.enabled {
		return AllowAll(), nil
	}
	if token == "" {
		return nil, reject(ReasonMissing, nil)
	}
	if len(token) > g.cfg.JWT.MaxTokenBytes {
		return nil, reject(ReasonMalformed, fmt.Errorf("token is %d bytes, limit %d", len(token), g.cfg.JWT.MaxTokenBytes))
	}
	claims := jwt.MapClaims{}
	parsed, err := g.parser.ParseWithClaims(token, claims, g.keyfunc(ctx))
	if err != nil {
		return nil, g.classify(parsed, claims, err)
	}
	p, err := buildPrincipal(claims, g.cfg.JWT.Claim)
	if err != nil {
		return nil, reject(ReasonClaims, err)
	}
	return p, nil
}

// Internal causes returned by the keyfunc, classified by [classify].
var (
	errUnknownKey = errors.New("no key for this token")
	errKeyType    = errors.New("key type does not match the algorithm")
)

// keyfunc returns the jwt.Keyfunc for one Authenticate call. The parser
// has already checked the algorithm against the allow-list; keyfunc then
// hands out only keys of the algorithm's own family:
//
//   - HMAC: the shared secret, never a public key or key set entry;
//   - with a kid and a JWKS: that JWKS key (refetched if unknown), which
//     must fit the algorithm; static keys are the fallback;
//   - otherwise: every static (and JWKS) key that fits the algorithm.
func (g *Guard) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		fam := algorithms[alg]
		if fam.hmac {
			if len(g.keys.secret) == 0 {
				return nil, errUnknownKey
			}
			return g.keys.secret, nil
		}
		static := g.staticByAl[alg]
		kid, hasKID := t.Header["kid"].(string)
		if g.jwks != nil && hasKID {
			key, err := g.jwks.key(ctx, t)
			switch {
			case err == nil && keyFitsAlg(alg, key):
				return key, nil
			case err == nil:
				return nil, fmt.Errorf("%w: JWKS key %q is %T, token alg %s", errKeyType, kid, key, alg)
			case len(static) == 0:
				return nil, fmt.Errorf("%w: %w", errUnknownKey, err)
			}
		}
		keys := make([]jwt.VerificationKey, 0, len(static))
		for _, k := range static {
			keys = append(keys, k)
		}
		if g.jwks != nil && !hasKID {
			all, err := g.jwks.all(ctx)
			if err != nil && len(keys) == 0 {
				return nil, fmt.Errorf("%w: %w", errUnknownKey, err)
			}
			for _, k := range all {
				if keyFitsAlg(alg, k) {
					keys = append(keys, k)
				}
			}
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("%w: no %s key configured", errUnknownKey, alg)
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	}
}

// classify maps a jwt/v5 parse error to a rejection with a bounded reason.
func (g *Guard) classify(t *jwt.Token, claims jwt.MapClaims, err error) error {
	reason := ReasonMalformed
	switch {
	case errors.Is(err, errUnknownKey):
		reason = ReasonUnknownKey
	case errors.Is(err, errKeyType):
		reason = ReasonAlgorithm
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = ReasonMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The parser could not resolve "alg" to a known method.
		reason = ReasonAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = ReasonSignature
		// The parser checks the allow-list before the signature and
		// reports a disallowed alg (including "none") this way.
		if t != nil && t.Method != nil && !slices.Contains(g.algs, t.Method.Alg()) {
			reason = ReasonAlgorithm
		}
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = ReasonIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = ReasonAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		// jwt/v5 reports an absent iss or aud as a missing claim; label
		// it like a wrong one.
		reason = ReasonClaims
		if _, ok := claims["iss"]; !ok && g.cfg.JWT.Issuer != "" {
			reason = ReasonIssuer
		} else if _, ok := claims["aud"]; !ok && g.cfg.JWT.Audience != "" {
			reason = ReasonAudience
		}
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		reason = ReasonClaims
	}
	return reject(reason, err)
}
