package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicehq/sluice/topics"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/time/rate"
)

// ProtocolPath is where the JSON protocol is served.
const ProtocolPath = "/v1/ws"

// Deps are the collaborators a Server uses. Every field is optional.
type Deps struct {
	// Logger receives the bridge's logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the bridge's metrics. Default: none registered.
	Registerer prometheus.Registerer
	// Schemas validates and encodes records. Default: pass-through.
	Schemas Schemas
	// Auth verifies tokens. Default: every connection may do everything.
	Auth Authenticator
}

// Server is the WebSocket side of Sluice: an http.Handler that upgrades
// connections on /v1/ws and on configured routes, and bridges them to Kafka.
type Server struct {
	cfg     Config
	log     *slog.Logger
	schemas Schemas
	auth    Authenticator
	metrics *metrics
	router  *topics.Router

	upgrader websocket.Upgrader
	// pollUpgrader upgrades sockets the poller reads: gorilla's read
	// buffer is the smallest it allows, input arrives in readChunks.
	pollUpgrader websocket.Upgrader
	poller       *inputPoller // nil where sockets cannot be polled
	readChunks   sync.Pool    // of *[]byte, pollChunkBytes each
	inFrames     *sync.Pool   // of *inFrame: client messages while they are handled and published
	client       *kgo.Client
	admin        *kadm.Client
	hub          *hub

	knownTopics sync.Map // topic → struct{}, topics seen to exist

	ctx    context.Context // ends at Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the server starts

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	conns    int            // sockets admitted, counted before the upgrade
	perIP    map[string]int // sockets admitted per client address
}

// New validates cfg, connects the shared Kafka client and starts the tail.
// It does not wait for Kafka to answer; see Ready.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bridge config: %w", err)
	}
	router, err := topics.NewRouter(cfg.Routes)
	if err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(deps.Registerer, cfg.MetricsTopics)
	if err != nil {
		return nil, fmt.Errorf("registering bridge metrics: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		log:      log.With("component", "bridge"),
		schemas:  deps.Schemas,
		auth:     deps.Auth,
		metrics:  m,
		router:   router,
		hub:      newHub(),
		sessions: make(map[*session]struct{}),
		perIP:    make(map[string]int),
	}
	s.upgrader = websocket.Upgrader{
		// A read buffer of the socket's own (read_buffer_bytes), and a
		// pooled write buffer gorilla only takes for control frames it
		// writes itself: an idle socket holds no write buffer, and none
		// of net/http's per-request buffers.
		ReadBufferSize:  cfg.ReadBufferBytes,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.checkOrigin,
		Error:           s.upgradeError,
	}
	opts, err := s.sharedClientOpts()
	if err != nil {
		return nil, err
	}
	s.client, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating kafka client: %w", err)
	}
	s.admin = kadm.NewClient(s.client)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.pollUpgrader = s.upgrader
	s.pollUpgrader.ReadBufferSize = minGorillaReadBuffer
	s.inFrames = newInFramePool()
	s.readChunks.New = func() any {
		b := make([]byte, pollChunkBytes)
		return &b
	}
	if p, err := newInputPoller(log); err == nil {
		s.poller = p
		s.goTracked(p.run)
		s.goTracked(func() {
			<-s.ctx.Done()
			p.stop()
		})
	} else if !errors.Is(err, errors.ErrUnsupported) {
		log.Warn("sockets cannot be polled; each is read on a goroutine of its own", slog.Any("error", err))
	}
	s.goTracked(func() { s.runTail(s.ctx) })
	s.goTracked(s.runPinger)
	return s, nil
}

// Client returns the shared Kafka client, for readiness checks and metrics
// hooks. The Server owns it: do not close it.
func (s *Server) Client() *kgo.Client { return s.client }

// Ready reports whether Kafka answers a metadata request within ctx. It
// asks a broker every time: kadm's BrokerMetadata answers from the
// client's metadata cache and never notices that the brokers went away.
func (s *Server) Ready(ctx context.Context) error {
	if err := s.client.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}

// goTracked runs fn on a goroutine that Shutdown waits for.
func (s *Server) goTracked(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// IsUpgrade reports whether r asks for a WebSocket upgrade.
func IsUpgrade(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

// ServeHTTP upgrades r on /v1/ws or a configured route, and answers any
// other path with 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		route      *topics.Route
		routeTopic string
		vars       map[string]string
	)
	if r.URL.Path != ProtocolPath {
		var ok bool
		route, vars, ok = s.router.Match(r.URL.Path)
		if !ok {
			httpError(w, http.StatusNotFound, "not_found", "no WebSocket endpoint at "+r.URL.Path+"; use "+ProtocolPath+" or a configured route")
			return
		}
	}
	if !websocket.IsWebSocketUpgrade(r) {
		httpError(w, http.StatusUpgradeRequired, "bad_request", "this endpoint speaks WebSocket only")
		return
	}
	ip := clientIP(r)
	if reason := s.admit(ip); reason != "" {
		s.metrics.rejected.WithLabelValues(reason).Inc()
		w.Header().Set("Retry-After", "5")
		httpError(w, http.StatusServiceUnavailable, "unavailable", "connection refused: "+reason)
		return
	}
	admitted := true
	defer func() {
		if admitted {
			s.release(ip)
		}
	}()

	principal, status, err := s.authenticateUpgrade(r, route != nil)
	if err != nil {
		httpError(w, status, "unauthorized", err.Error())
		return
	}
	if route != nil {
		routeTopic, err = route.Topic(vars, principal.Claim)
		if err != nil {
			httpError(w, http.StatusNotFound, "not_found", err.Error())
			return
		}
		if route.Subscribes() && !principal.CanSubscribe(routeTopic) || route.Publishes() && !principal.CanPublish(routeTopic) {
			s.metrics.authFailures.WithLabelValues("forbidden").Inc()
			httpError(w, http.StatusForbidden, "forbidden", "token does not grant this route's topic "+routeTopic)
			return
		}
	}

	upgrader, rw := &s.upgrader, w
	if s.poller != nil && r.TLS == nil {
		upgrader, rw = &s.pollUpgrader, pollHijacker{ResponseWriter: w, srv: s}
	}
	conn, err := upgrader.Upgrade(rw, r, nil)
	if err != nil {
		return // the upgrader answered the request already
	}
	sess := s.newSession(conn, r, principal, route, routeTopic)
	sess.ip = ip
	if !s.track(sess) {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(CloseGoingAway, "shutting down"), time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	// The session now owns the admission slot and runs on a goroutine of
	// its own, so this handler returns and net/http frees its per-request
	// state (buffers, the response) for the socket's whole life.
	admitted = false
	go s.run(sess)
}

// pollChunkBytes is the size of the chunks polled sockets read input into.
// A socket holds one only from a read until gorilla has taken its bytes,
// so idle sockets hold none; a busy publisher's burst of frames takes a
// few reads instead of one per 4 KiB (reads are syscalls, and a burst of
// 64 one-KiB publishes took 18 reads at 4 KiB).
const pollChunkBytes = 16 << 10

// minGorillaReadBuffer is the smallest read buffer gorilla accepts (a
// control frame's payload must fit).
const minGorillaReadBuffer = 128

// pollHijacker hands gorilla the hijacked connection wrapped in a
// pollConn, so the session's input can be polled.
type pollHijacker struct {
	http.ResponseWriter
	srv *Server
}

// Hijack implements http.Hijacker.
func (h pollHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return newPollConn(c, &h.srv.readChunks, pollChunkBytes), brw, nil
}

// admit counts a connection attempt against the process and per-address
// limits, and returns the limit it would break ("" when admitted).
func (s *Server) admit(ip string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "shutting_down"
	case s.conns >= s.cfg.MaxConnections:
		return "max_connections"
	case s.perIP[ip] >= s.cfg.MaxConnectionsPerIP:
		return "max_connections_per_ip"
	}
	s.conns++
	s.perIP[ip]++
	return ""
}

// release gives back what admit took.
func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns--
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticateUpgrade verifies a token brought on the upgrade request, in
// the Authorization header or the access_token query parameter. Without
// one, a protocol connection may still authenticate with its first frame;
// a route connection may not.
func (s *Server) authenticateUpgrade(r *http.Request, isRoute bool) (Principal, int, error) {
	if s.auth == nil {
		return allowAll{}, 0, nil
	}
	token := bearerToken(r)
	if token == "" {
		if isRoute {
			s.metrics.authFailures.WithLabelValues("missing").Inc()
			return nil, http.StatusUnauthorized, errors.New("a token is required: Authorization: Bearer <jwt> or ?access_token=<jwt>")
		}
		return nil, 0, nil // first-frame auth
	}
	p, err := s.auth.Authenticate(r.Context(), token)
	if err != nil {
		s.metrics.authFailures.WithLabelValues(s.auth.FailureReason(err)).Inc()
		return nil, http.StatusUnauthorized, err
	}
	return p, 0, nil
}

func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return r.URL.Query().Get("access_token")
}

func (s *Server) newSession(conn *websocket.Conn, r *http.Request, p Principal, route *topics.Route, routeTopic string) *session {
	ctx, cancel := context.WithCancel(s.ctx)
	label := "v1"
	if route != nil {
		label = route.Config().Path
	}
	sess := &session{
		srv:        s,
		conn:       conn,
		nc:         conn.NetConn(),
		ctx:        ctx,
		cancel:     cancel,
		opened:     time.Now(),
		route:      route,
		routeTopic: routeTopic,
		routeLabel: label,
		queueMax:   s.cfg.SendQueueLength,
		room:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		subs:       make(map[string]*subscription),
		inflight:   make(chan struct{}, s.cfg.MaxInflightPublishes),
	}
	if pc, ok := sess.nc.(*pollConn); ok {
		// The session writes to the socket itself (vectored writes need
		// the TCP connection); gorilla reads through pc.
		sess.pc, sess.nc = pc, pc.Conn
		sess.inputState.Store(inputReading) // run reads first
	}
	sess.remote = r.RemoteAddr
	if p != nil {
		sess.principal.Store(&principalBox{p})
	}
	if s.cfg.PublishRate > 0 {
		sess.publishLimit = rate.NewLimiter(rate.Limit(s.cfg.PublishRate), s.cfg.PublishBurst)
	}
	return sess
}

// track registers a session, unless the server is shutting down.
func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	return true
}

// run starts one session: its auth timers, a route's subscription, and
// then its reading. A polled socket is handed to the poller and run
// returns, so an idle socket holds no goroutine; any other socket is read
// on this goroutine until it ends.
func (s *Server) run(sess *session) {
	s.metrics.connections.WithLabelValues(sess.routeLabel).Inc()
	sess.logger().Info("connection opened")

	if p := sess.currentPrincipal(); p == nil {
		sess.authTimer = sess.authDeadline(s.cfg.AuthTimeout)
	} else {
		sess.armExpiry(p.ExpiresAt())
	}
	if sess.route != nil && sess.route.Subscribes() {
		from := json.RawMessage(`"` + sess.route.Config().From + `"`)
		sess.subscribe(&inbound{Op: "subscribe", Topic: sess.routeTopic, From: from})
	}

	// This goroutine is the socket's reader (newSession set inputReading),
	// so a wake-up meanwhile (a close grace ending) starts no other.
	if sess.pc != nil && sess.pc.pollable() && s.poller != nil {
		sess.installReadHandlers()
		sess.pc.polled = true
		err := s.poller.add(sess)
		if err == nil {
			// Hand the socket to the poller, or read it now if a
			// wake-up came in the meantime.
			if !sess.inputState.CompareAndSwap(inputReading, inputIdle) {
				sess.inputState.Store(inputReading)
				sess.onInput()
			}
			return
		}
		sess.pc.polled = false
		sess.logger().Warn("socket cannot be polled; reading it on a goroutine", slog.Any("error", err))
	}
	reason, _ := sess.readSafely(func() (closeReason, bool) { return sess.readLoop(), true })
	s.finish(sess, reason)
}

// finish ends a session whose reading ended: it closes the socket (with a
// close frame when one is due), leaves every subscription and gives back
// the admission slot.
func (s *Server) finish(sess *session, reason closeReason) {
	defer s.wg.Done()
	defer s.release(sess.ip)
	if sess.authTimer != nil {
		sess.authTimer.Stop()
	}
	sess.stopExpiry()
	// An ending read closes the session; for a lost connection there is
	// nobody to send a close frame to.
	sess.close(0, "", reason, false)
	select {
	case <-sess.writerDone:
	case <-time.After(s.cfg.WriteTimeout + s.cfg.CloseGrace):
	}
	sess.cancel()
	sess.leaveAll()
	if sess.pollID != 0 {
		s.poller.remove(sess)
	}
	_ = sess.nc.Close()

	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.metrics.connections.WithLabelValues(sess.routeLabel).Dec()
	s.metrics.closes.WithLabelValues(sess.closeReason.String()).Inc()
	sess.logger().Info("connection closed",
		slog.Duration("duration", time.Since(sess.opened)),
		slog.Int64("bytes_in", sess.bytesIn.Load()),
		slog.Int64("bytes_out", sess.bytesOut.Load()),
		slog.String("reason", sess.closeReason.String()),
		slog.Int("close_code", sess.closeCode))
}

// readSafely runs read and turns a panic in an op handler into an internal
// close of this one socket, so the session is still cleaned up and the rest
// of the server goes on. ended is false when reading stopped for now
// without ending the session (a polled socket's input ran out).
func (sess *session) readSafely(read func() (closeReason, bool)) (reason closeReason, ended bool) {
	defer func() {
		if v := recover(); v != nil {
			sess.logger().Error("panic in session; closing it", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			sess.close(1011, "internal error", reasonInternal, false)
			reason, ended = reasonInternal, true
		}
	}()
	return read()
}

// Shutdown stops accepting sockets, closes every open socket with 1001,
// waits for them to end, flushes the producer and closes the Kafka client.
// ctx bounds the wait.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for sess := range s.sessions {
		sess.close(CloseGoingAway, "server shutting down", reasonShutdown, true)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var errs []error
	flushCtx, cancelFlush := context.WithCancel(ctx)
	defer cancelFlush()
	if err := s.client.Flush(flushCtx); err != nil {
		errs = append(errs, fmt.Errorf("flushing producer: %w", err))
	}
	// Sessions end within CloseGrace of their close frame; the tail and
	// history readers end with the server context.
	sessionsDone := make(chan struct{})
	go func() {
		for {
			s.mu.Lock()
			n := len(s.sessions)
			s.mu.Unlock()
			if n == 0 {
				close(sessionsDone)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	select {
	case <-sessionsDone:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("waiting for sockets to close: %w", ctx.Err()))
	}
	s.cancel()
	s.client.Close()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("waiting for goroutines: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// checkOrigin allows requests without Origin (non-browser clients), the
// configured origins, and otherwise only the same origin as Host.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (s *Server) upgradeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	httpError(w, status, "bad_request", reason.Error())
}

// httpError answers a refused upgrade with a JSON body in the shape of the
// protocol's error frame.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"op": "error", "code": code, "message": msg})
}
