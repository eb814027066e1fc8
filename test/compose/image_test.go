package compose_test

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// dockerfile is what the tests need from the Dockerfile.
type dockerfile struct {
	// buildEnv are the NAME=value assignments before "go build".
	buildEnv []string
	// buildArgs are the arguments after "go build".
	buildArgs []string
	// output is the -o path of the build.
	output string
	// finalImage is the FROM of the last stage.
	finalImage string
	// user is the last USER.
	user       string
	expose     []string
	entrypoint []string
}

var envAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// parseDockerfile reads the instructions the tests check. The go build
// must be the only command of its RUN line.
func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var df dockerfile
	for _, line := range instructions(string(data)) {
		op, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(op) {
		case "FROM":
			df.finalImage = strings.Fields(rest)[0]
		case "USER":
			df.user = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				port, _, _ := strings.Cut(p, "/")
				df.expose = append(df.expose, port)
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &df.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT must be a JSON array (exec form): %v", err)
			}
		case "RUN":
			words, err := shellWords(rest)
			if err != nil {
				t.Fatalf("Dockerfile: RUN %s: %v", rest, err)
			}
			for len(words) > 0 && strings.HasPrefix(words[0], "--") { // --mount=...
				words = words[1:]
			}
			var env []string
			for len(words) > 0 && envAssignment.MatchString(words[0]) {
				env, words = append(env, words[0]), words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				continue
			}
			if df.buildArgs != nil {
				t.Fatal("Dockerfile: more than one go build")
			}
			df.buildEnv, df.buildArgs = env, words[2:]
			for _, w := range df.buildArgs {
				if strings.ContainsAny(w, ";&|") {
					t.Fatalf("Dockerfile: the go build RUN line must hold only the build, found %q", w)
				}
			}
		}
	}
	if df.buildArgs == nil {
		t.Fatal("Dockerfile: no RUN ... go build line")
	}
	if i := slices.Index(df.buildArgs, "-o"); i >= 0 && i+1 < len(df.buildArgs) {
		df.output = df.buildArgs[i+1]
	} else {
		t.Fatalf("Dockerfile: go build %q has no -o", df.buildArgs)
	}
	return df
}

// instructions splits a Dockerfile into instructions, joining continuation
// lines and dropping comments and blank lines.
func instructions(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// shellWords splits s as a POSIX shell would split simple words: single
// and double quotes and backslash escapes; no expansions.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
			continue
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				w.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			i = j
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`CGO_ENABLED=0 go build -ldflags='-s -w' -o /sluice ./cmd/sluice`, []string{"CGO_ENABLED=0", "go", "build", "-ldflags=-s -w", "-o", "/sluice", "./cmd/sluice"}},
		{`-ldflags="-s -w -X main.v=\"1\""`, []string{`-ldflags=-s -w -X main.v="1"`}},
		{`a\ b  c`, []string{"a b", "c"}},
		{`''`, []string{""}},
	} {
		got, err := shellWords(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := shellWords(`'open`); err == nil {
		t.Error("shellWords accepted an unterminated quote")
	}
}

// TestDockerfileImage checks the final stage: distroless, nonroot, and an
// ENTRYPOINT that runs the binary the build stage produces.
func TestDockerfileImage(t *testing.T) {
	df := parseDockerfile(t)
	if !strings.HasPrefix(df.finalImage, "gcr.io/distroless/static") {
		t.Errorf("final stage is FROM %s, want a gcr.io/distroless/static image", df.finalImage)
	}
	if df.user != "nonroot" {
		t.Errorf("final USER is %q, want nonroot", df.user)
	}
	if len(df.entrypoint) < 2 || df.entrypoint[0] != df.output || df.entrypoint[1] != "serve" {
		t.Errorf("ENTRYPOINT %q must run %s serve", df.entrypoint, df.output)
	}
}

var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildLog  []byte
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-compose-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildSluice builds the binary exactly as the Dockerfile's RUN line does,
// with its -o pointed into a temporary directory, once per test run.
func buildSluice(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Fatal("the image's binary is a linux build: run this test on linux")
	}
	df := parseDockerfile(t)
	root := repoRoot(t)
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "sluice")
		args := slices.Clone(df.buildArgs)
		args[slices.Index(args, "-o")+1] = binPath
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), df.buildEnv...)
		buildLog, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build as in the Dockerfile: %v\n%s", buildErr, buildLog)
	}
	return binPath
}

// TestDockerfileBuildsStaticBinary checks that the Dockerfile's build
// makes a static, stripped executable that runs on distroless/static (no
// libc, no dynamic loader), and that the build settings it records are the
// ones the Dockerfile asks for.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	df := parseDockerfile(t)
	if !slices.Contains(df.buildEnv, "CGO_ENABLED=0") {
		t.Errorf("the Dockerfile's go build runs with %q, want CGO_ENABLED=0", df.buildEnv)
	}
	bin := buildSluice(t)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF executable: %v", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it needs a dynamic loader, which distroless/static lacks")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %q", libs)
	}
	// -s drops the symbol table, -w the DWARF debug information.
	for _, sec := range f.Sections {
		if sec.Name == ".symtab" || strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("the binary has section %s: -ldflags='-s -w' should strip it", sec.Name)
		}
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// With -trimpath the go command does not record -ldflags (they may
	// hold paths); the stripped sections above stand for them.
	want := map[string]string{"CGO_ENABLED": "0", "GOOS": "linux"}
	if slices.Contains(df.buildArgs, "-trimpath") {
		want["-trimpath"] = "true"
	} else {
		t.Errorf("the Dockerfile's go build %q lacks -trimpath", df.buildArgs)
	}
	if !slices.ContainsFunc(df.buildArgs, func(a string) bool { return strings.HasPrefix(a, "-ldflags=") }) {
		t.Errorf("the Dockerfile's go build %q lacks -ldflags", df.buildArgs)
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], v)
		}
	}
	if info.Main.Path != "github.com/sluicehq/sluice" || info.Path != "github.com/sluicehq/sluice/cmd/sluice" {
		t.Errorf("built %s (module %s), want github.com/sluicehq/sluice/cmd/sluice", info.Path, info.Main.Path)
	}
}

// TestSluiceHealthcheckCommand runs the sluice service's healthcheck
// command (the image has no shell or curl, so the binary checks itself)
// against a stand-in server: it must exit 0 on 200 and fail otherwise.
func TestSluiceHealthcheckCommand(t *testing.T) {
	hc := service(t, loadProject(t), "sluice").HealthCheck
	df := parseDockerfile(t)
	if hc == nil || len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != df.output {
		t.Fatalf("the sluice healthcheck must be [CMD, %s, ...] (exec form: distroless has no shell), got %+v", df.output, hc)
	}
	bin := buildSluice(t)

	for _, c := range []struct {
		name   string
		status int
		ok     bool
	}{
		{"ready", http.StatusOK, true},
		{"not ready", http.StatusServiceUnavailable, false},
		{"not found", http.StatusNotFound, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var gotPath string
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				gotPath = r.URL.Path
				mu.Unlock()
				w.WriteHeader(c.status)
			}))
			defer srv.Close()

			// The healthcheck's arguments, with its URL moved to the server.
			args := slices.Clone(hc.Test[2:])
			wantPath := ""
			for i, a := range args {
				u, err := url.Parse(a)
				if err != nil || u.Scheme != "http" {
					continue
				}
				wantPath = u.Path
				args[i] = srv.URL + u.Path
			}
			if wantPath == "" {
				t.Fatalf("the healthcheck %q has no http URL", hc.Test)
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if strings.Contains(string(out), `unknown command "`+args[0]+`"`) {
				t.Fatalf("sluice has no %q subcommand, which the compose healthcheck runs: %s", args[0], out)
			}
			if ok := err == nil; ok != c.ok {
				t.Errorf("sluice %s against HTTP %d: exit error %v, want success %v\n%s", strings.Join(args, " "), c.status, err, c.ok, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if gotPath != wantPath {
				t.Errorf("healthcheck requested %q, want %q", gotPath, wantPath)
			}
		})
	}
}
