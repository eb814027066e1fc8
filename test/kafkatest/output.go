package kafkatest

import (
	"bytes"
	"strings"
	"sync"
)

// lineRing is an io.Writer that keeps the last max complete lines written to
// it (plus any unterminated final line). It is safe for concurrent use.
type lineRing struct {
	mu      sync.Mutex
	max     int
	lines   []string // circular once len(lines) == max
	next    int      // index of the oldest line once full
	partial []byte   // bytes after the last newline
}

func newLineRing(max int) *lineRing {
	return &lineRing{max: max, lines: make([]string, 0, max)}
}

// Write implements io.Writer; it never fails.
func (r *lineRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.partial = append(r.partial, p...)
			return n, nil
		}
		r.add(string(append(r.partial, p[:i]...)))
		r.partial = r.partial[:0]
		p = p[i+1:]
	}
}

func (r *lineRing) add(line string) {
	if len(r.lines) < r.max {
		r.lines = append(r.lines, line)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % r.max
}

// String returns the kept lines, oldest first.
func (r *lineRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.lines)+1)
	out = append(out, r.lines[r.next:]...)
	out = append(out, r.lines[:r.next]...)
	if len(r.partial) > 0 {
		out = append(out, string(r.partial))
	}
	return strings.Join(out, "\n")
}
