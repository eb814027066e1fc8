package registry

import (
	"path"
	"sync"
	"sync/atomic"
)

// maxCachedRoutes bounds the per-topic route cache; topics beyond it are
// still governed, their route is just recomputed on every call.
const maxCachedRoutes = 100_000

// route is how one topic is governed; computed once per topic, immutable.
type route struct {
	passthrough   bool   // a passthrough rule matched: nothing is governed
	valueSubject  string // "" when no subject applies
	version       int    // 0 = latest
	valueExplicit bool   // a validate rule matched: a missing subject is a violation
	keySubject    string // "" when keys are not governed
	keyExplicit   bool   // key_subject was configured: a missing subject is a violation
}

// router maps topics to routes: the first matching rule, else the
// strategy's default subject. Safe for concurrent use; lookups of known
// topics take no lock.
type router struct {
	rules    []Rule
	strategy Strategy
	cache    sync.Map // topic → *route
	cached   atomic.Int64
}

func newRouter(cfg Config) *router {
	return &router{rules: cfg.Rules, strategy: cfg.Strategy}
}

func (r *router) routeFor(topic string) *route {
	if v, ok := r.cache.Load(topic); ok {
		return v.(*route)
	}
	rt := r.compute(topic)
	if r.cached.Load() < maxCachedRoutes {
		if _, loaded := r.cache.LoadOrStore(topic, rt); !loaded {
			r.cached.Add(1)
		}
	}
	return rt
}

// strategySubject derives the value subject for topic; record strategies
// need a record name.
func (r *router) strategySubject(topic, recordName string) string {
	switch r.strategy {
	case StrategyRecord:
		return recordName
	case StrategyTopicRecord:
		if recordName == "" {
			return ""
		}
		return topic + "-" + recordName
	default:
		return topic + "-value"
	}
}

func (r *router) compute(topic string) *route {
	for _, rule := range r.rules {
		// Patterns were checked by validate, so Match cannot fail here.
		if ok, _ := path.Match(rule.Topic, topic); !ok {
			continue
		}
		if rule.Mode == ModePassthrough {
			return &route{passthrough: true}
		}
		rt := &route{valueSubject: rule.Subject, valueExplicit: true, keySubject: rule.KeySubject, keyExplicit: rule.KeySubject != ""}
		rt.version, _ = parseVersion(rule.Version)
		if rt.valueSubject == "" {
			rt.valueSubject = r.strategySubject(topic, rule.RecordName)
		}
		if rt.keySubject == "" && r.strategy == StrategyTopic {
			rt.keySubject = topic + "-key"
		}
		return rt
	}
	rt := &route{valueSubject: r.strategySubject(topic, "")}
	if r.strategy == StrategyTopic {
		rt.keySubject = topic + "-key"
	}
	return rt
}
