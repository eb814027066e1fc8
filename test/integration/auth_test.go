package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sluicehq/sluice/auth"
)

// authSecret is the HS256 secret of the JWT-guarded sluice processes.
const authSecret = "integration-secret-5f0c2a9e7d41b3"

// closeUnauthorized is the close code of a missing, invalid or expired
// token.
const closeUnauthorized = 4401

// authConfig runs sluice in jwt mode with a short expiry warning; debug
// logging makes the check that tokens are never logged cover the most
// output.
const authConfig = `
auth:
  mode: jwt
  expiry_warning: 2s
  jwt: {secret: ` + authSecret + `, leeway: 0s}
log: {format: json, level: debug}
kafka: {auto_create_topics: false}
routes:
  - {path: "/room/{room}", topic: "room.{room}", from: latest, mode: both}
`

// tokenBook mints tokens and remembers every one, so that a test can
// check none of them reached sluice's output.
type tokenBook struct {
	mu     sync.Mutex
	tokens []string
}

func (b *tokenBook) mint(t testing.TB, secret string, c auth.MintClaims) string {
	t.Helper()
	tok, err := auth.MintHS256([]byte(secret), c)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.tokens = append(b.tokens, tok)
	b.mu.Unlock()
	return tok
}

// grant mints a valid token of sub for the topics given.
func (b *tokenBook) grant(t testing.TB, sub string, subscribe, publish []string, ttl time.Duration) string {
	t.Helper()
	return b.mint(t, authSecret, auth.MintClaims{Subject: sub, Subscribe: subscribe, Publish: publish, TTL: ttl})
}

// checkNotLogged fails the test if any token, or the signature part of
// one, appears in output.
func (b *tokenBook) checkNotLogged(t testing.TB, output string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.tokens) == 0 {
		t.Error("no token was minted: the log check checks nothing")
	}
	for _, tok := range b.tokens {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		for _, line := range strings.Split(output, "\n") {
			if strings.Contains(line, sig) {
				t.Errorf("a token appears in sluice's output: %s", line)
				return
			}
		}
	}
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// dialAs opens a WebSocket through d with header on the upgrade and starts
// the shared client's reader. On a refused upgrade it returns the response
// (with up to 1 KiB of its body).
func dialAs(t testing.TB, d *websocket.Dialer, url string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	conn, resp, err := d.DialContext(t.Context(), url, header)
	if err != nil {
		return nil, resp, err
	}
	name, _, _ := strings.Cut(url, "?") // keep tokens out of test output
	c := &wsClient{t: t, name: name, conn: conn, keepBody: true, done: make(chan struct{})}
	t.Cleanup(func() { _ = conn.Close() })
	c.startReading()
	return c, resp, nil
}

// mustDialAs is dialAs for upgrades that must succeed.
func mustDialAs(t testing.TB, url string, header http.Header) *wsClient {
	t.Helper()
	c, resp, err := dialAs(t, &websocket.Dialer{HandshakeTimeout: dialTimeout}, url, header)
	if err != nil {
		status := ""
		if resp != nil {
			body, _ := io.ReadAll(resp.Body)
			status = fmt.Sprintf(" (HTTP %s: %s)", resp.Status, body)
		}
		t.Fatalf("dialling: %v%s", err, status)
	}
	return c
}

// authRoundTrip subscribes c to topic, publishes a value there and waits for
// it to come back: the socket's principal may do both.
func authRoundTrip(t testing.TB, c *wsClient, topic, tag string) {
	t.Helper()
	c.subscribe("s-"+tag, topic, "latest")
	c.send(map[string]any{"op": "publish", "id": "p-" + tag, "topic": topic, "value": map[string]any{"tag": tag}})
	if f := c.waitReply("p-" + tag); f.Op != "published" {
		t.Fatalf("publish: %v", f)
	}
	c.waitFrame("message "+tag, func(f frame) bool {
		return f.Op == "message" && f.Topic == topic && string(f.Value) == `{"tag":"`+tag+`"}`
	})
}

// requireCloseCode waits for the server to close c with code.
func requireCloseCode(t testing.TB, c *wsClient, code int) {
	t.Helper()
	err := c.waitClosed(waitTimeout)
	if got := closeCode(err); got != code {
		frames, _ := c.snapshot()
		t.Fatalf("connection ended with %v, want close %d (last frames: %v)", err, code, tail(frames, 5))
	}
}

// TestAuth drives a JWT-guarded sluice: the three token transports,
// refused upgrades, permissions, key restrictions, expiry and refresh.
// No token may appear in its output.
func TestAuth(t *testing.T) {
	var book tokenBook
	var p *sluiceProc
	// Registered before startSluice, so it runs after the process stopped
	// and its output is complete.
	t.Cleanup(func() {
		if p == nil {
			return
		}
		out := p.out.String()
		if !strings.Contains(out, "connection opened") {
			t.Errorf("sluice's output was not captured: %q", out)
		}
		book.checkNotLogged(t, out)
	})
	p = startSluice(t, authConfig)

	t.Run("token transports", func(t *testing.T) {
		topic := uniqueTopic(t, "t")
		createTopic(t, topic, 1)
		grants := []string{topic}
		t.Run("Authorization header", func(t *testing.T) {
			c := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(book.grant(t, "ann", grants, grants, time.Hour)))
			authRoundTrip(t, c, topic, "header")
		})
		t.Run("access_token query", func(t *testing.T) {
			tok := book.grant(t, "ann", grants, grants, time.Hour)
			c := mustDialAs(t, p.wsURL("/v1/ws?access_token="+tok), nil)
			authRoundTrip(t, c, topic, "query")
		})
		t.Run("first frame", func(t *testing.T) {
			c := mustDialAs(t, p.wsURL("/v1/ws"), nil)
			c.send(map[string]any{"op": "auth", "id": "a1", "token": book.grant(t, "ann", grants, grants, time.Hour)})
			if f := c.waitReply("a1"); f.Op != "authenticated" {
				t.Fatalf("auth op: %v", f)
			}
			authRoundTrip(t, c, topic, "frame")
		})
	})

	t.Run("refused upgrades answer 401 with JSON", func(t *testing.T) {
		grants := []string{"*"}
		wrongKey := book.mint(t, "not-the-secret", auth.MintClaims{Subject: "eve", Subscribe: grants, TTL: time.Hour})
		expired := book.mint(t, authSecret, auth.MintClaims{Subject: "eve", Subscribe: grants, TTL: time.Hour, IssuedAt: time.Now().Add(-2 * time.Hour)})
		cases := []struct {
			name   string
			path   string
			header http.Header
		}{
			{"wrong signature in header", "/v1/ws", bearerHeader(wrongKey)},
			{"expired token in header", "/v1/ws", bearerHeader(expired)},
			{"garbage in header", "/v1/ws", bearerHeader("not.a.jwt")},
			{"wrong signature in query", "/v1/ws?access_token=" + wrongKey, nil},
			{"expired token in query", "/v1/ws?access_token=" + expired, nil},
			{"route without a token", "/room/lobby", nil},
			{"route with a bad token", "/room/lobby?access_token=" + wrongKey, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c, resp, err := dialAs(t, &websocket.Dialer{HandshakeTimeout: dialTimeout}, p.wsURL(tc.path), tc.header)
				if err == nil {
					c.ping("upgraded")
					t.Fatal("the upgrade succeeded")
				}
				if resp == nil {
					t.Fatalf("no HTTP answer: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("HTTP %s %s, want 401", resp.Status, body)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				var e struct{ Op, Code, Message string }
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("body %q is not JSON: %v", body, err)
				}
				if e.Op != "error" || e.Code != "unauthorized" || e.Message == "" {
					t.Errorf("body %s, want an unauthorized error with a message", body)
				}
				for _, tok := range []string{wrongKey, expired} {
					if strings.Contains(string(body), tok) {
						t.Errorf("the 401 body repeats the token: %s", body)
					}
				}
			})
		}
	})

	t.Run("bad first frame closes 4401", func(t *testing.T) {
		wrongKey := book.mint(t, "not-the-secret", auth.MintClaims{Subject: "eve", Subscribe: []string{"*"}, TTL: time.Hour})
		cases := []struct {
			name  string
			frame map[string]any
		}{
			{"wrong signature", map[string]any{"op": "auth", "id": "a", "token": wrongKey}},
			{"garbage token", map[string]any{"op": "auth", "id": "a", "token": "garbage"}},
			{"empty token", map[string]any{"op": "auth", "id": "a", "token": ""}},
			{"another op first", map[string]any{"op": "ping", "id": "x"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := mustDialAs(t, p.wsURL("/v1/ws"), nil)
				c.send(tc.frame)
				requireCloseCode(t, c, closeUnauthorized)
				if n := c.count(func(f frame) bool { return f.Op == "authenticated" || f.Op == "pong" }); n != 0 {
					t.Errorf("got %d replies before the close", n)
				}
			})
		}
	})

	t.Run("allowed and forbidden ops", func(t *testing.T) {
		readable, writable := uniqueTopic(t, "r"), uniqueTopic(t, "w")
		createTopic(t, readable, 1)
		createTopic(t, writable, 1)
		tok := book.grant(t, "ann", []string{readable}, []string{writable}, time.Hour)
		c := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(tok))

		c.subscribe("s-ok", readable, "latest")
		c.send(map[string]any{"op": "subscribe", "id": "s-no", "topic": writable})
		if f := c.waitReply("s-no"); f.Op != "error" || f.Code != "forbidden" || f.Topic != writable {
			t.Errorf("subscribe without a grant: %v, want forbidden naming %s", f, writable)
		}
		c.send(map[string]any{"op": "publish", "id": "p-ok", "topic": writable, "value": 1})
		if f := c.waitReply("p-ok"); f.Op != "published" {
			t.Errorf("publish with a grant: %v", f)
		}
		c.send(map[string]any{"op": "publish", "id": "p-no", "topic": readable, "value": 2})
		if f := c.waitReply("p-no"); f.Op != "error" || f.Code != "forbidden" || f.Topic != readable {
			t.Errorf("publish without a grant: %v, want forbidden naming %s", f, readable)
		}
		c.ping("still-open")
		if got := endOffsets(t, readable)[0]; got != 0 {
			t.Errorf("a forbidden publish wrote %d records", got)
		}
	})

	t.Run("five forbidden in a row close 1008", func(t *testing.T) {
		topic := uniqueTopic(t, "t")
		createTopic(t, topic, 1)
		c := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(book.grant(t, "eve", nil, nil, time.Hour)))
		for i := range 5 {
			c.send(map[string]any{"op": "publish", "id": fmt.Sprint("f", i), "topic": topic, "value": i})
		}
		requireCloseCode(t, c, websocket.ClosePolicyViolation)
		if n := c.count(func(f frame) bool { return f.Op == "error" && f.Code == "forbidden" }); n < 4 {
			t.Errorf("%d forbidden replies before the close, want at least 4", n)
		}
		if got := endOffsets(t, topic)[0]; got != 0 {
			t.Errorf("forbidden publishes wrote %d records", got)
		}
	})

	t.Run("key restriction", func(t *testing.T) {
		topic := uniqueTopic(t, "k")
		createTopic(t, topic, 1)
		alice := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(book.mint(t, authSecret, auth.MintClaims{
			Subject: "alice", Subscribe: []string{topic}, Keys: map[string]string{topic: "{sub}"}, TTL: time.Hour,
		})))
		// Without a key rule, the same topic delivers every record.
		bob := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(book.grant(t, "bob", []string{topic}, nil, time.Hour)))
		alice.subscribe("s", topic, "latest")
		bob.subscribe("s", topic, "latest")

		runKcat(t, "alice:{\"n\":1}\nbob:{\"n\":2}\ncarol:{\"n\":3}\nalice:{\"n\":4}\n", "-P", "-t", topic, "-K:")
		bob.waitMessages(topic, 4)
		// One partition: alice's last record comes after the others, so
		// once it is here every record was either delivered or filtered.
		alice.waitFrame("alice's second record", func(f frame) bool { return f.Op == "message" && string(f.Value) == `{"n":4}` })
		var got []string
		for _, m := range alice.messages(topic) {
			got = append(got, fmt.Sprintf("%s=%s", keyOf(m.Key), m.Value))
		}
		if want := []string{`alice={"n":1}`, `alice={"n":4}`}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("alice received %v, want only her keys %v", got, want)
		}
	})

	t.Run("refresh with fewer rights", func(t *testing.T) {
		plain, keyed, grouped := uniqueTopic(t, "plain"), uniqueTopic(t, "keyed"), uniqueTopic(t, "grouped")
		for _, topic := range []string{plain, keyed, grouped} {
			createTopic(t, topic, 1)
		}
		all := []string{plain, keyed, grouped}
		c := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(book.grant(t, "alice", all, nil, time.Hour)))
		c.subscribe("plain", plain, "latest")
		c.subscribe("keyed", keyed, "latest")
		c.send(map[string]any{"op": "subscribe", "id": "grouped", "topic": grouped, "group": uniqueTopic(t, "g"), "from": "latest"})
		if f := c.waitReply("grouped"); f.Op != "subscribed" {
			t.Fatalf("group subscribe: %v", f)
		}
		c.waitFrame("assigned", func(f frame) bool { return f.Op == "assigned" && f.Topic == grouped })

		// The refreshed token no longer grants plain or grouped, and
		// restricts keyed to alice's key.
		c.send(map[string]any{"op": "auth", "id": "narrow", "token": book.mint(t, authSecret, auth.MintClaims{
			Subject: "alice", Subscribe: []string{keyed}, Keys: map[string]string{keyed: "{sub}"}, TTL: time.Hour,
		})})
		if f := c.waitReply("narrow"); f.Op != "authenticated" {
			t.Fatalf("refresh: %v", f)
		}
		// The errors ending subscriptions are queued before "authenticated".
		ended := func(id string) bool {
			return c.count(func(f frame) bool { return f.ID == id && f.Op == "error" && f.Code == "forbidden" }) == 1
		}
		for _, id := range []string{"plain", "grouped"} {
			if !ended(id) {
				t.Errorf("subscription %s was not ended with forbidden by the refresh", id)
			}
		}
		// keyed may live on, narrowed to alice's key, or end so that the
		// client subscribes again under the new rule.
		if ended("keyed") {
			c.subscribe("keyed-again", keyed, "latest")
		}

		for _, topic := range all {
			runKcat(t, "bob:{\"who\":\"bob\"}\nalice:{\"who\":\"alice\"}\n", "-P", "-t", topic, "-K:")
		}
		// keyed is still subscribed, filtered to alice's key: her record,
		// the last of the partition, arriving means bob's was not sent.
		c.waitFrame("alice's record on "+keyed, func(f frame) bool {
			return f.Op == "message" && f.Topic == keyed && string(f.Value) == `{"who":"alice"}`
		})
		c.ping("after")
		for _, topic := range all {
			for _, m := range c.messages(topic) {
				if topic != keyed || keyOf(m.Key) != "alice" {
					t.Errorf("after the refresh, %s delivered key %s: %s", topic, keyOf(m.Key), m.Value)
				}
			}
		}
	})

	// Expiry and refresh wait for tokens to expire: they run in parallel.
	t.Run("expiry closes 4401", func(t *testing.T) {
		t.Parallel()
		topic := uniqueTopic(t, "t")
		createTopic(t, topic, 1)
		iat := time.Now()
		tok := book.mint(t, authSecret, auth.MintClaims{Subject: "ann", Subscribe: []string{topic}, TTL: 3 * time.Second, IssuedAt: iat})
		exp := time.Unix(iat.Add(3*time.Second).Unix(), 0)
		c := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(tok))
		c.subscribe("s", topic, "latest")
		c.waitFrame("auth_expiring", func(f frame) bool { return f.Op == "auth_expiring" })
		requireCloseCode(t, c, closeUnauthorized)
		if early := time.Until(exp); early > 100*time.Millisecond {
			t.Errorf("closed %v before the token expired", early)
		}
	})

	t.Run("refresh keeps the socket and its subscription", func(t *testing.T) {
		t.Parallel()
		topic := uniqueTopic(t, "t")
		createTopic(t, topic, 1)
		grants := []string{topic}
		iat := time.Now()
		first := book.mint(t, authSecret, auth.MintClaims{Subject: "ann", Subscribe: grants, Publish: grants, TTL: 3 * time.Second, IssuedAt: iat})
		firstExp := time.Unix(iat.Add(3*time.Second).Unix(), 0)
		c := mustDialAs(t, p.wsURL("/v1/ws"), bearerHeader(first))
		c.subscribe("s", topic, "latest")
		c.waitFrame("auth_expiring", func(f frame) bool { return f.Op == "auth_expiring" })
		c.send(map[string]any{"op": "auth", "id": "refresh", "token": book.grant(t, "ann", grants, grants, time.Hour)})
		if f := c.waitReply("refresh"); f.Op != "authenticated" {
			t.Fatalf("refresh: %v", f)
		}

		// The first token must expire for this test to mean anything.
		time.Sleep(time.Until(firstExp) + time.Second)

		c.send(map[string]any{"op": "publish", "id": "late", "topic": topic, "value": map[string]any{"after": "expiry"}})
		if f := c.waitReply("late"); f.Op != "published" {
			t.Fatalf("publish after the first token's expiry: %v", f)
		}
		runKcat(t, "{\"from\":\"kcat\"}\n", "-P", "-t", topic)
		ms := c.waitMessages(topic, 2)
		if string(ms[0].Value) != `{"after":"expiry"}` || string(ms[1].Value) != `{"from":"kcat"}` {
			t.Errorf("subscription delivered %s, %s", ms[0].Value, ms[1].Value)
		}
		c.ping("alive")
	})
}

// keyOf renders a message key for test output.
func keyOf(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// testCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1.
type testCA struct {
	pool              *x509.CertPool
	certFile, keyFile string
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice integration test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := testCA{pool: x509.NewCertPool(), certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server.key")}
	ca.pool.AddCert(caCert)
	if err := os.WriteFile(ca.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca
}

// startTLSSluice starts sluice serving wss:// and https://. The harness's
// startSluice polls /readyz over plain HTTP, so this starts the process
// the same way and polls over HTTPS, trusting roots; at cleanup it stops
// the process with SIGTERM and expects exit 0.
func startTLSSluice(t *testing.T, yamlConfig string, roots *x509.CertPool) *sluiceProc {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(cfgFile, []byte(yamlConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var p *sluiceProc
	var err error
	for range startAttempts {
		if p, err = launchTLSOnce(cfgFile, roots); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting sluice with TLS: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("sluice: %v", err)
		}
		if t.Failed() {
			t.Logf("--- sluice output (%s) ---\n%s", p.addr, p.out.String())
		}
	})
	return p
}

func launchTLSOnce(cfgFile string, roots *x509.CertPool) (*sluiceProc, error) {
	p, err := spawnSluice(cfgFile)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(readyTimeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		if err := p.exited(); err != nil {
			return nil, fmt.Errorf("%w\n--- sluice output ---\n%s", err, p.out.String())
		}
		resp, err := client.Get("https://" + p.addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(pollInterval)
	}
	_ = p.stop()
	return nil, fmt.Errorf("sluice on %s not ready over HTTPS after %v (last: %s)\n--- sluice output ---\n%s", p.addr, readyTimeout, last, p.out.String())
}

// TestWSS serves wss:// with a certificate of a CA made by the test: a
// client trusting that CA connects, authenticates and round-trips a
// record; a client without it, or speaking plain ws://, cannot connect.
func TestWSS(t *testing.T) {
	ca := newTestCA(t)
	var book tokenBook
	var p *sluiceProc
	t.Cleanup(func() {
		if p != nil {
			book.checkNotLogged(t, p.out.String())
		}
	})
	p = startTLSSluice(t, authConfig+fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", ca.certFile, ca.keyFile), ca.pool)
	topic := uniqueTopic(t, "t")
	createTopic(t, topic, 1)
	url := "wss://" + p.addr + "/v1/ws"
	tok := book.grant(t, "ann", []string{topic}, []string{topic}, time.Hour)

	t.Run("client trusting the CA", func(t *testing.T) {
		d := &websocket.Dialer{HandshakeTimeout: dialTimeout, TLSClientConfig: &tls.Config{RootCAs: ca.pool}}
		c, resp, err := dialAs(t, d, url, bearerHeader(tok))
		if err != nil {
			t.Fatalf("dialling %s: %v (response %v)", url, err, resp)
		}
		authRoundTrip(t, c, topic, "wss")
	})

	t.Run("client without the CA", func(t *testing.T) {
		d := &websocket.Dialer{HandshakeTimeout: dialTimeout, TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
		_, _, err := dialAs(t, d, url, bearerHeader(tok))
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("dial without the CA: %v, want an unknown-authority error", err)
		}
	})

	t.Run("plain ws on the TLS port", func(t *testing.T) {
		_, resp, err := dialAs(t, &websocket.Dialer{HandshakeTimeout: dialTimeout}, "ws://"+p.addr+"/v1/ws", bearerHeader(tok))
		if err == nil {
			t.Fatal("a plain ws:// upgrade succeeded on the TLS port")
		}
		if resp != nil && resp.StatusCode == http.StatusSwitchingProtocols {
			t.Fatalf("plain upgrade answered %s", resp.Status)
		}
	})
}
