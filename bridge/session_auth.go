package bridge

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// sessionAuth holds a session's token timers. The expiry closes the socket
// with 4401 unless the client sent a fresh token; ExpiryWarning before it
// the server sends {"op":"auth_expiring","seconds":N}.
type sessionAuth struct {
	mu    sync.Mutex
	warn  *time.Timer
	close *time.Timer
}

type authenticatedReply struct {
	Op        string `json:"op"`
	ID        string `json:"id,omitempty"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
}

type expiringReply struct {
	Op      string `json:"op"`
	Seconds int64  `json:"seconds"`
}

// armExpiry replaces the session's token timers for a token expiring at exp.
func (s *session) armExpiry(exp time.Time) {
	a := &s.authTimers
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.warn != nil {
		a.warn.Stop()
	}
	if a.close != nil {
		a.close.Stop()
	}
	a.warn, a.close = nil, nil
	if exp.IsZero() {
		return
	}
	left := time.Until(exp)
	if w := left - s.srv.cfg.ExpiryWarning; w > 0 {
		a.warn = time.AfterFunc(w, func() {
			s.enqueue(replyFrame(expiringReply{Op: "auth_expiring", Seconds: int64(s.srv.cfg.ExpiryWarning.Round(time.Second) / time.Second)}))
		})
	} else if left > 0 {
		s.enqueue(replyFrame(expiringReply{Op: "auth_expiring", Seconds: int64(left.Round(time.Second) / time.Second)}))
	}
	a.close = time.AfterFunc(max(left, 0), func() {
		s.srv.metrics.authFailures.WithLabelValues("expired").Inc()
		s.close(CloseUnauthorized, "token expired", reasonUnauthorized, true)
	})
}

func (s *session) stopExpiry() { s.armExpiry(time.Time{}) }

// authOp answers {"op":"auth","token":...}: the first authentication of a
// socket that did not bring a token to the upgrade, or a refresh. A
// refreshed token with fewer rights drops the subscriptions it no longer
// covers, each with a forbidden error.
func (s *session) authOp(in *inbound) {
	if s.srv.auth == nil {
		if s.currentPrincipal() == nil {
			s.principal.Store(&principalBox{allowAll{}})
		}
		s.enqueue(replyFrame(authenticatedReply{Op: "authenticated", ID: in.ID}))
		return
	}
	p, err := s.srv.auth.Authenticate(s.ctx, in.Token)
	if err != nil {
		s.srv.metrics.authFailures.WithLabelValues(s.srv.auth.FailureReason(err)).Inc()
		if s.currentPrincipal() == nil {
			s.close(CloseUnauthorized, "invalid token", reasonUnauthorized, true)
			return
		}
		// A failed refresh leaves the current token in force until it expires.
		s.reply(in.ID, &opError{code: CodeUnauthorized, msg: err.Error()})
		return
	}
	s.principal.Store(&principalBox{p})
	s.armExpiry(p.ExpiresAt())
	s.subsMu.Lock()
	var lost []*subscription
	var lostGroups []*groupSub
	for topic, sub := range s.subs {
		if !p.CanSubscribe(topic) || !sub.keyRule.covers(p, topic) {
			lost = append(lost, sub)
		}
	}
	for topic, g := range s.groups {
		if !p.CanSubscribe(topic) || !g.keyRule.covers(p, topic) {
			lostGroups = append(lostGroups, g)
			delete(s.groups, topic)
		}
	}
	s.subsMu.Unlock()
	for _, sub := range lost {
		s.dropSubscription(sub)
		s.reply(sub.id, refreshDenied(p, sub.topic))
	}
	for _, g := range lostGroups {
		g.stop() // commits what the client acknowledged, as unsubscribe does
		s.srv.metrics.subscriptions.Dec()
		s.reply(g.id, refreshDenied(p, g.topic))
	}
	reply := authenticatedReply{Op: "authenticated", ID: in.ID}
	if exp := p.ExpiresAt(); !exp.IsZero() {
		reply.ExpiresAt = exp.UnixMilli()
	}
	s.enqueue(replyFrame(reply))
}

// refreshDenied is the error ending a subscription a refreshed token no
// longer covers: no subscribe grant, or a key restriction it lacked.
func refreshDenied(p Principal, topic string) *opError {
	msg := "the refreshed token does not grant subscribe on " + topic + "; subscription ended"
	if p.CanSubscribe(topic) {
		msg = "the refreshed token restricts the keys of " + topic + "; subscription ended, subscribe again"
	}
	return &opError{code: CodeForbidden, msg: msg, topic: topic}
}

// isJSON reports whether b is one valid JSON value.
func isJSON(b []byte) bool { return json.Valid(b) }

// authDeadline closes a socket that did not authenticate in time.
func (s *session) authDeadline(d time.Duration) *time.Timer {
	return time.AfterFunc(d, func() {
		if s.currentPrincipal() == nil {
			s.srv.metrics.authFailures.WithLabelValues("missing").Inc()
			s.close(CloseUnauthorized, fmt.Sprintf("no auth op within %s", d), reasonUnauthorized, true)
		}
	})
}
