// Package compose_test checks the docker-compose demo stack without a
// Docker engine: docker-compose.yml is loaded with compose-go (the library
// behind "docker compose"), the Dockerfile's build command is run on the
// host, and the files the stack mounts are checked and exercised.
package compose_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// loadProject loads docker-compose.yml as "docker compose" would, with
// paths resolved against the repository and no variables from the test's
// environment.
func loadProject(t *testing.T) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithResolvedPaths(true),
		cli.WithEnv(nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return s
}

func TestServicesExist(t *testing.T) {
	p := loadProject(t)
	for _, name := range []string{"kafka", "schema-registry", "init", "sluice"} {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			if s.Image == "" && s.Build == nil {
				t.Errorf("service %s has neither image nor build", name)
			}
		})
	}
	if s := service(t, p, "sluice"); s.Build == nil || filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
		t.Errorf("service sluice must be built from ./Dockerfile, build is %+v", s.Build)
	}
}

// TestHealthchecks checks that every long-running service reports health,
// so that depends_on can wait for it, and that the one-shot init has none.
func TestHealthchecks(t *testing.T) {
	p := loadProject(t)
	for _, name := range []string{"kafka", "schema-registry", "sluice"} {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			switch {
			case hc == nil || hc.Disable || len(hc.Test) < 2:
				t.Fatalf("service %s has no healthcheck: %+v", name, hc)
			case hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL":
				t.Errorf("service %s: healthcheck test starts with %q, want CMD or CMD-SHELL", name, hc.Test[0])
			case hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || *hc.Retries == 0:
				t.Errorf("service %s: healthcheck needs interval, timeout and retries: %+v", name, hc)
			}
		})
	}
	if hc := service(t, p, "init").HealthCheck; hc != nil && !hc.Disable {
		t.Errorf("init is a one-shot job and needs no healthcheck: %+v", hc)
	}
}

// TestStartOrder checks the depends_on conditions and that they start the
// stack in the order kafka, schema-registry, init, sluice.
func TestStartOrder(t *testing.T) {
	p := loadProject(t)
	for _, c := range []struct{ service, dependency, condition string }{
		{"schema-registry", "kafka", types.ServiceConditionHealthy},
		{"init", "kafka", types.ServiceConditionHealthy},
		{"init", "schema-registry", types.ServiceConditionHealthy},
		{"sluice", "kafka", types.ServiceConditionHealthy},
		{"sluice", "schema-registry", types.ServiceConditionHealthy},
		{"sluice", "init", types.ServiceConditionCompletedSuccessfully},
	} {
		t.Run(c.service+"->"+c.dependency, func(t *testing.T) {
			dep, ok := service(t, p, c.service).DependsOn[c.dependency]
			switch {
			case !ok:
				t.Errorf("%s does not depend on %s", c.service, c.dependency)
			case dep.Condition != c.condition:
				t.Errorf("%s waits for %s to be %q, want %q", c.service, c.dependency, dep.Condition, c.condition)
			case !dep.Required:
				t.Errorf("%s: dependency on %s is not required", c.service, c.dependency)
			}
		})
	}

	// depth is the length of the longest depends_on chain below a service.
	depth := map[string]int{}
	var visit func(name string, path []string) int
	visit = func(name string, path []string) int {
		if slices.Contains(path, name) {
			t.Fatalf("depends_on cycle: %s -> %s", strings.Join(path, " -> "), name)
		}
		if d, ok := depth[name]; ok {
			return d
		}
		d := 0
		for dep := range service(t, p, name).DependsOn {
			d = max(d, visit(dep, append(path, name))+1)
		}
		depth[name] = d
		return d
	}
	order := []string{"kafka", "schema-registry", "init", "sluice"}
	for i := 1; i < len(order); i++ {
		if a, b := visit(order[i-1], nil), visit(order[i], nil); a >= b {
			t.Errorf("%s (depth %d) must start before %s (depth %d)", order[i-1], a, order[i], b)
		}
	}
}

// TestBindMountsExist checks that every host path the stack mounts is in
// the repository and exists, and that the stack cannot write to it.
func TestBindMountsExist(t *testing.T) {
	p := loadProject(t)
	root := repoRoot(t)
	n := 0
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			n++
			t.Run(s.Name+":"+v.Target, func(t *testing.T) {
				rel, err := filepath.Rel(root, v.Source)
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("service %s mounts %s, outside the repository", s.Name, v.Source)
				}
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s mounts a missing host path: %v", s.Name, err)
				}
				if !v.ReadOnly {
					t.Errorf("service %s mounts %s writable; mount repository files read_only", s.Name, rel)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no bind mounts found; the sluice config and init script should be mounted")
	}
}

// hostPath maps a path inside service s's container to the host path of
// the bind mount that provides it.
func hostPath(t *testing.T, s types.ServiceConfig, containerPath string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if containerPath == v.Target {
			return v.Source
		}
		if rel, ok := strings.CutPrefix(containerPath, strings.TrimSuffix(v.Target, "/")+"/"); ok {
			return filepath.Join(v.Source, filepath.FromSlash(rel))
		}
	}
	t.Fatalf("service %s: no bind mount provides %s", s.Name, containerPath)
	return ""
}

// environment returns service s's environment as NAME=value entries.
func environment(s types.ServiceConfig) []string {
	var env []string
	for k, v := range s.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	return env
}

// exampleConfig is the part of the mounted Sluice config the stack's
// wiring depends on.
type exampleConfig struct {
	Listen string `yaml:"listen"`
	Kafka  struct {
		Brokers []string `yaml:"brokers"`
	} `yaml:"kafka"`
	Auth struct {
		JWT struct {
			Secret string `yaml:"secret"`
		} `yaml:"jwt"`
	} `yaml:"auth"`
	Registry struct {
		URL string `yaml:"url"`
	} `yaml:"registry"`
}

// TestSluiceConfig runs "sluice check-config" (the binary built as the
// Dockerfile builds it) on the config the sluice service mounts at the
// path the image's ENTRYPOINT reads, and checks that the config, the
// ports and the healthcheck agree.
func TestSluiceConfig(t *testing.T) {
	p := loadProject(t)
	sluice := service(t, p, "sluice")
	df := parseDockerfile(t)
	i := slices.Index(df.entrypoint, "--config")
	if i < 0 || i+1 >= len(df.entrypoint) {
		t.Fatalf("Dockerfile ENTRYPOINT %q has no --config", df.entrypoint)
	}
	configPath := hostPath(t, sluice, df.entrypoint[i+1])

	bin := buildSluice(t)
	cmd := exec.Command(bin, "check-config", "--config", configPath)
	cmd.Env = append(withoutSluiceEnv(os.Environ()), environment(sluice)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sluice check-config --config %s: %v\n%s", configPath, err, out)
	}

	data, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg exampleConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, b := range cfg.Kafka.Brokers {
		host, _, err := net.SplitHostPort(b)
		if err != nil {
			t.Errorf("kafka.brokers %q: %v", b, err)
			continue
		}
		if _, err := p.GetService(host); err != nil {
			t.Errorf("kafka.brokers %q: %s is not a service of the stack", b, host)
		}
	}
	if cfg.Registry.URL != "" && !strings.Contains(cfg.Registry.URL, "//schema-registry:") {
		t.Errorf("registry.url %q does not point at the schema-registry service", cfg.Registry.URL)
	}

	_, listenPort, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		t.Fatalf("listen %q: %v", cfg.Listen, err)
	}
	if !slices.ContainsFunc(sluice.Ports, func(pc types.ServicePortConfig) bool {
		return strconv.Itoa(int(pc.Target)) == listenPort
	}) {
		t.Errorf("service sluice does not publish the listen port %s: %+v", listenPort, sluice.Ports)
	}
	if !slices.Contains(df.expose, listenPort) {
		t.Errorf("Dockerfile EXPOSE %q does not include the listen port %s", df.expose, listenPort)
	}
	if hc := sluice.HealthCheck; hc == nil || !slices.ContainsFunc(hc.Test, func(a string) bool {
		return strings.Contains(a, "127.0.0.1:"+listenPort+"/")
	}) {
		t.Errorf("the sluice healthcheck does not probe the listen port %s: %+v", listenPort, hc)
	}

	if cfg.Auth.JWT.Secret == "" {
		t.Fatal("the compose config has no demo auth.jwt.secret")
	}
	compose, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(compose), "--secret "+cfg.Auth.JWT.Secret) {
		t.Errorf("the token command in docker-compose.yml's header does not use the demo secret of %s", filepath.Base(configPath))
	}
}

// TestInitCreatesTopicsOfSchemas checks that every <topic>-value schema
// in compose/schemas has its topic in the init service's TOPICS.
func TestInitCreatesTopicsOfSchemas(t *testing.T) {
	p := loadProject(t)
	initSvc := service(t, p, "init")
	topicsVar, ok := initSvc.Environment["TOPICS"]
	if !ok || topicsVar == nil {
		t.Fatal("service init sets no TOPICS")
	}
	topics := strings.Fields(*topicsVar)
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "compose", "schemas", "*-value.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no <topic>-value schemas in compose/schemas (%v)", err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		topic := strings.TrimSuffix(base, "-value"+filepath.Ext(base))
		if !slices.Contains(topics, topic) {
			t.Errorf("compose/schemas/%s: topic %s is not in init's TOPICS %q", base, topic, topics)
		}
	}
}

// withoutSluiceEnv drops SLUICE_ variables, so the test's own environment
// cannot change what a config file means.
func withoutSluiceEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "SLUICE_") })
}
