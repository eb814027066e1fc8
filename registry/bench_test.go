package registry

import (
	"context"
	"os"
	"strings"
	"testing"
)

// orderJSON is a natural-JSON record of compose/schemas/orders-value.avsc:
// ten fields with a double, a timestamp, an enum, an array, a map, a nullable
// union and a nested record.
const orderJSON = `{"id":"o-1001","amount":12.5,"currency":"EUR","created_at":1700000000123,` +
	`"status":"PAID","quantity":3,"tags":["gift","express"],"attributes":{"channel":"web","coupon":"X1"},` +
	`"note":"leave at the door","customer":{"name":"Ann Lee","email":"ann@example.com"}}`

func benchGovernor(b testing.TB) *Governor {
	b.Helper()
	text, err := os.ReadFile("../compose/schemas/orders-value.avsc")
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(Config{Subjects: map[string]InlineSchema{"orders-value": {Type: FormatAvro, Schema: string(text)}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	return g
}

// BenchmarkEncodeAvro10Fields measures validate + encode + frame of one
// natural-JSON record (the publish hot path).
func BenchmarkEncodeAvro10Fields(b *testing.B) {
	g := benchGovernor(b)
	ctx := context.Background()
	in := []byte(orderJSON)
	if _, err := g.EncodeValue(ctx, "orders", in, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.EncodeValue(ctx, "orders", in, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeAvro10FieldsParallel is the same on every core.
func BenchmarkEncodeAvro10FieldsParallel(b *testing.B) {
	g := benchGovernor(b)
	ctx := context.Background()
	in := []byte(orderJSON)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.EncodeValue(ctx, "orders", in, true); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDecodeAvro10Fields measures ID lookup + decode to natural JSON
// (the subscribe hot path, done once per record).
func BenchmarkDecodeAvro10Fields(b *testing.B) {
	g := benchGovernor(b)
	ctx := context.Background()
	rec, err := g.EncodeValue(ctx, "orders", []byte(orderJSON), true)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.DecodeValue(ctx, "orders", rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeJSONSchema measures JSON Schema validation + framing.
func BenchmarkEncodeJSONSchema(b *testing.B) {
	text, err := os.ReadFile("../compose/schemas/chat.lobby-value.json")
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(Config{Subjects: map[string]InlineSchema{"chat.lobby-value": {Type: FormatJSON, Schema: string(text)}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	in := []byte(`{"user":"ann","text":"hello, lobby"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.EncodeValue(ctx, "chat.lobby", in, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassthrough measures the cost on ungoverned topics.
func BenchmarkPassthrough(b *testing.B) {
	g := benchGovernor(b)
	ctx := context.Background()
	in := []byte(`{"k":1}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.EncodeValue(ctx, "logs", in, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeAvroOrder1KiB is the record sluice-bench's schema
// scenario publishes: an order whose note pads the JSON to 1 KiB.
func BenchmarkEncodeAvroOrder1KiB(b *testing.B) {
	g := benchGovernor(b)
	ctx := context.Background()
	const head = `{"id":"o-1","amount":12.5,"created_at":1732000000000,"quantity":2,"customer":{"name":"Ann"},"note":"`
	in := []byte(head + strings.Repeat("x", 1024-len(head)-2) + `"}`)
	if _, err := g.EncodeValue(ctx, "orders", in, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := g.EncodeValue(ctx, "orders", in, true); err != nil {
			b.Fatal(err)
		}
	}
}
