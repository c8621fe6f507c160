// Package latency measures the whole path an agent feels: a signed platform
// webhook enters the gateway, the inbox verifies, queues, stores and publishes
// it, and the gateway pushes it to every connected agent's websocket.
package latency
