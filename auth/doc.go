// Package auth verifies the JSON Web Tokens that WebSocket clients present
// and turns their claims into permissions.
//
// It owns three things:
//
//   - Verification ([Guard]): signature check against an explicit
//     allow-list of algorithms, with keys from a shared secret, PEM public
//     key files and/or a JWKS URL (cached, looked up by kid, refreshed on
//     rotation); "none" is always rejected and a key is only ever used with
//     an algorithm of its own family, so algorithm confusion fails. The
//     registered claims iss, aud, exp, nbf and iat are checked with a small
//     leeway.
//   - Permissions ([Principal]): the token's permission claim (default
//     "sluice") or OAuth2 scope strings become compiled topic patterns
//     (see [CompilePattern]) that are matched without allocating.
//   - Development tokens ([MintHS256]), used by "sluice token".
//
// Default deny: a topic that no pattern of the token grants is closed.
//
// auth is a leaf package: it imports no other Sluice package and no
// WebSocket or HTTP server code. It does only the I/O needed to read key
// files (in [New]) and fetch a JWKS document.
//
// Concurrency: a [Guard] is safe for concurrent use once [New] returns;
// [Principal] and [Pattern] values are immutable and safe for concurrent
// use. Nothing in the package holds global state.
package auth
