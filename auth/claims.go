package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// errBadClaims marks a permission claim or scope of the wrong shape.
var errBadClaims = errors.New("bad permission claims")

// Scope actions, after the "<claim>:" prefix of a scope entry.
const (
	scopeSubscribe = "subscribe:"
	scopePublish   = "publish:"
)

// buildPrincipal turns verified claims (decoded with json.Number) into a
// Principal. claimName is the permission claim and the scope prefix.
func buildPrincipal(claims map[string]any, claimName string) (*Principal, error) {
	p := &Principal{claims: scalarClaims(claims)}
	p.subject = p.claims["sub"]
	if exp, ok := claims["exp"].(json.Number); ok {
		if f, err := exp.Float64(); err == nil {
			sec := int64(f)
			p.expiresAt = time.Unix(sec, int64((f-float64(sec))*1e9))
		}
	}
	lookup := p.Claim

	var subscribe, publish []string
	var keys map[string]string
	if raw, ok := claims[claimName]; ok {
		var err error
		subscribe, publish, keys, err = parsePermissionClaim(raw)
		if err != nil {
			return nil, fmt.Errorf("claim %q: %w", claimName, err)
		}
	}
	for _, name := range []string{"scope", "scp"} {
		raw, ok := claims[name]
		if !ok {
			continue
		}
		sub, pub, err := parseScopes(raw, claimName+":")
		if err != nil {
			return nil, fmt.Errorf("claim %q: %w", name, err)
		}
		subscribe = append(subscribe, sub...)
		publish = append(publish, pub...)
	}

	var err error
	if p.subscribe, err = compileAll(subscribe, lookup); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if p.publish, err = compileAll(publish, lookup); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if p.keyRules, err = compileKeyRules(keys, lookup); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return p, nil
}

// parsePermissionClaim reads {"subscribe":[...],"publish":[...],
// "keys":{"pattern":"template"}}. Unknown members are ignored so issuers
// can add fields without breaking older gateways.
func parsePermissionClaim(raw any) (subscribe, publish []string, keys map[string]string, err error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: want an object, got %s", errBadClaims, jsonType(raw))
	}
	if subscribe, err = stringList(obj["subscribe"]); err != nil {
		return nil, nil, nil, fmt.Errorf("subscribe: %w", err)
	}
	if publish, err = stringList(obj["publish"]); err != nil {
		return nil, nil, nil, fmt.Errorf("publish: %w", err)
	}
	if rawKeys, ok := obj["keys"]; ok && rawKeys != nil {
		m, ok := rawKeys.(map[string]any)
		if !ok {
			return nil, nil, nil, fmt.Errorf("%w: keys: want an object, got %s", errBadClaims, jsonType(rawKeys))
		}
		keys = make(map[string]string, len(m))
		for pat, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, nil, nil, fmt.Errorf("%w: keys[%q]: want a string, got %s", errBadClaims, pat, jsonType(v))
			}
			keys[pat] = s
		}
	}
	return subscribe, publish, keys, nil
}

// stringList reads an absent/null value or an array of strings.
func stringList(raw any) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: want an array of strings, got %s", errBadClaims, jsonType(raw))
	}
	out := make([]string, 0, len(arr))
	for i, v := range arr {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: element %d: want a string, got %s", errBadClaims, i, jsonType(v))
		}
		out = append(out, s)
	}
	return out, nil
}

// parseScopes reads an OAuth2 scope claim (a space-separated string, or an
// array of strings as some IdPs issue in "scp") and keeps the entries
// "<prefix>subscribe:<pattern>" and "<prefix>publish:<pattern>". Other
// scopes are ignored.
func parseScopes(raw any, prefix string) (subscribe, publish []string, err error) {
	var entries []string
	switch v := raw.(type) {
	case string:
		entries = strings.Fields(v)
	case []any:
		list, err := stringList(v)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range list {
			entries = append(entries, strings.Fields(s)...)
		}
	default:
		return nil, nil, fmt.Errorf("%w: want a string or an array of strings, got %s", errBadClaims, jsonType(raw))
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e, prefix)
		if !ok {
			continue
		}
		if pat, ok := strings.CutPrefix(rest, scopeSubscribe); ok {
			subscribe = append(subscribe, pat)
		} else if pat, ok := strings.CutPrefix(rest, scopePublish); ok {
			publish = append(publish, pat)
		}
	}
	return subscribe, publish, nil
}

// compileAll compiles grants, dropping those that match nothing.
func compileAll(srcs []string, lookup func(string) (string, bool)) ([]Pattern, error) {
	var out []Pattern
	for _, src := range srcs {
		p, err := CompilePattern(src, lookup)
		if err != nil {
			return nil, err
		}
		if !p.MatchesNothing() {
			out = append(out, p)
		}
	}
	return out, nil
}

// compileKeyRules compiles the key rules in a stable order. A rule whose
// pattern or key template references a missing claim cannot be honoured,
// so it becomes a deny rule over every topic it could have covered: its
// missing claims are widened to "*" for the deny pattern. Default deny.
func compileKeyRules(keys map[string]string, lookup func(string) (string, bool)) ([]keyRule, error) {
	pats := make([]string, 0, len(keys))
	for pat := range keys {
		pats = append(pats, pat)
	}
	sort.Strings(pats)
	var out []keyRule
	for _, src := range pats {
		tpl := keys[src]
		if _, err := lexPattern(tpl); err != nil {
			return nil, fmt.Errorf("%q: %w", src, err)
		}
		if strings.Contains(tpl, "*") {
			return nil, fmt.Errorf("%w: key template %q for %q must not contain *", errBadClaims, tpl, src)
		}
		pat, err := CompilePattern(src, lookup)
		if err != nil {
			return nil, err
		}
		key, keyOK := ExpandTemplate(tpl, lookup)
		if !pat.MatchesNothing() && keyOK {
			out = append(out, keyRule{pattern: pat, key: key})
			continue
		}
		deny, err := compilePattern(src, lookup, true)
		if err != nil {
			return nil, err
		}
		out = append(out, keyRule{pattern: deny, deny: true})
	}
	return out, nil
}

// scalarClaims keeps the top-level string and number claims, numbers
// formatted plainly.
func scalarClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			if s, ok := plainNumber(v); ok {
				out[k] = s
			}
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return out
}

// plainNumber formats a JSON number without exponent: integer literals are
// kept exactly (even beyond 64 bits), others go through float64.
func plainNumber(n json.Number) (string, bool) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s, s != "" && s != "-"
	}
	f, err := n.Float64()
	if err != nil {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// jsonType names the JSON type of a decoded value for error messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
