package console

import (
	"bytes"
	"io/fs"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		contains           string
	}{
		{"page", "GET", "/", 200, "text/html", `src="console/console.js"`},
		{"page head", "HEAD", "/", 200, "text/html", ""},
		{"script", "GET", "/console/console.js", 200, "text/javascript", `from "./client/index.js"`},
		{"stylesheet", "GET", "/console/console.css", 200, "text/css", ".state-open"},
		{"client module", "GET", "/console/client/index.js", 200, "text/javascript", "Sluice"},
		{"no listing of the assets", "GET", "/console/", 404, "", ""},
		{"no listing of the client", "GET", "/console/client/", 404, "", ""},
		{"page has one address", "GET", "/console/index.html", 404, "", ""},
		{"unknown asset", "GET", "/console/nope.js", 404, "", ""},
		{"other path", "GET", "/elsewhere", 404, "", ""},
		{"post", "POST", "/", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %q", tc.method, tc.path, rec.Code, tc.status, rec.Body.String())
			}
			if tc.status != 200 && tc.status != 404 {
				return
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != contentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q, want %q", got, contentSecurityPolicy)
			}
			if tc.status != 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
		})
	}
}

// TestClientCopyIsCurrent fails when assets/client differs from the
// compiled client in clients/js/dist: run `npm run build` in clients/js.
func TestClientCopyIsCurrent(t *testing.T) {
	dist := filepath.Join("..", "..", "..", "clients", "js", "dist")
	want, err := filepath.Glob(filepath.Join(dist, "*.js"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no compiled client in %s (%v)", dist, err)
	}
	embedded, err := fs.Glob(assets, "assets/client/*.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != len(want) {
		t.Errorf("assets/client has %d modules, clients/js/dist %d: run npm run build in clients/js", len(embedded), len(want))
	}
	for _, f := range want {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := assets.ReadFile("assets/client/" + filepath.Base(f))
		if err != nil {
			t.Errorf("assets/client lacks %s: run npm run build in clients/js", filepath.Base(f))
			continue
		}
		if !bytes.Equal(got, src) {
			t.Errorf("assets/client/%s differs from clients/js/dist: run npm run build in clients/js", filepath.Base(f))
		}
	}
}

// TestImportsResolve checks that every relative module import of the
// embedded scripts names an embedded file.
func TestImportsResolve(t *testing.T) {
	imp := regexp.MustCompile(`(?m)(?:^|\s)(?:import|export)\s[^"']*?from\s+["'](\.[^"']+)["']`)
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range imp.FindAllSubmatch(src, -1) {
			target := path.Join(path.Dir(p), string(m[1]))
			if _, err := fs.Stat(assets, target); err != nil {
				t.Errorf("%s imports %s, which is not embedded", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
