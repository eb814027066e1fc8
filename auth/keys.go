package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// algFamily describes which keys an algorithm may be verified with.
type algFamily struct {
	// hmac algorithms take only the configured shared secret.
	hmac bool
	// rsa algorithms (RS*, PS*) take *rsa.PublicKey.
	rsa bool
	// curve, for ES*, is the only curve accepted.
	curve elliptic.Curve
	// ed25519 (EdDSA) takes ed25519.PublicKey.
	ed25519 bool
}

// algorithms maps every supported algorithm name to its key family. "none"
// is deliberately absent.
var algorithms = map[string]algFamily{
	"HS256": {hmac: true}, "HS384": {hmac: true}, "HS512": {hmac: true},
	"RS256": {rsa: true}, "RS384": {rsa: true}, "RS512": {rsa: true},
	"PS256": {rsa: true}, "PS384": {rsa: true}, "PS512": {rsa: true},
	"ES256": {curve: elliptic.P256()}, "ES384": {curve: elliptic.P384()}, "ES512": {curve: elliptic.P521()},
	"EdDSA": {ed25519: true},
}

// knownAlgorithms returns the supported algorithm names in a stable order.
func knownAlgorithms() []string {
	return []string{
		"HS256", "HS384", "HS512",
		"RS256", "RS384", "RS512",
		"PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512",
		"EdDSA",
	}
}

// keyFitsAlg reports whether key may verify a token signed with alg. It is
// the guard against algorithm confusion: HMAC algorithms never accept a
// public key (or its bytes) and asymmetric algorithms never accept bytes.
func keyFitsAlg(alg string, key any) bool {
	fam, ok := algorithms[alg]
	if !ok {
		return false
	}
	switch k := key.(type) {
	case []byte:
		return fam.hmac && len(k) > 0
	case *rsa.PublicKey:
		return fam.rsa && k.N != nil && k.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return fam.curve != nil && k.Curve == fam.curve
	case ed25519.PublicKey:
		return fam.ed25519 && len(k) == ed25519.PublicKeySize
	default:
		return false
	}
}

// staticKeys are the keys known at startup: the shared secret and the
// public keys read from PEM files. Immutable after [New].
type staticKeys struct {
	secret []byte
	public []any
}

// hasFor reports whether a public key for alg is configured.
func (s *staticKeys) hasFor(alg string) bool {
	return len(s.forAlg(alg)) > 0
}

// forAlg returns the public keys that may verify alg.
func (s *staticKeys) forAlg(alg string) []any {
	var out []any
	for _, k := range s.public {
		if keyFitsAlg(alg, k) {
			out = append(out, k)
		}
	}
	return out
}

// loadKeyFiles reads every PEM file and returns the public keys they hold.
// It reports every unreadable file and invalid block.
func loadKeyFiles(paths []string) (*staticKeys, error) {
	keys := &staticKeys{}
	var errs []error
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("jwt.public_key_files: reading %s: %w", path, err))
			continue
		}
		found, err := parsePEMKeys(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("jwt.public_key_files: %s: %w", path, err))
			continue
		}
		keys.public = append(keys.public, found...)
	}
	return keys, errors.Join(errs...)
}

// parsePEMKeys returns every public key in a PEM document. Private keys are
// refused: the gateway only ever needs the public half.
func parsePEMKeys(data []byte) ([]any, error) {
	var keys []any
	var errs []error
	for i := 1; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		key, err := parsePEMBlock(block)
		if err != nil {
			errs = append(errs, fmt.Errorf("PEM block %d (%s): %w", i, block.Type, err))
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 && len(errs) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return keys, errors.Join(errs...)
}

// parsePEMBlock parses one PEM block into a supported public key.
func parsePEMBlock(block *pem.Block) (any, error) {
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("holds a private key; configure the public key instead")
		}
		return nil, fmt.Errorf("unsupported block type %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	return checkPublicKey(key)
}

// checkPublicKey accepts RSA keys of at least 2048 bits, ECDSA keys on
// P-256/384/521 and Ed25519 keys.
func checkPublicKey(key any) (any, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key has %d bits, need at least %d", k.N.BitLen(), minRSABits)
		}
		return k, nil
	case *ecdsa.PublicKey:
		if !slices.Contains([]elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()}, k.Curve) {
			return nil, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported public key type %T", key)
	}
}
