package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// issue signs a certificate for 127.0.0.1 (server) or a client with the
// given CA, and writes it and its key under dir with prefix.
func issue(t *testing.T, dir, prefix string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, client bool, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: prefix},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, prefix+".pem"), filepath.Join(dir, prefix+"-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kd, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}

func newCA(t *testing.T, dir string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, "ca.pem")
	os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return ca, key, file
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile := newCA(t, dir)
	cert, key := issue(t, dir, "server", ca, caKey, false, 2)
	clientCert, clientKey := issue(t, dir, "client", ca, caKey, true, 3)
	r := startServeTLS(t, "auth:\n  mode: none\ntls:\n  cert_file: "+cert+"\n  key_file: "+key+"\n  client_ca_file: "+caFile+"\n")
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	noCert := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if c, _, err := noCert.Dial("wss://"+r.addr+"/v1/ws", nil); err == nil {
		// TLS 1.3 reports a missing client certificate on the first read.
		c.WriteJSON(map[string]any{"op": "ping", "id": "1"})
		if _, _, err := c.ReadMessage(); err == nil {
			t.Fatal("a client without a certificate was served")
		}
		c.Close()
	}
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}
	c, _, err := withCert.Dial("wss://"+r.addr+"/v1/ws", nil)
	if err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	defer c.Close()
	c.WriteJSON(map[string]any{"op": "ping", "id": "1"})
	readOp(t, c, "pong")
}

// TestCertificateReloadOnSIGHUP replaces the certificate files and sends
// SIGHUP: new handshakes get the new certificate without a restart.
func TestCertificateReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, _ := newCA(t, dir)
	cert, key := issue(t, dir, "server", ca, caKey, false, 10)
	var logs bytes.Buffer
	_, reloader, err := newTLSConfig(TLSConfig{CertFile: cert, KeyFile: key}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		leaf, err := x509.ParseCertificate(reloader.cert.Load().Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.Int64()
	}
	if serial() != 10 {
		t.Fatalf("serial %d, want 10", serial())
	}
	// Catch SIGHUP in the test too, so one sent before watch registers
	// cannot end the test binary.
	hup := make(chan os.Signal, 16)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := contextWithCancel(t)
	defer cancel()
	done := make(chan struct{})
	go func() { reloader.watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	newCert, newKey := issue(t, t.TempDir(), "server", ca, caKey, false, 11)
	for _, f := range [][2]string{{newCert, cert}, {newKey, key}} {
		data, _ := os.ReadFile(f[0])
		os.WriteFile(f[1], data, 0o600)
	}
	deadline := time.Now().Add(10 * time.Second)
	for serial() != 11 {
		if time.Now().After(deadline) {
			t.Fatalf("certificate not reloaded; logs:\n%s", logs.String())
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
		time.Sleep(50 * time.Millisecond)
	}
}
