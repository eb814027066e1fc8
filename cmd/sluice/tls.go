package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// certReloader serves the certificate from disk and reloads it on SIGHUP
// or when the files change, without a restart.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
	modTime           time.Time
}

func newTLSConfig(c TLSConfig, log *slog.Logger) (*tls.Config, *certReloader, error) {
	r := &certReloader{certFile: c.CertFile, keyFile: c.KeyFile, log: log.With("component", "tls")}
	if err := r.load(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.cert.Load(), nil
		},
	}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("tls.client_ca_file %s: no PEM certificate found", c.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, r, nil
}

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&cert)
	if st, err := os.Stat(r.certFile); err == nil {
		r.modTime = st.ModTime()
	}
	return nil
}

// watch reloads on SIGHUP and when the certificate file's mtime changes.
func (r *certReloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			st, err := os.Stat(r.certFile)
			if err != nil || !st.ModTime().After(r.modTime) {
				continue
			}
		}
		if err := r.load(); err != nil {
			r.log.Error("certificate reload failed; keeping the previous one", slog.Any("error", err))
			continue
		}
		r.log.Info("certificate reloaded")
	}
}
