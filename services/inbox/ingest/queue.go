package ingest

import (
	"context"
	"time"
)

// Source names the parser a delivery's body needs.
type Source string

// Sources of deliveries.
const (
	SourceMeta     Source = "meta"
	SourceX        Source = "x"
	SourceTelegram Source = "telegram"
	SourceAPI      Source = "api"
)

// Delivery is one verified webhook body waiting to be processed.
type Delivery struct {
	ID         string // assigned by the queue
	Source     Source
	ChannelIDs []string // the verified channels whose events the body may carry
	Body       []byte   // exactly as received
	ReceivedAt time.Time
	// Redelivered is set by Claim when the delivery was handed out before and
	// not acknowledged: its first worker died or failed.
	Redelivered bool
}

// Queue is the durable buffer between a webhook's 200 and its processing.
//
// Guarantees, the same for every implementation: Enqueue returns only once the
// delivery is stored; Claim hands each delivery to one claimer at a time and
// hands it out again, Redelivered, when it is not acknowledged within the
// queue's lease; Ack removes deliveries for good.
type Queue interface {
	Enqueue(ctx context.Context, d Delivery) error
	// Claim returns up to limit deliveries, waiting up to wait for the first one.
	Claim(ctx context.Context, limit int, wait time.Duration) ([]Delivery, error)
	Ack(ctx context.Context, ds []Delivery) error
}
