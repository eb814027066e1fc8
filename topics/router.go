package topics

import (
	"errors"
	"fmt"
	"strings"
)

// Router finds the route for a URL path. It is immutable after New.
type Router struct {
	routes []*Route
}

// NewRouter compiles routes. It reports every bad route at once, and a path
// that two routes share.
func NewRouter(routes []RouteConfig) (*Router, error) {
	var errs []error
	r := &Router{}
	seen := map[string]string{}
	for _, c := range routes {
		route, rerrs := compileRoute(c)
		errs = append(errs, rerrs...)
		if len(rerrs) > 0 {
			continue
		}
		shape := route.shape()
		if other, dup := seen[shape]; dup {
			errs = append(errs, fmt.Errorf("route %q: same path shape as route %q", c.Path, other))
			continue
		}
		seen[shape] = c.Path
		r.routes = append(r.routes, route)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("routes: %w", errors.Join(errs...))
	}
	return r, nil
}

// Match returns the route for path and the values of its variables. Routes
// whose segments are literals win over variables at the same position, so
// "/chat/admin" can have its own route beside "/chat/{room}".
func (r *Router) Match(path string) (*Route, map[string]string, bool) {
	if r == nil || !strings.HasPrefix(path, "/") {
		return nil, nil, false
	}
	parts := strings.Split(path[1:], "/")
	var (
		best     *Route
		bestVars map[string]string
		bestLit  = -1
	)
	for _, route := range r.routes {
		vars, ok := route.match(parts)
		if !ok {
			continue
		}
		if lit := route.literals(); lit > bestLit {
			best, bestVars, bestLit = route, vars, lit
		}
	}
	return best, bestVars, best != nil
}

// Len reports how many routes the router holds.
func (r *Router) Len() int {
	if r == nil {
		return 0
	}
	return len(r.routes)
}

func (r *Route) literals() int {
	n := 0
	for _, s := range r.segments {
		if s.variable == "" {
			n++
		}
	}
	return n
}

// shape is the path with every variable replaced by "{}", so that
// "/chat/{a}" and "/chat/{b}" are seen as the same route.
func (r *Route) shape() string {
	var b strings.Builder
	for _, s := range r.segments {
		b.WriteByte('/')
		if s.variable != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(s.literal)
		}
	}
	return b.String()
}
