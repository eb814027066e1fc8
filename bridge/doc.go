// Package bridge owns Sluice's WebSocket sessions and the Kafka fan-out.
//
// A Server accepts WebSocket upgrades on /v1/ws (the JSON protocol of
// docs/protocol.md) and on configured routes (one topic per URL). Each socket
// is a session with one read loop, a writer that runs only while frames are
// queued, and a bounded send queue; a session whose queue overflows is closed
// as a slow consumer, so it never slows Kafka consumption or other sockets.
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
