package topics

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"chat.lobby-1_x", true},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"ä", false},
		{strings.Repeat("a", 249), true},
		{strings.Repeat("a", 250), false},
	} {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) error %v does not wrap ErrInvalidName", tc.name, err)
		}
	}
}

func TestRouterMatch(t *testing.T) {
	r, err := NewRouter([]RouteConfig{
		{Path: "/chat/{room}", Topic: "chat.{room}"},
		{Path: "/chat/admin", Topic: "chat-admin", Mode: "subscribe"},
		{Path: "/me/events", Topic: "user.{sub}.events", From: "earliest"},
		{Path: "/t/{a}/{b}", Topic: "{a}-{b}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(name string) (string, bool) {
		if name == "sub" {
			return "alice", true
		}
		return "", false
	}
	for _, tc := range []struct {
		path, topic string
		found       bool
		wantErr     bool
	}{
		{path: "/chat/lobby", topic: "chat.lobby", found: true},
		{path: "/chat/admin", topic: "chat-admin", found: true},
		{path: "/me/events", topic: "user.alice.events", found: true},
		{path: "/t/x/y", topic: "x-y", found: true},
		{path: "/chat", found: false},
		{path: "/chat/lobby/extra", found: false},
		{path: "/chat/", found: false},
		{path: "/chat/bad%20name", found: true, wantErr: true},
		{path: "/chat/a*b", found: true, wantErr: true},
		{path: "/nothing", found: false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			route, vars, ok := r.Match(tc.path)
			if ok != tc.found {
				t.Fatalf("Match found=%v, want %v", ok, tc.found)
			}
			if !ok {
				return
			}
			topic, err := route.Topic(vars, claims)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Topic() = %q, %v; wantErr %v", topic, err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrUnresolved) {
					t.Fatalf("error %v does not wrap ErrUnresolved", err)
				}
				return
			}
			if topic != tc.topic {
				t.Fatalf("topic = %q, want %q", topic, tc.topic)
			}
		})
	}
}

func TestRouteMissingClaim(t *testing.T) {
	r, err := NewRouter([]RouteConfig{{Path: "/me/events", Topic: "user.{sub}.events"}})
	if err != nil {
		t.Fatal(err)
	}
	route, vars, _ := r.Match("/me/events")
	if _, err := route.Topic(vars, nil); !errors.Is(err, ErrUnresolved) {
		t.Fatalf("Topic without claims = %v, want ErrUnresolved", err)
	}
	if !route.Subscribes() || !route.Publishes() || route.Config().From != "latest" {
		t.Fatalf("defaults not applied: %+v", route.Config())
	}
}

func TestNewRouterReportsEveryError(t *testing.T) {
	_, err := NewRouter([]RouteConfig{
		{Path: "chat/{room}", Topic: "chat.{room}"},
		{Path: "/a/{x}", Topic: "bad topic"},
		{Path: "/b/x{y}", Topic: "b"},
		{Path: "/c", Topic: "c", From: "yesterday", Mode: "sometimes"},
		{Path: "/d/{x}", Topic: "d.{x"},
		{Path: "/e/{x}", Topic: "e"},
		{Path: "/e/{y}", Topic: "e2"},
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		`"chat/{room}"`, `"bad topic"`, `"/b/x{y}"`, `from "yesterday"`, `mode "sometimes"`, "unclosed", "same path shape",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
}

func BenchmarkRouterMatch(b *testing.B) {
	r, err := NewRouter([]RouteConfig{
		{Path: "/chat/{room}", Topic: "chat.{room}"},
		{Path: "/orders/{region}/live", Topic: "orders.{region}"},
		{Path: "/me/events", Topic: "user.{sub}.events"},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		route, vars, ok := r.Match("/orders/eu/live")
		if !ok {
			b.Fatal("no match")
		}
		if _, err := route.Topic(vars, nil); err != nil {
			b.Fatal(err)
		}
	}
}
