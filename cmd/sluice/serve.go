package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/bridge"
	"github.com/sluicehq/sluice/cmd/sluice/console"
	"github.com/sluicehq/sluice/registry"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
	"github.com/twmb/franz-go/plugin/kslog"
)

// shutdownTimeout bounds a graceful shutdown after SIGTERM or SIGINT.
const shutdownTimeout = 15 * time.Second

// serve runs Sluice until ctx ends, then shuts down gracefully. cfg has
// been validated (configFlags.loadAndValidate).
func serve(ctx context.Context, cfg Config, src source, stdout io.Writer) error {
	logger, err := newLogger(cfg.Log, stdout)
	if err != nil {
		return err
	}

	// Decided once: starting the embedded broker fills in kafka.brokers.
	embedded := cfg.embedded()
	if embedded {
		cluster, err := startEmbeddedKafka(cfg, logger)
		if err != nil {
			return err
		}
		defer cluster.Close()
		cfg.Bridge.Kafka.Brokers = cluster.ListenAddrs()
		cfg.Bridge.Kafka.AutoCreateTopics = true
	}

	if embedded && registryUnset(cfg.Registry) {
		if st, err := os.Stat(devSchemaDir); err == nil && st.IsDir() {
			cfg.Registry.Dir = devSchemaDir
			logger.Info("embedded development default: validating topics against the schema files in "+devSchemaDir,
				slog.String("catalog", "filesystem"))
		}
	}
	governor, err := registry.New(cfg.Registry, logger.With("component", "registry"))
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer governor.Close()

	guard, err := auth.New(ctx, cfg.Auth, logger)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	defer guard.Close()
	if !guard.Enabled() {
		logger.Warn("AUTHENTICATION IS OFF (auth.mode none): every client may subscribe and publish to every topic; for local development only")
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Fetch and produce metrics are labelled by broker only (kprom's default
	// adds "topic", whose values are whatever topics clients name).
	kafkaMetrics := kprom.NewMetrics("sluice", kprom.Registerer(reg), kprom.Subsystem("kafka"),
		kprom.FetchAndProduceDetail(kprom.ByNode, kprom.UncompressedBytes, kprom.Batches, kprom.Records))
	// kprom registers its collectors when a client is created, so its hooks
	// go on the shared client only, not on history readers or group members.
	cfg.Bridge.Kafka.SharedOpts = append(cfg.Bridge.Kafka.SharedOpts, kgo.WithHooks(kafkaMetrics))
	cfg.Bridge.Kafka.Opts = append(cfg.Bridge.Kafka.Opts,
		kgo.WithLogger(kslog.New(logger.With("component", "kafka"))),
	)

	deps := bridge.Deps{Logger: logger, Registerer: reg, Schemas: governorSchemas{governor}}
	if guard.Enabled() {
		deps.Auth = guardAuth{guard}
		cfg.Bridge.AuthTimeout = guard.AuthTimeout()
		cfg.Bridge.ExpiryWarning = guard.ExpiryWarning()
	}
	srv, err := bridge.New(cfg.Bridge, deps)
	if err != nil {
		return err
	}

	httpSrv := &http.Server{
		Handler:           newMux(srv, governor, reg, cfg),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := listen(ctx, cfg.Listen, cfg.ListenReusePort)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	scheme := "ws"
	if cfg.TLS.CertFile != "" {
		tlsCfg, reloader, err := newTLSConfig(cfg.TLS, logger)
		if err != nil {
			_ = ln.Close()
			_ = srv.Shutdown(context.Background())
			return err
		}
		go reloader.watch(ctx)
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "wss"
	}
	logger.Info("sluice listening",
		slog.String("addr", ln.Addr().String()),
		slog.String("protocol_url", scheme+"://"+ln.Addr().String()+bridge.ProtocolPath),
		slog.String("brokers", strings.Join(cfg.Bridge.Kafka.Brokers, ",")),
		slog.String("auth", cfg.Auth.Mode))

	if cfg.PprofListen != "" {
		stopPprof, err := startPprof(cfg.PprofListen, logger)
		if err != nil {
			_ = ln.Close()
			_ = srv.Shutdown(context.Background())
			return err
		}
		defer stopPprof()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	select {
	case err := <-serveErr:
		_ = srv.Shutdown(context.Background())
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: closing sockets with 1001 and flushing the producer")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	errs := []error{httpSrv.Shutdown(sctx), srv.Shutdown(sctx)}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// newMux serves health, metrics, the console and every WebSocket path.
func newMux(srv *bridge.Server, governor *registry.Governor, reg *prometheus.Registry, cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		checks := map[string]string{}
		status := http.StatusOK
		if err := srv.Ready(ctx); err != nil {
			checks["kafka"] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			checks["kafka"] = "ok"
		}
		if err := governor.Ready(ctx); err != nil {
			checks["registry"] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			checks["registry"] = "ok"
		}
		writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if !cfg.Console.Disabled {
		// The page at "/" and its assets under /console/; /v1/ws, the
		// routes (which always name a segment) and every other path reach srv.
		ui := console.Handler()
		mux.Handle("GET /{$}", ui)
		mux.Handle("GET "+console.AssetPrefix, ui)
	}
	mux.Handle("/", srv)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// startEmbeddedKafka runs franz-go's kfake, a Kafka-protocol broker in
// this process, persisting under cfg.DataDir.
func startEmbeddedKafka(cfg Config, logger *slog.Logger) (*kfake.Cluster, error) {
	host, portStr, err := net.SplitHostPort(cfg.EmbeddedKafkaListen)
	if err != nil {
		return nil, fmt.Errorf("embedded_kafka_listen %q: %w", cfg.EmbeddedKafkaListen, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("embedded_kafka_listen %q: the development broker listens on 127.0.0.1 only", cfg.EmbeddedKafkaListen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded_kafka_listen %q: bad port", cfg.EmbeddedKafkaListen)
	}
	partitions := cfg.Bridge.Kafka.AutoCreatePartitions
	if partitions == 0 {
		partitions = bridge.DefaultAutoCreatePartitions
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(cfg.DataDir),
		kfake.DefaultNumPartitions(int(partitions)),
	)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded development broker on %s: %w", cfg.EmbeddedKafkaListen, err)
	}
	logger.Warn("using the EMBEDDED DEVELOPMENT BROKER (franz-go kfake), not a real Kafka cluster: for trying Sluice and local development only; pass --brokers to use Kafka",
		slog.String("kafka_addr", strings.Join(cluster.ListenAddrs(), ",")),
		slog.String("data_dir", cfg.DataDir))
	return cluster, nil
}

// devSchemaDir is the filesystem catalog the embedded development default
// uses when it exists (the schemas the docker-compose stack registers).
const devSchemaDir = "compose/schemas"

// registryUnset reports whether no catalog was configured at all.
func registryUnset(c registry.Config) bool {
	return c.Kind == "" && c.URL == "" && c.Dir == "" && len(c.Subjects) == 0
}

// newLogger builds the process logger from log.format and log.level.
func newLogger(c LogConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.Format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format %q: want text or json", c.Format)
}

// validateAll checks the whole configuration without connecting to Kafka.
func validateAll(ctx context.Context, cfg Config) error {
	var errs []error
	b := cfg.Bridge
	if len(b.Kafka.Brokers) == 0 {
		b.Kafka.Brokers = []string{cfg.EmbeddedKafkaListen}
	}
	if err := b.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := newLogger(cfg.Log, io.Discard); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", cfg.Listen, err))
	}
	if cfg.PprofListen != "" && !isLoopback(cfg.PprofListen) {
		errs = append(errs, fmt.Errorf("pprof_listen %q: profiles are served on a loopback address only", cfg.PprofListen))
	}
	if (cfg.TLS.CertFile == "") != (cfg.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: give both cert_file and key_file"))
	}
	if g, err := registry.New(cfg.Registry, slog.New(slog.DiscardHandler)); err != nil {
		errs = append(errs, err)
	} else {
		_ = g.Close()
	}
	actx, cancel := context.WithCancel(ctx)
	g, err := auth.New(actx, cfg.Auth, slog.New(slog.DiscardHandler))
	if err != nil {
		errs = append(errs, err)
	} else {
		g.Close()
	}
	cancel()
	return errors.Join(errs...)
}

// startPprof serves net/http/pprof on its own loopback listener.
func startPprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof_listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("pprof listening", slog.String("addr", ln.Addr().String()))
	return func() { _ = srv.Close() }, nil
}
