package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// AssetPrefix is where the console's stylesheet, script and client modules
// are served; the page itself is served at "/".
const AssetPrefix = "/console/"

//go:embed assets
var assets embed.FS

// contentSecurityPolicy lets the page load only its own files and open
// WebSockets to any gateway the user types in.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the console page at "/" and its assets under AssetPrefix.
// Mount it for "GET /{$}" and "GET /console/"; any other path is answered
// 404.
func Handler() http.Handler {
	root, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("console: embedded assets missing: " + err.Error()) // the embed directive guarantees them
	}
	files := http.StripPrefix(AssetPrefix[:len(AssetPrefix)-1], http.FileServerFS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change only with the binary; revalidating is cheap.
		h.Set("Cache-Control", "no-cache")
		switch {
		case r.URL.Path == "/":
			http.ServeFileFS(w, r, root, "index.html")
		case strings.HasPrefix(r.URL.Path, AssetPrefix) && !strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != AssetPrefix+"index.html":
			// No directory listings, and the page has one address.
			files.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
