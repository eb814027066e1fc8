package main

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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/auth"
)

func mint(t *testing.T, secret string, c auth.MintClaims) string {
	t.Helper()
	tok, err := auth.MintHS256([]byte(secret), c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenRefreshAndExpiry(t *testing.T) {
	const secret = "test-secret-0123456789"
	r := startServe(t, "auth:\n  mode: jwt\n  expiry_warning: 2s\n  jwt:\n    secret: "+secret+"\n    leeway: 0s\n")
	first := mint(t, secret, auth.MintClaims{Subject: "bob", Subscribe: []string{"orders.*"}, Publish: []string{"orders.*"}, TTL: 3 * time.Second})
	c := dialWS(t, "ws://"+r.addr+"/v1/ws?access_token="+first, nil)
	c.WriteJSON(map[string]any{"op": "subscribe", "id": "s", "topic": "orders.live"})
	// auth_expiring may come before or after subscribed.
	if f := readOps(t, c, "subscribed", "auth_expiring")["auth_expiring"]; f["seconds"].(float64) < 1 {
		t.Fatalf("auth_expiring = %v", f)
	}
	second := mint(t, secret, auth.MintClaims{Subject: "bob", Subscribe: []string{"orders.*"}, Publish: []string{"orders.*"}, TTL: 4 * time.Second})
	c.WriteJSON(map[string]any{"op": "auth", "id": "r", "token": second})
	readOp(t, c, "authenticated")

	// The first token's expiry passes; the socket and its subscription live on.
	time.Sleep(1500 * time.Millisecond)
	c.WriteJSON(map[string]any{"op": "publish", "id": "p", "topic": "orders.live", "value": 1})
	readOps(t, c, "published", "message")

	// The refreshed token expires in turn: 4401.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4401 {
			t.Fatalf("expiry ended the socket with %v, want close 4401", err)
		}
		break
	}
}

func TestRefreshWithFewerRightsDropsSubscriptions(t *testing.T) {
	const secret = "test-secret-0123456789"
	r := startServe(t, "auth:\n  mode: jwt\n  jwt:\n    secret: "+secret+"\n")
	wide := mint(t, secret, auth.MintClaims{Subject: "eve", Subscribe: []string{"a.*", "b.*"}, TTL: time.Hour})
	c := dialWS(t, "ws://"+r.addr+"/v1/ws?access_token="+wide, nil)
	c.WriteJSON(map[string]any{"op": "subscribe", "id": "a", "topic": "a.x"})
	readOp(t, c, "subscribed")
	c.WriteJSON(map[string]any{"op": "subscribe", "id": "b", "topic": "b.x"})
	readOp(t, c, "subscribed")
	narrow := mint(t, secret, auth.MintClaims{Subject: "eve", Subscribe: []string{"a.*"}, TTL: time.Hour})
	c.WriteJSON(map[string]any{"op": "auth", "id": "r", "token": narrow})
	got := readOps(t, c, "error", "authenticated")
	if e := got["error"]; e["code"] != "forbidden" || e["topic"] != "b.x" {
		t.Fatalf("dropped subscription error = %v", e)
	}
	c.WriteJSON(map[string]any{"op": "unsubscribe", "id": "u", "topic": "b.x"})
	if e := readOp(t, c, "error"); e["code"] != "not_found" {
		t.Fatalf("b.x should be gone: %v", e)
	}
}

func TestKeyRestrictionAndClaimRoutes(t *testing.T) {
	const secret = "test-secret-0123456789"
	r := startServe(t, "auth:\n  mode: jwt\n  jwt:\n    secret: "+secret+"\nroutes:\n  - path: /me/events\n    topic: user.{sub}.events\n")
	alice := mint(t, secret, auth.MintClaims{Subject: "alice",
		Subscribe: []string{"orders", "user.{sub}.events"}, Publish: []string{"orders", "user.*"},
		Keys: map[string]string{"orders": "{sub}"}, TTL: time.Hour})
	c := dialWS(t, "ws://"+r.addr+"/v1/ws?access_token="+alice, nil)
	c.WriteJSON(map[string]any{"op": "subscribe", "id": "s", "topic": "orders"})
	readOp(t, c, "subscribed")
	for _, k := range []string{"bob", "alice"} {
		c.WriteJSON(map[string]any{"op": "publish", "id": k, "topic": "orders", "key": k, "value": k})
	}
	if m := readOp(t, c, "message"); m["key"] != "alice" {
		t.Fatalf("key-restricted subscription got %v", m)
	}

	me := dialWS(t, "ws://"+r.addr+"/me/events?access_token="+alice, nil)
	if f := readOp(t, me, "subscribed"); f["topic"] != "user.alice.events" {
		t.Fatalf("claim route subscribed to %v", f)
	}
	// Someone else's events route is forbidden before the upgrade.
	bob := mint(t, secret, auth.MintClaims{Subject: "bob", Subscribe: []string{"orders"}, TTL: time.Hour})
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+r.addr+"/me/events?access_token="+bob, nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("bob on /me/events: %v %v, want 403", resp, err)
	}
}

func TestWSSWithTestCA(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeTestCert(t, dir)
	r := startServeTLS(t, "auth:\n  mode: none\ntls:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+"\n")
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	c, _, err := d.Dial("wss://"+r.addr+"/v1/ws", nil)
	if err != nil {
		t.Fatalf("wss dial with the test CA: %v", err)
	}
	defer c.Close()
	c.WriteJSON(map[string]any{"op": "ping", "id": "1"})
	readOp(t, c, "pong")
	// A client that does not trust the CA is refused.
	if _, _, err := websocket.DefaultDialer.Dial("wss://"+r.addr+"/v1/ws", nil); err == nil {
		t.Fatal("a client without the CA connected")
	}
}

// startServeTLS is startServe for a TLS listener: readiness is polled over
// plain TCP connect, since /readyz needs the test CA.
func startServeTLS(t *testing.T, yaml string) *running {
	t.Helper()
	return startServeWith(t, yaml, true)
}

// writeTestCert makes a CA and a server certificate for 127.0.0.1.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
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
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return certFile, keyFile, pool
}
