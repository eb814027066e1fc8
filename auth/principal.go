package auth

import "time"

// Principal is an authenticated client and what it may do. It is built
// once per token by [Guard.Authenticate] (or [AllowAll]) with every
// pattern compiled; it is immutable and safe for concurrent use, and its
// permission checks do not allocate. A nil *Principal grants nothing.
type Principal struct {
	subject   string
	expiresAt time.Time
	all       bool
	subscribe []Pattern
	publish   []Pattern
	keyRules  []keyRule
	claims    map[string]string
}

// keyRule restricts subscriptions to topics matching pattern to records
// whose key equals key. A deny rule (its key template could not be
// expanded) closes the matching topics instead.
type keyRule struct {
	pattern Pattern
	key     string
	deny    bool
}

// AllowAll returns a principal that may subscribe and publish to every
// topic, without key restrictions. It is what mode "none" yields; its
// subject is empty, it has no claims and it never expires.
func AllowAll() *Principal {
	return &Principal{all: true}
}

// Subject returns the token's sub claim ("" if absent, and for
// [AllowAll]).
func (p *Principal) Subject() string {
	if p == nil {
		return ""
	}
	return p.subject
}

// ExpiresAt returns the token's exp, or the zero time if it has none (and
// for [AllowAll]).
func (p *Principal) ExpiresAt() time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.expiresAt
}

// IsAllowAll reports whether p is unrestricted ([AllowAll]).
func (p *Principal) IsAllowAll() bool { return p != nil && p.all }

// CanSubscribe reports whether p may subscribe to topic: some subscribe
// grant matches it and no key rule closes it (see [Principal.KeyRestriction]
// for the records it may then see).
func (p *Principal) CanSubscribe(topic string) bool {
	if p == nil {
		return false
	}
	if p.all {
		return true
	}
	if !matchAny(p.subscribe, topic) {
		return false
	}
	_, _, ok := p.keyCheck(topic)
	return ok
}

// CanPublish reports whether p may publish to topic.
func (p *Principal) CanPublish(topic string) bool {
	return p != nil && (p.all || matchAny(p.publish, topic))
}

// KeyRestriction returns the record key a subscription to topic is limited
// to: only records whose key equals key may be delivered. restricted is
// false when every record may be delivered. It is meaningful only for a
// topic [Principal.CanSubscribe] allows; for a topic a key rule closes it
// returns ("", true).
func (p *Principal) KeyRestriction(topic string) (key string, restricted bool) {
	if p == nil {
		return "", true
	}
	if p.all {
		return "", false
	}
	key, restricted, ok := p.keyCheck(topic)
	if !ok {
		return "", true
	}
	return key, restricted
}

// keyCheck evaluates the key rules matching topic. ok is false when a deny
// rule matches or two matching rules demand different keys (no record can
// satisfy both).
func (p *Principal) keyCheck(topic string) (key string, restricted, ok bool) {
	for i := range p.keyRules {
		r := &p.keyRules[i]
		if !r.pattern.Match(topic) {
			continue
		}
		if r.deny || (restricted && r.key != key) {
			return "", true, false
		}
		key, restricted = r.key, true
	}
	return key, restricted, true
}

// Claim returns the value of a top-level string or number claim of the
// token (numbers formatted plainly, e.g. 42 or 1.5). Other claim types,
// and every claim of [AllowAll], report false.
func (p *Principal) Claim(name string) (string, bool) {
	if p == nil {
		return "", false
	}
	v, ok := p.claims[name]
	return v, ok
}

// GrantsNothing reports whether p can neither subscribe to nor publish to
// any topic. The bridge may refuse such a client outright.
func (p *Principal) GrantsNothing() bool {
	return p == nil || (!p.all && len(p.subscribe) == 0 && len(p.publish) == 0)
}

// matchAny reports whether any pattern matches topic.
func matchAny(ps []Pattern, topic string) bool {
	for i := range ps {
		if ps[i].Match(topic) {
			return true
		}
	}
	return false
}
