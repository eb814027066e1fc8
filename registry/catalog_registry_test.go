package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riferrei/srclient"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

const orderV1 = `{"type":"record","name":"Order","fields":[
  {"name":"id","type":"string"},
  {"name":"amount","type":"double"}
]}`

// orderV2 adds a field with a default (backward compatible).
const orderV2 = `{"type":"record","name":"Order","fields":[
  {"name":"id","type":"string"},
  {"name":"amount","type":"double"},
  {"name":"currency","type":"string","default":"EUR"}
]}`

// fakeRegistry is srfake served on a real loopback listener (srfake.New
// starts an httptest.Server on 127.0.0.1:0) with a switch that makes it
// answer 503, to simulate an outage, and a request counter.
type fakeRegistry struct {
	*srfake.Registry
	down     atomic.Bool
	requests atomic.Int64
}

func newFakeRegistry(t *testing.T, opts ...srfake.Option) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{Registry: srfake.New(opts...)}
	f.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
		f.requests.Add(1)
		if f.down.Load() {
			http.Error(w, "registry down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	t.Cleanup(f.Close)
	return f
}

// register registers a schema through srclient, as an operator's tooling would.
func (f *fakeRegistry) register(t *testing.T, subject, text string, typ srclient.SchemaType) int {
	t.Helper()
	c := srclient.NewSchemaRegistryClient(f.URL())
	s, err := c.CreateSchema(subject, text, typ)
	if err != nil {
		t.Fatalf("registering %s: %v", subject, err)
	}
	return s.ID()
}

func TestRegistryEncodeEvolveDecode(t *testing.T) {
	reg := newFakeRegistry(t)
	ctx := context.Background()
	id1 := reg.register(t, "orders-value", orderV1, srclient.Avro)
	g := newGovernor(t, Config{URL: reg.URL(), MaxAge: 50 * time.Millisecond})

	rec1, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":12.5}`), true)
	if err != nil {
		t.Fatalf("EncodeValue v1: %v", err)
	}
	if got := frameID(t, rec1); got != id1 {
		t.Fatalf("v1 record framed with id %d, want %d", got, id1)
	}
	_, err = g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":"12.5"}`), true)
	var ve *ViolationError
	if !errors.As(err, &ve) || len(ve.Details) != 1 || ve.Details[0].Path != "$.amount" {
		t.Fatalf("bad amount: err = %v, want violation at $.amount", err)
	}

	// Evolve the subject; the max-age refresh picks up version 2.
	id2 := reg.register(t, "orders-value", orderV2, srclient.Avro)
	if id2 == id1 {
		t.Fatal("v2 got the same id as v1")
	}
	var rec2 []byte
	waitFor(t, 5*time.Second, func() bool {
		rec2, err = g.EncodeValue(ctx, "orders", []byte(`{"id":"o-2","amount":3}`), true)
		return err == nil && frameID(t, rec2) == id2
	})

	tests := []struct {
		name string
		rec  []byte
		id   int
		want string
	}{
		{"version 1 record", rec1, id1, `{"id":"o-1","amount":12.5}`},
		{"version 2 record", rec2, id2, `{"id":"o-2","amount":3,"currency":"EUR"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := g.DecodeValue(ctx, "orders", tt.rec)
			if err != nil {
				t.Fatalf("DecodeValue: %v", err)
			}
			if d.SchemaID != tt.id || !d.Framed || string(d.JSON) != tt.want {
				t.Fatalf("Decoded = {%s %d %v}, want {%s %d true}", d.JSON, d.SchemaID, d.Framed, tt.want, tt.id)
			}
		})
	}

	// A second governor that never saw v1 decodes it by ID.
	g2 := newGovernor(t, Config{URL: reg.URL()})
	if d, err := g2.DecodeValue(ctx, "orders", rec1); err != nil || string(d.JSON) != `{"id":"o-1","amount":12.5}` {
		t.Fatalf("cold DecodeValue = %s, %v", d.JSON, err)
	}
}

func TestRegistryWarmPathMakesNoRequests(t *testing.T) {
	reg := newFakeRegistry(t)
	ctx := context.Background()
	reg.register(t, "orders-value", orderV1, srclient.Avro)
	g := newGovernor(t, Config{URL: reg.URL()})
	rec, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":1}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.EncodeValue(ctx, "logs", []byte(`anything`), true); err != nil { // no subject: passthrough
		t.Fatal(err)
	}
	if _, err := g.DecodeValue(ctx, "orders", rec); err != nil {
		t.Fatal(err)
	}
	before := reg.requests.Load()
	for range 100 {
		if _, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":1}`), true); err != nil {
			t.Fatal(err)
		}
		if _, err := g.EncodeValue(ctx, "logs", []byte(`anything`), true); err != nil {
			t.Fatal(err)
		}
		if _, err := g.DecodeValue(ctx, "orders", rec); err != nil {
			t.Fatal(err)
		}
	}
	if n := reg.requests.Load() - before; n != 0 {
		t.Fatalf("warm hot path made %d registry requests", n)
	}
}

func TestRegistryOutage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		warm    bool
		wantErr error
	}{
		{"warm cache keeps serving", true, nil},
		{"cold cache is unavailable", false, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			id := reg.register(t, "orders-value", orderV1, srclient.Avro)
			g := newGovernor(t, Config{URL: reg.URL(), MaxAge: 20 * time.Millisecond, Timeout: time.Second})
			rec := frame(id, []byte{0x06, 'o', '-', '1', 0, 0, 0, 0, 0, 0, 0x29, 0x40}) // {"id":"o-1","amount":12.5}
			if tt.warm {
				if _, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":12.5}`), true); err != nil {
					t.Fatal(err)
				}
				if _, err := g.DecodeValue(ctx, "orders", rec); err != nil {
					t.Fatal(err)
				}
			}
			reg.down.Store(true)
			if err := g.Ready(ctx); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Ready while down = %v, want ErrUnavailable", err)
			}
			// Let the latest entry expire so that a refresh is attempted.
			seen := reg.requests.Load()
			waitFor(t, 5*time.Second, func() bool {
				_, _ = g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":12.5}`), true)
				return reg.requests.Load() > seen
			})
			for range 3 {
				out, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":12.5}`), true)
				if !errors.Is(err, tt.wantErr) || (err == nil && frameID(t, out) != id) {
					t.Fatalf("EncodeValue while down = %x, %v; want err %v", out, err, tt.wantErr)
				}
				d, err := g.DecodeValue(ctx, "orders", rec)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("DecodeValue while down: %v, want %v", err, tt.wantErr)
				}
				if err != nil && (d.SchemaID != id || !d.Framed) {
					t.Fatalf("failed DecodeValue = %+v, want schema id %d", d, id)
				}
			}
			// Recovery.
			reg.down.Store(false)
			waitFor(t, 10*time.Second, func() bool {
				_, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o-1","amount":12.5}`), true)
				return err == nil
			})
			if err := g.Ready(ctx); err != nil {
				t.Errorf("Ready after recovery: %v", err)
			}
		})
	}
}

func TestRegistryUnreachableHost(t *testing.T) {
	reg := newFakeRegistry(t)
	url := reg.URL()
	reg.Close() // nothing listens any more
	g := newGovernor(t, Config{URL: url, Timeout: time.Second})
	_, err := g.EncodeValue(context.Background(), "orders", []byte(`{}`), true)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("EncodeValue = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "orders-value") {
		t.Errorf("error %q does not name the subject", err)
	}
	if err := g.Ready(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready = %v, want ErrUnavailable", err)
	}
}

func TestRegistryAuthAndRules(t *testing.T) {
	reg := newFakeRegistry(t, srfake.WithAuth("Bearer s3cret"))
	reg.SeedSchema("shared-orders", 1, 7, srfakeSchema(orderV1))
	reg.SeedSchema("shared-orders", 2, 8, srfakeSchema(orderV2))
	reg.SeedSchema("other", 1, 9, srfakeSchema(`"string"`))
	ctx := context.Background()

	bad := newGovernor(t, Config{URL: reg.URL(), BearerToken: "wrong"})
	if err := bad.Ready(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready with a wrong token = %v, want ErrUnavailable", err)
	}

	g := newGovernor(t, Config{URL: reg.URL(), BearerToken: "s3cret", Rules: []Rule{
		{Topic: "orders.v1", Subject: "shared-orders", Version: "1"},
		{Topic: "orders.*", Subject: "shared-orders"},
		{Topic: "audit.*", Subject: "missing-subject"},
		{Topic: "raw.*", Mode: ModePassthrough},
	}})
	if err := g.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	v1rec := frame(7, []byte{0x06, 'o', '-', '1', 0, 0, 0, 0, 0, 0, 0x29, 0x40})
	tests := []struct {
		name, topic, in string
		isJSON          bool
		wantID          int    // expected frame ID, 0 = unchanged input
		wantViolation   string // substring of the violation message
	}{
		{"pinned version", "orders.v1", `{"id":"a","amount":1}`, true, 7, ""},
		{"latest version", "orders.eu", `{"id":"a","amount":1}`, true, 8, ""},
		{"missing subject of a rule", "audit.log", `{}`, true, 0, "subject missing-subject not found"},
		{"passthrough rule", "raw.bytes", `not json`, true, 0, ""},
		{"framed bytes of an older version", "orders.eu", string(v1rec), false, 7, ""},
		{"framed bytes of a foreign id", "orders.eu", string(frame(9, []byte{0})), false, 0, "not registered under subject shared-orders"},
		{"framed bytes not allowed by pin", "orders.v1", string(frame(8, []byte{0})), false, 0, "pinned"},
		{"raw bytes on a governed topic", "orders.eu", "\x01garbage", false, 0, "raw bytes are not accepted"},
		{"framed garbage of the right id", "orders.eu", string(frame(8, []byte{0xff})), false, 0, "do not decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := g.EncodeValue(ctx, tt.topic, []byte(tt.in), tt.isJSON)
			if tt.wantViolation != "" {
				var ve *ViolationError
				if !errors.As(err, &ve) || !strings.Contains(ve.Error(), tt.wantViolation) {
					t.Fatalf("err = %v, want violation containing %q", err, tt.wantViolation)
				}
				return
			}
			if err != nil {
				t.Fatalf("EncodeValue: %v", err)
			}
			if tt.wantID == 0 {
				if string(out) != tt.in {
					t.Fatalf("passthrough changed the value: %q", out)
				}
				return
			}
			if got := frameID(t, out); got != tt.wantID {
				t.Fatalf("framed with id %d, want %d", got, tt.wantID)
			}
		})
	}
	// Passthrough topics are not decoded either.
	if d, err := g.DecodeValue(ctx, "raw.bytes", v1rec); err != nil || d.Framed {
		t.Fatalf("DecodeValue on passthrough topic = %+v, %v", d, err)
	}
	// Unknown IDs are reported with the ID.
	if d, err := g.DecodeValue(ctx, "orders.eu", frame(4242, nil)); !errors.Is(err, ErrUnknownSchemaID) || d.SchemaID != 4242 {
		t.Fatalf("DecodeValue unknown id = %+v, %v", d, err)
	}
}

func srfakeSchema(text string) sr.Schema {
	return sr.Schema{Schema: text, Type: sr.TypeAvro}
}

func TestRegistryConcurrentUseDuringEvolution(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.register(t, "orders-value", orderV1, srclient.Avro)
	g := newGovernor(t, Config{URL: reg.URL(), MaxAge: time.Millisecond})
	ctx := context.Background()
	id2 := 0
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var failures atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o","amount":1}`), true)
				if err != nil {
					failures.Add(1)
					continue
				}
				if _, err := g.DecodeValue(ctx, "orders", rec); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	id2 = reg.register(t, "orders-value", orderV2, srclient.Avro)
	waitFor(t, 5*time.Second, func() bool {
		rec, err := g.EncodeValue(ctx, "orders", []byte(`{"id":"o","amount":1}`), true)
		return err == nil && frameID(t, rec) == id2
	})
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d concurrent calls failed", n)
	}
}
