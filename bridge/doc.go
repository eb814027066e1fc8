// Package bridge owns Sluice's WebSocket sessions and the Kafka fan-out.
//
// A Server accepts WebSocket upgrades on /v1/ws (the JSON protocol of
// docs/protocol.md) and on configured routes (one topic per URL). Each socket
// is a session with a bounded send queue and a writer that runs only while
// frames are queued; a session whose queue overflows is closed as a slow
// consumer, so it never slows Kafka consumption or other sockets. Plain-TCP
// sockets on Linux wait for input in one epoll set (inputPoller) and are read
// by a goroutine only while they have input, so an idle socket holds no
// goroutine and no read buffer; TLS sockets keep one read loop each.
//
// One shared franz-go client per process tails every subscribed topic once
// (the hub's "tail") and produces every publish. A record is rendered into
// its WebSocket frame once per topic and the same bytes are queued to every
// subscriber. Subscribers that start behind the tail (earliest, a timestamp
// or explicit offsets) read history with a short-lived bounded reader and
// join the live fan-out at the exact offset where history ended.
//
// Schema validation and authorization are plugged in through the Schemas
// and Authenticator interfaces, which the bridge calls on every publish,
// subscribe and delivery.
//
// Server and its exported methods are safe for concurrent use.
package bridge
