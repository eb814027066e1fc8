/**
 * @sluicehq/client: a dependency-free client for Sluice, the WebSocket
 * gateway for Apache Kafka. Works in browsers and in Node 20+ (pass the ws
 * package's constructor as the WebSocket option where there is no global
 * WebSocket).
 *
 * @example
 * const s = new Sluice("wss://sluice.example.com/v1/ws", { token: () => fetchToken() });
 * const sub = s.subscribe("orders", { from: "latest" }, (msg) => console.log(msg.value));
 * const { partition, offset } = await s.publish("chat.lobby", { text: "hi" }, { key: "alice" });
 * sub.unsubscribe();
 * s.close();
 *
 * @packageDocumentation
 */
export { Sluice } from "./client.js";
export { SluiceError } from "./errors.js";
