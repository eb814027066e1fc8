package auth

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// jwksSource is a cached, self-refreshing JWKS. keyfunc/v3 (over jwkset)
// does the work: it fetches the set once at start, refetches it every
// JWKSRefreshInterval in a goroutine that ends with the context given to
// newJWKSSource, and refetches on an unknown kid at most once per
// JWKSUnknownKIDInterval. A refetch replaces the whole set, so a key
// removed upstream stops verifying after the next refetch.
type jwksSource struct {
	kf keyfunc.Keyfunc
}

// newJWKSSource starts the JWKS cache for cfg.JWKSURL. A failed first
// fetch is logged, not returned.
func newJWKSSource(ctx context.Context, cfg JWTConfig, logger *slog.Logger) (*jwksSource, error) {
	where := redactURL(cfg.JWKSURL)
	noErrorOnFirstFetch := true
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    &http.Client{Timeout: cfg.JWKSTimeout},
		HTTPTimeout:               cfg.JWKSTimeout,
		NoErrorReturnFirstHTTPReq: &noErrorOnFirstFetch,
		// An unknown kid waits for the limiter at most this long; since
		// the limiter's interval is longer, a rate-limited lookup fails
		// at once instead of queueing. The refetch itself also runs under
		// this bound.
		RateLimitWaitMax: cfg.JWKSTimeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "fetching JWKS failed", "url", where, "error", err)
			}
		},
		RefreshInterval:   cfg.JWKSRefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.JWKSUnknownKIDInterval), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("starting JWKS cache for %s: %w", where, err)
	}
	return &jwksSource{kf: kf}, nil
}

// key returns the public key for the token's kid, refetching the set if the
// kid is unknown (rate limited). keyfunc also checks the JWK's own "alg",
// when present, against the token's.
func (s *jwksSource) key(ctx context.Context, t *jwt.Token) (any, error) {
	return s.kf.KeyfuncCtx(ctx)(t)
}

// all returns every cached public key, for tokens without a kid.
func (s *jwksSource) all(ctx context.Context) ([]any, error) {
	set, err := s.kf.VerificationKeySet(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(set.Keys))
	for _, k := range set.Keys {
		if pk, ok := k.(interface{ Public() crypto.PublicKey }); ok {
			k = pk.Public()
		}
		out = append(out, k)
	}
	return out, nil
}

// redactURL drops credentials and the query from a URL for logging.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
