package bridge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startSecureBridge runs a bridge against a kfake cluster started with
// clusterOpts, configured with kafka.
func startSecureBridge(t *testing.T, kafka KafkaConfig, clusterOpts ...kfake.Opt) *testEnv {
	t.Helper()
	cluster, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, "orders")}, clusterOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	kafka.Brokers = cluster.ListenAddrs()
	srv, err := New(Config{Kafka: kafka}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Shutdown(t.Context())
		hs.Close()
	})
	return &testEnv{t: t, cluster: cluster, srv: srv, http: hs}
}

func roundTrip(t *testing.T, env *testEnv) {
	t.Helper()
	c := env.dial(ProtocolPath)
	c.send(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	c.expect("subscribed")
	c.send(map[string]any{"op": "publish", "id": "p", "topic": "orders", "value": 1})
	got := map[string]bool{}
	for !got["published"] || !got["message"] {
		f := c.next()
		if f.str("op") == "error" {
			t.Fatalf("error: %v", f)
		}
		got[f.str("op")] = true
	}
}

func TestKafkaSASL(t *testing.T) {
	for _, mech := range []struct{ kfake, config string }{
		{"PLAIN", "plain"}, {"SCRAM-SHA-256", "scram-sha-256"}, {"SCRAM-SHA-512", "scram-sha-512"},
	} {
		t.Run(mech.config, func(t *testing.T) {
			env := startSecureBridge(t,
				KafkaConfig{SASL: KafkaSASLConfig{Mechanism: mech.config, Username: "sluice", Password: "s3cret"}},
				kfake.EnableSASL(), kfake.Superuser(mech.kfake, "sluice", "s3cret"))
			roundTrip(t, env)
		})
	}
}

func TestKafkaTLS(t *testing.T) {
	dir := t.TempDir()
	serverCert, caFile := testCA(t, dir)
	env := startSecureBridge(t,
		KafkaConfig{TLS: KafkaTLSConfig{Enabled: true, CAFile: caFile}},
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}}))
	roundTrip(t, env)
}

func TestKafkaSecurityConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		k    KafkaConfig
		want string
	}{
		{KafkaConfig{SASL: KafkaSASLConfig{Mechanism: "gssapi", Username: "u"}}, "want plain"},
		{KafkaConfig{SASL: KafkaSASLConfig{Username: "u"}}, "without a mechanism"},
		{KafkaConfig{SASL: KafkaSASLConfig{Mechanism: "plain"}}, "needs a username"},
		{KafkaConfig{TLS: KafkaTLSConfig{CAFile: "/x"}}, "enabled is false"},
		{KafkaConfig{TLS: KafkaTLSConfig{Enabled: true, CAFile: "/nonexistent/ca.pem"}}, "ca_file"},
		{KafkaConfig{TLS: KafkaTLSConfig{Enabled: true, CertFile: "/x"}}, "both cert_file and key_file"},
	} {
		tc.k.Brokers = []string{"127.0.0.1:1"}
		err := Config{Kafka: tc.k}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: Validate() = %v, want %q", tc.k, err, tc.want)
		}
	}
}

// testCA writes a CA file and returns a server certificate it signed for
// 127.0.0.1.
func testCA(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}
