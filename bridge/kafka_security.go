package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// KafkaTLSConfig secures the connections from Sluice to the brokers.
type KafkaTLSConfig struct {
	// Enabled turns TLS to the brokers on. Default: false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of CAs trusted for the brokers' certificates.
	// Default: the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate for mutual TLS.
	// Default: none.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates.
	// Default: the broker's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate verification; for tests
	// only. Default: false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// KafkaSASLConfig authenticates Sluice to the brokers.
type KafkaSASLConfig struct {
	// Mechanism is "plain", "scram-sha-256" or "scram-sha-512".
	// Default: "" (no SASL).
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user.
	Username string `yaml:"username"`
	// Password is the SASL password. Never logged.
	Password string `yaml:"password"`
}

// securityOpts turns the TLS and SASL settings into franz-go options.
func (k *KafkaConfig) securityOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	var errs []error
	if t := k.TLS; t.Enabled {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("kafka.tls.ca_file: %w", err))
			} else {
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					errs = append(errs, fmt.Errorf("kafka.tls.ca_file %s: no PEM certificate found", t.CAFile))
				}
				cfg.RootCAs = pool
			}
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			errs = append(errs, errors.New("kafka.tls: give both cert_file and key_file, or neither"))
		} else if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("kafka.tls: loading client certificate: %w", err))
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	} else if k.TLS != (KafkaTLSConfig{}) {
		errs = append(errs, errors.New("kafka.tls: settings given but kafka.tls.enabled is false"))
	}
	s := k.SASL
	switch strings.ToLower(s.Mechanism) {
	case "":
		if s.Username != "" || s.Password != "" {
			errs = append(errs, errors.New("kafka.sasl: username or password given without a mechanism"))
		}
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
	default:
		errs = append(errs, fmt.Errorf("kafka.sasl.mechanism %q: want plain, scram-sha-256 or scram-sha-512", s.Mechanism))
	}
	if s.Mechanism != "" && s.Username == "" {
		errs = append(errs, errors.New("kafka.sasl: a mechanism needs a username"))
	}
	return opts, errors.Join(errs...)
}
