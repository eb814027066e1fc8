// Package console serves Sluice's web console: a single page, built on the
// JavaScript client (clients/js), that connects to the gateway, subscribes
// to topics, streams their records into a table and publishes JSON values,
// showing schema errors next to the field they concern.
//
// The page, its stylesheet and script, and a copy of the client's compiled
// ES modules (assets/client, refreshed by `npm run build` in clients/js and
// checked against clients/js/dist by this package's tests) are embedded in
// the binary: building Sluice needs no Node toolchain, and the console loads
// nothing from outside the gateway.
//
// [Handler] is safe for concurrent use.
package console
