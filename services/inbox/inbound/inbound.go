// Package inbound holds the durable queues of verified webhook deliveries
// (ingest.Queue): a Redis Stream with a consumer group for deployments and a
// MongoDB collection for the single-process dev mode. Both are held to one
// contract test suite.
package inbound

import (
	"crypto/rand"
	"encoding/hex"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
