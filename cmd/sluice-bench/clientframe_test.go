package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestFrameWriterFramesReadByGorilla writes frames of every length class
// in one write and checks a gorilla server reads each message intact.
func TestFrameWriterFramesReadByGorilla(t *testing.T) {
	sizes := []int{0, 1, 7, 125, 126, 1000, 65535, 65536, 200_000}
	got := make(chan []byte, len(sizes))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		for range sizes {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				t.Error(err)
				return
			}
			if mt != websocket.TextMessage {
				t.Errorf("message type %d, want text", mt)
			}
			got <- msg
		}
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	fw := newFrameWriter(1)
	var want [][]byte
	for i, n := range sizes {
		p := bytes.Repeat([]byte(fmt.Sprint(i%10)), n)
		want = append(want, p)
		start := fw.begin()
		fw.buf = append(fw.buf, p...)
		fw.end(start)
	}
	if err := fw.flush(c.NetConn()); err != nil {
		t.Fatal(err)
	}
	for i := range sizes {
		if msg := <-got; !bytes.Equal(msg, want[i]) {
			t.Fatalf("message %d: %d bytes, want %d bytes of %q", i, len(msg), len(want[i]), want[i][:min(1, len(want[i]))])
		}
	}
}
