package compose_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// fakeRegistry stands in for the schema registry's
// POST /subjects/{subject}/versions.
type fakeRegistry struct {
	status int // answered to every registration

	mu         sync.Mutex
	registered map[string]registration // by subject
	errs       []string
}

type registration struct {
	SchemaType string `json:"schemaType"`
	Schema     string `json:"schema"`
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	subject, ok := strings.CutPrefix(r.URL.Path, "/subjects/")
	subject, ok2 := strings.CutSuffix(subject, "/versions")
	if r.Method != http.MethodPost || !ok || !ok2 {
		f.errs = append(f.errs, fmt.Sprintf("unexpected request %s %s", r.Method, r.URL.Path))
		http.NotFound(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/vnd.schemaregistry.v1+json" && ct != "application/json" {
		f.errs = append(f.errs, fmt.Sprintf("%s: Content-Type %q", subject, ct))
	}
	var reg registration
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&reg); err != nil {
		f.errs = append(f.errs, fmt.Sprintf("%s: body is not a registration: %v", subject, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.registered[subject] = reg
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(f.status)
	if f.status == http.StatusOK {
		fmt.Fprintf(w, `{"id":%d}`, len(f.registered))
	} else {
		fmt.Fprint(w, `{"error_code":42201,"message":"Invalid schema"}`)
	}
}

// TestInitScript runs the init service's entrypoint on the host with the
// service's environment, a stub kafka-topics and a stand-in registry: it
// must create every topic of TOPICS and register every schema file with
// its type and unchanged content, and fail when the registry refuses.
func TestInitScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed", "tr", "mktemp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the init script needs %s (install it; scripts/install-test-deps.sh installs curl): %v", tool, err)
		}
	}
	initSvc := service(t, loadProject(t), "init")
	if len(initSvc.Entrypoint) != 2 || initSvc.Entrypoint[0] != "bash" {
		t.Fatalf("init's entrypoint is %q, want [bash /path/to/script]", initSvc.Entrypoint)
	}
	script := hostPath(t, initSvc, initSvc.Entrypoint[1])
	env := map[string]string{}
	for _, kv := range environment(initSvc) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	schemaDir := hostPath(t, initSvc, env["SCHEMA_DIR"])
	wantSchemas := map[string]string{} // subject → schemaType
	for ext, typ := range map[string]string{".avsc": "AVRO", ".json": "JSON"} {
		files, _ := filepath.Glob(filepath.Join(schemaDir, "*"+ext))
		for _, f := range files {
			wantSchemas[strings.TrimSuffix(filepath.Base(f), ext)] = typ
		}
	}
	if len(wantSchemas) == 0 {
		t.Fatalf("no schemas in %s", schemaDir)
	}

	for _, c := range []struct {
		name   string
		status int
		ok     bool
	}{
		{"registers", http.StatusOK, true},
		{"registry refuses", http.StatusUnprocessableEntity, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := &fakeRegistry{status: c.status, registered: map[string]registration{}}
			srv := httptest.NewServer(reg)
			defer srv.Close()

			// A stub kafka-topics that records its arguments.
			bin := t.TempDir()
			calls := filepath.Join(bin, "calls")
			stub := "#!/bin/sh\necho \"$*\" >> " + calls + "\n"
			if err := os.WriteFile(filepath.Join(bin, "kafka-topics"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command("bash", script)
			cmd.Env = []string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"TMPDIR=" + t.TempDir(),
			}
			for k, v := range env {
				switch k {
				case "SCHEMA_REGISTRY_URL":
					v = srv.URL
				case "SCHEMA_DIR":
					v = schemaDir
				}
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if ok := err == nil; ok != c.ok {
				t.Fatalf("init script: exit error %v, want success %v\n%s", err, c.ok, out)
			}
			if !c.ok {
				return
			}

			data, err := os.ReadFile(calls)
			if err != nil {
				t.Fatalf("kafka-topics was not run: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			topics := strings.Fields(env["TOPICS"])
			if len(lines) != len(topics) {
				t.Errorf("kafka-topics ran %d times, want once per topic of %q:\n%s", len(lines), topics, data)
			}
			for _, topic := range topics {
				want := []string{"--bootstrap-server " + env["BOOTSTRAP_SERVERS"], "--create", "--if-not-exists", "--topic " + topic + " "}
				if !slices.ContainsFunc(lines, func(l string) bool {
					for _, w := range want {
						if !strings.Contains(l+" ", w) {
							return false
						}
					}
					return true
				}) {
					t.Errorf("no kafka-topics call creates %s with %q:\n%s", topic, want, data)
				}
			}

			reg.mu.Lock()
			defer reg.mu.Unlock()
			for _, e := range reg.errs {
				t.Error(e)
			}
			for subject, typ := range wantSchemas {
				got, ok := reg.registered[subject]
				if !ok {
					t.Errorf("subject %s was not registered\n%s", subject, out)
					continue
				}
				if got.SchemaType != typ {
					t.Errorf("subject %s registered as %s, want %s", subject, got.SchemaType, typ)
				}
				ext := map[string]string{"AVRO": ".avsc", "JSON": ".json"}[typ]
				file, err := os.ReadFile(filepath.Join(schemaDir, subject+ext))
				if err != nil {
					t.Fatal(err)
				}
				if !sameJSON(t, []byte(got.Schema), file) {
					t.Errorf("subject %s: the registered schema differs from %s%s:\n%s", subject, subject, ext, got.Schema)
				}
			}
			if len(reg.registered) != len(wantSchemas) {
				t.Errorf("registered %d subjects, want %d", len(reg.registered), len(wantSchemas))
			}
		})
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Errorf("not JSON: %v", err)
		return false
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Errorf("not JSON: %v", err)
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// The init service must be a one-shot job the stack does not restart.
func TestInitRunsOnce(t *testing.T) {
	s := service(t, loadProject(t), "init")
	if s.Restart != "" && s.Restart != types.RestartPolicyNo {
		t.Errorf("init restart policy %q; a one-shot job must not restart", s.Restart)
	}
}
