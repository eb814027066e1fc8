package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MintClaims describe a development token made by [MintHS256].
type MintClaims struct {
	// Subject is the sub claim. Default: "" (omitted).
	Subject string
	// Issuer is the iss claim. Default: "" (omitted).
	Issuer string
	// Audience is the aud claim. Default: "" (omitted).
	Audience string
	// Subscribe are the subscribe patterns of the permission claim.
	Subscribe []string
	// Publish are the publish patterns of the permission claim.
	Publish []string
	// Keys are the key rules of the permission claim: topic pattern →
	// key template, e.g. {"user.events": "{sub}"}. Default: none.
	Keys map[string]string
	// TTL is the token lifetime; exp = IssuedAt + TTL. Required (> 0).
	TTL time.Duration
	// IssuedAt is the iat claim. Default: now.
	IssuedAt time.Time
	// Claim is the permission claim's name. Default: "sluice".
	Claim string
}

// MintHS256 signs a development token with HS256 and secret, for
// "sluice token". Its permission claim is
// {"subscribe":[...],"publish":[...],"keys":{...}} under c.Claim.
func MintHS256(secret []byte, c MintClaims) (string, error) {
	var errs []error
	if len(secret) == 0 {
		errs = append(errs, errors.New("secret is empty"))
	}
	if c.TTL <= 0 {
		errs = append(errs, fmt.Errorf("ttl must be positive, got %s", c.TTL))
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("minting token: %w", err)
	}
	claims := mintClaims(c)
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("minting token: %w", err)
	}
	return signed, nil
}

// mintClaims builds the claim set of a minted token.
func mintClaims(c MintClaims) jwt.MapClaims {
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	name := c.Claim
	if name == "" {
		name = DefaultClaim
	}
	perm := map[string]any{}
	if len(c.Subscribe) > 0 {
		perm["subscribe"] = c.Subscribe
	}
	if len(c.Publish) > 0 {
		perm["publish"] = c.Publish
	}
	if len(c.Keys) > 0 {
		perm["keys"] = c.Keys
	}
	claims := jwt.MapClaims{
		"iat": iat.Unix(),
		"exp": iat.Add(c.TTL).Unix(),
		name:  perm,
	}
	if c.Subject != "" {
		claims["sub"] = c.Subject
	}
	if c.Issuer != "" {
		claims["iss"] = c.Issuer
	}
	if c.Audience != "" {
		claims["aud"] = c.Audience
	}
	return claims
}
