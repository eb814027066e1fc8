package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sluicehq/sluice/auth"
	"go.yaml.in/yaml/v3"
)

const usage = `Sluice is a WebSocket gateway for Apache Kafka.

Usage:
  sluice serve [flags]          run the gateway (embedded development broker unless --brokers is given)
  sluice check-config --config F validate a configuration file without starting
  sluice token [flags]          mint an HS256 development token
  sluice healthcheck [--url U]  exit 0 when a running Sluice answers /healthz (for container healthchecks)
  sluice help                   show this text

Run "sluice <command> -h" for the flags of a command.
`

// run is the whole program; main only wires signals and the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serveCommand(ctx, args[1:], stdout, stderr)
	case "check-config":
		return checkConfigCommand(ctx, args[1:], stdout, stderr)
	case "token":
		return tokenCommand(args[1:], stdout, stderr)
	case "healthcheck":
		return healthcheckCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// configFlags are the flags serve and check-config share. Each overrides
// the config key named in its help.
type configFlags struct {
	config, listen, brokers, dataDir, logLevel, logFormat string
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML configuration file (see compose/sluice.yaml)")
	fs.StringVar(&f.listen, "listen", "", "WebSocket/HTTP listen address (listen; env SLUICE_LISTEN; default 127.0.0.1:8080)")
	fs.StringVar(&f.brokers, "brokers", "", "comma-separated Kafka brokers (kafka.brokers; env SLUICE_KAFKA_BROKERS); empty runs the embedded development broker")
	fs.StringVar(&f.dataDir, "data-dir", "", "embedded broker data directory (data_dir; env SLUICE_DATA_DIR; default ./data)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (log.level; env SLUICE_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (log.format; env SLUICE_LOG_FORMAT)")
}

// load builds the configuration: defaults, then the file, then the
// environment, then flags.
func (f *configFlags) load(lookupEnv func(string) (string, bool)) (Config, source, error) {
	cfg := defaultConfig()
	var src source
	var fileErr error
	if f.config == "" {
		if v, ok := lookupEnv("SLUICE_CONFIG"); ok {
			f.config = v
		}
	}
	if f.config != "" {
		src.file = f.config
		if err := loadFile(f.config, &cfg); err != nil {
			if !isTypeError(err) {
				return cfg, src, err
			}
			// A value of the wrong type leaves its field at the default and
			// the rest decoded: go on, so every problem is reported at once.
			fileErr = err
		}
	}
	set, err := applyEnv(&cfg, lookupEnv)
	if err != nil {
		return cfg, src, err
	}
	for _, k := range set {
		if strings.HasPrefix(k, "auth.") {
			src.authTouched = true
		}
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.brokers != "" {
		cfg.Bridge.Kafka.Brokers = strings.Split(f.brokers, ",")
	}
	if f.dataDir != "" {
		cfg.DataDir = f.dataDir
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if f.logFormat != "" {
		cfg.Log.Format = f.logFormat
	}
	if cfg.Auth.JWT.Secret != "" || cfg.Auth.JWT.JWKSURL != "" || len(cfg.Auth.JWT.PublicKeyFiles) > 0 {
		src.authTouched = true
	}
	return cfg, src, errors.Join(fileErr, resolveAuthMode(&cfg, src))
}

// isTypeError reports whether err is only about values of the wrong type,
// so the rest of the file was still decoded.
func isTypeError(err error) bool {
	var te *yaml.TypeError
	return errors.As(err, &te)
}

// loadAndValidate loads the configuration and validates it, reporting
// problems of the file's types and of its meaning together.
func (f *configFlags) loadAndValidate(ctx context.Context, lookupEnv func(string) (string, bool)) (Config, source, error) {
	cfg, src, err := f.load(lookupEnv)
	if err == nil || isTypeError(err) {
		err = errors.Join(err, validateAll(ctx, cfg))
	}
	return cfg, src, err
}

func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	cfg, src, err := cf.loadAndValidate(ctx, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v (serve refuses to start):\n%s\n", errInvalidConfig, report(explain(cf.config, err)))
		return 2
	}
	if err := serve(ctx, cfg, src, stdout); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	return 0
}

func checkConfigCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	_, _, err := cf.loadAndValidate(ctx, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v:\n%s\n", errInvalidConfig, report(explain(cf.config, err)))
		return 2
	}
	fmt.Fprintln(stdout, "configuration is valid")
	return 0
}

func tokenCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		secret, sub, iss, aud, claim string
		subscribe, publish           listFlag
		ttl                          time.Duration
	)
	fs.StringVar(&secret, "secret", os.Getenv("SLUICE_AUTH_JWT_SECRET"), "HS256 shared secret (default: $SLUICE_AUTH_JWT_SECRET)")
	fs.StringVar(&sub, "sub", "", "subject (user id)")
	fs.StringVar(&iss, "iss", "", "issuer")
	fs.StringVar(&aud, "aud", "", "audience")
	fs.StringVar(&claim, "claim", auth.DefaultClaim, "name of the permission claim")
	fs.Var(&subscribe, "subscribe", "topic pattern the token may subscribe to (repeat or comma-separate)")
	fs.Var(&publish, "publish", "topic pattern the token may publish to (repeat or comma-separate)")
	fs.DurationVar(&ttl, "ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if secret == "" {
		fmt.Fprintln(stderr, "sluice token: --secret is required")
		return 2
	}
	tok, err := auth.MintHS256([]byte(secret), auth.MintClaims{
		Subject: sub, Issuer: iss, Audience: aud, Subscribe: subscribe, Publish: publish, TTL: ttl, Claim: claim,
	})
	if err != nil {
		fmt.Fprintf(stderr, "sluice token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// listFlag collects a repeatable, comma-separable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// healthcheckCommand asks a running Sluice for /healthz; images without a
// shell or curl use it as their container healthcheck.
func healthcheckCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "health endpoint to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "sluice healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "sluice healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "sluice healthcheck: %s answered %s\n", *url, resp.Status)
		return 1
	}
	fmt.Fprintln(stdout, "healthy")
	return 0
}

// parseExit is the exit code after a flag parse error: 0 for -h, 2 else.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
