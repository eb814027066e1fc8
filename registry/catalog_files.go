package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// historyDir is the subdirectory of a filesystem catalog whose schema files
// are loaded only so that their IDs stay resolvable for decoding.
const historyDir = "history"

// fileState remembers what a schema file looked like when last read.
type fileState struct {
	mtime   time.Time
	size    int64
	subject string // empty for history files
	schema  *schema
}

// fsCatalog serves <subject>.avsc and <subject>.json files from a directory,
// re-reading changed files every poll interval or on Reload. Old schema IDs
// stay resolvable for the life of the process.
type fsCatalog struct {
	staticCatalog
	dir string
	log *slog.Logger

	mu       sync.Mutex // serialises reloads; guards files and versions
	files    map[string]fileState
	versions map[string]int // subject → in-process version counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newFSCatalog loads dir and, when poll > 0, starts the watcher goroutine.
// Any unreadable or invalid schema file fails construction.
func newFSCatalog(dir string, poll time.Duration, log *slog.Logger) (*fsCatalog, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("schema directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("schema directory %s is not a directory", dir)
	}
	c := &fsCatalog{dir: dir, log: log, files: map[string]fileState{}, versions: map[string]int{}}
	c.table.Store(&staticTable{subjects: map[string]*schema{}, ids: map[int]*schema{}, subjectIDs: map[string]map[int]bool{}})
	if err := c.reload(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if poll > 0 {
		c.wg.Add(1)
		go c.watch(ctx, poll)
	}
	return c, nil
}

func (c *fsCatalog) watch(ctx context.Context, poll time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.reload(); err != nil {
				c.log.Warn("schema directory reload kept previous schemas", "dir", c.dir, "err", err)
			}
		}
	}
}

func (c *fsCatalog) close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// schemaFile classifies a file name: subject and format, ok false to skip.
func schemaFile(name string) (string, SchemaFormat, bool) {
	switch {
	case strings.HasPrefix(name, "."):
		return "", "", false
	case strings.HasSuffix(name, ".avsc"):
		return strings.TrimSuffix(name, ".avsc"), FormatAvro, true
	case strings.HasSuffix(name, ".json"):
		return strings.TrimSuffix(name, ".json"), FormatJSON, true
	}
	return "", "", false
}

// reload re-reads changed files and publishes a new table when anything
// changed. A file that fails keeps its subject's previous schema; the
// failures are returned together.
func (c *fsCatalog) reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()

	var errs []error
	seen := map[string]bool{}
	changed := false
	prev := c.table.Load()
	ids := make(map[int]*schema, len(prev.ids))
	for id, s := range prev.ids {
		ids[id] = s
	}

	scan := func(dir string, history bool) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !history || !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("reading %s: %w", dir, err))
			}
			return
		}
		for _, ent := range entries {
			subject, format, ok := schemaFile(ent.Name())
			if !ok || ent.IsDir() {
				continue
			}
			path := filepath.Join(dir, ent.Name())
			info, err := ent.Info()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
				continue
			}
			if history {
				subject = ""
			}
			seen[path] = true
			old, had := c.files[path]
			if had && old.mtime.Equal(info.ModTime()) && old.size == info.Size() {
				continue
			}
			text, err := os.ReadFile(path)
			if err == nil {
				var s *schema
				s, err = compileLocal(format, text, ids)
				if err == nil {
					ids[s.id] = s
					c.files[path] = fileState{mtime: info.ModTime(), size: info.Size(), subject: subject, schema: s}
					changed = true
					continue
				}
			}
			// Remember the failed version so it is reported once, not every
			// poll; the subject keeps its previous schema, if any.
			c.files[path] = fileState{mtime: info.ModTime(), size: info.Size(), subject: subject, schema: old.schema}
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	scan(c.dir, false)
	scan(filepath.Join(c.dir, historyDir), true)

	for path := range c.files {
		if !seen[path] {
			delete(c.files, path)
			changed = true
		}
	}
	if !changed {
		return errors.Join(errs...)
	}

	t := &staticTable{subjects: map[string]*schema{}, ids: ids, subjectIDs: map[string]map[int]bool{}}
	for subj, m := range prev.subjectIDs {
		cp := make(map[int]bool, len(m)+1)
		for id := range m {
			cp[id] = true
		}
		t.subjectIDs[subj] = cp
	}
	for path, fs := range c.files {
		if fs.subject == "" || fs.schema == nil {
			continue
		}
		if other := t.subjects[fs.subject]; other != nil && other != fs.schema {
			errs = append(errs, fmt.Errorf("%s: subject %s is defined by two files", path, fs.subject))
			continue
		}
		t.subjects[fs.subject] = fs.schema
		if t.subjectIDs[fs.subject] == nil {
			t.subjectIDs[fs.subject] = map[int]bool{}
		}
		if !t.subjectIDs[fs.subject][fs.schema.id] {
			t.subjectIDs[fs.subject][fs.schema.id] = true
			c.versions[fs.subject]++
			c.log.Info("schema loaded", "subject", fs.subject, "id", fs.schema.id,
				"version", c.versions[fs.subject], "file", path)
		}
	}
	c.table.Store(t)
	return errors.Join(errs...)
}
