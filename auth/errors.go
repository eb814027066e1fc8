package auth

import (
	"errors"
	"fmt"
)

// Sentinels for the outcome of [Guard.Authenticate]. Every error it returns
// satisfies errors.Is on ErrMissingToken or ErrInvalidToken; an expired
// token's error satisfies both ErrInvalidToken and ErrExpired. Use [Reason]
// for a metrics label.
var (
	// ErrMissingToken means no token was presented.
	ErrMissingToken = errors.New("auth: missing token")
	// ErrInvalidToken means the token was rejected: malformed, bad
	// signature, disallowed algorithm, unknown key, wrong iss/aud, not yet
	// valid, expired or unusable permission claims.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrExpired means the token's exp (plus leeway) has passed. It is
	// always returned together with ErrInvalidToken.
	ErrExpired = errors.New("auth: token expired")
)

// Reasons returned by [Reason]: a bounded set safe for metrics labels.
const (
	ReasonMissing     = "missing"       // no token presented
	ReasonMalformed   = "malformed"     // not a decodable JWT, or too long
	ReasonSignature   = "signature"     // signature does not verify
	ReasonAlgorithm   = "algorithm"     // "none", unknown, or not in the allow-list
	ReasonExpired     = "expired"       // exp passed
	ReasonNotYetValid = "not_yet_valid" // nbf or iat in the future
	ReasonIssuer      = "issuer"        // iss does not match
	ReasonAudience    = "audience"      // aud does not match
	ReasonUnknownKey  = "unknown_key"   // no key for the kid / algorithm, JWKS unavailable
	ReasonClaims      = "claims"        // other claim problems: missing exp, bad permission claim
	ReasonOther       = "other"         // an error not produced by this package
)

// tokenError is a rejected token: the sentinel(s) it satisfies, a bounded
// reason and the underlying cause.
type tokenError struct {
	reason string
	cause  error
}

// Error describes the rejection. It never contains the token.
func (e *tokenError) Error() string {
	if e.reason == ReasonMissing {
		return ErrMissingToken.Error()
	}
	if e.cause == nil {
		return fmt.Sprintf("%s (%s)", ErrInvalidToken, e.reason)
	}
	return fmt.Sprintf("%s (%s): %v", ErrInvalidToken, e.reason, e.cause)
}

// Unwrap returns the sentinels and the cause.
func (e *tokenError) Unwrap() []error {
	if e.reason == ReasonMissing {
		return []error{ErrMissingToken}
	}
	errs := []error{ErrInvalidToken}
	if e.reason == ReasonExpired {
		errs = append(errs, ErrExpired)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// reject builds a token error for reason with an optional cause.
func reject(reason string, cause error) error {
	return &tokenError{reason: reason, cause: cause}
}

// Reason returns the bounded label for an error from [Guard.Authenticate]:
// one of "missing", "malformed", "signature", "algorithm", "expired",
// "not_yet_valid", "issuer", "audience", "unknown_key", "claims". It returns
// "" for nil and "other" for errors this package did not produce.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var te *tokenError
	if errors.As(err, &te) {
		return te.reason
	}
	switch {
	case errors.Is(err, ErrMissingToken):
		return ReasonMissing
	case errors.Is(err, ErrExpired):
		return ReasonExpired
	default:
		return ReasonOther
	}
}
