package inbound

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/communityinbox/inbox/ingest"
	"github.com/redis/go-redis/v9"
)

// RedisOptions tune a Redis queue.
type RedisOptions struct {
	Prefix   string        // key prefix, e.g. "ci:"
	Group    string        // consumer group; default "inbox-ingest"
	Consumer string        // this consumer's name; default host-pid-random
	Lease    time.Duration // idle time after which another consumer takes a delivery over; default 30s
}

// Redis is a queue on a Redis Stream read through a consumer group.
//
// XADD stores a delivery; XREADGROUP hands new entries to one consumer, which
// XACKs (and XDELs, to bound memory) them once stored. Entries a consumer took
// but did not acknowledge within the lease (it died, or its batch failed) are
// taken over with XAUTOCLAIM and handed out again as redelivered. Durability
// across a Redis restart needs Redis persistence (appendonly with fsync).
type Redis struct {
	rdb      redis.UniversalClient
	key      string
	group    string
	consumer string
	lease    time.Duration

	mu        sync.Mutex
	lastClaim time.Time
	haveGroup bool
}

// NewRedis returns a queue on rdb.
func NewRedis(rdb redis.UniversalClient, o RedisOptions) *Redis {
	if o.Group == "" {
		o.Group = "inbox-ingest"
	}
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	return &Redis{rdb: rdb, key: o.Prefix + "inbox:inbound", group: o.Group, consumer: o.Consumer, lease: o.Lease}
}

// Enqueue appends d to the stream.
func (q *Redis) Enqueue(ctx context.Context, d ingest.Delivery) error {
	err := q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.key, Values: []any{
		"s", string(d.Source), "c", strings.Join(d.ChannelIDs, ","), "t", d.ReceivedAt.UnixMilli(), "b", d.Body,
	}}).Err()
	if err != nil {
		return fmt.Errorf("inbound: xadd: %w", err)
	}
	return nil
}

// Claim returns deliveries abandoned by other consumers first, then new ones.
func (q *Redis) Claim(ctx context.Context, limit int, wait time.Duration) ([]ingest.Delivery, error) {
	if err := q.ensureGroup(ctx); err != nil {
		return nil, err
	}
	if ds, err := q.reclaim(ctx, limit); err != nil || len(ds) > 0 {
		return ds, err
	}
	streams, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.group, Consumer: q.consumer,
		Streams: []string{q.key, ">"}, Count: int64(limit), Block: max(wait, time.Millisecond)}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		if ctx.Err() != nil {
			return nil, nil
		}
		q.lostGroup(err)
		return nil, fmt.Errorf("inbound: xreadgroup: %w", err)
	}
	var out []ingest.Delivery
	for _, s := range streams {
		out = append(out, decodeAll(s.Messages, false)...)
	}
	return out, nil
}

// reclaim takes over entries idle for longer than the lease, at most every
// quarter lease: scanning the pending list on every claim would be wasted work.
func (q *Redis) reclaim(ctx context.Context, limit int) ([]ingest.Delivery, error) {
	q.mu.Lock()
	due := time.Since(q.lastClaim) >= q.lease/4
	if due {
		q.lastClaim = time.Now()
	}
	q.mu.Unlock()
	if !due {
		return nil, nil
	}
	msgs, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: q.key, Group: q.group, Consumer: q.consumer,
		MinIdle: q.lease, Start: "0-0", Count: int64(limit)}).Result()
	if err != nil {
		q.lostGroup(err)
		return nil, fmt.Errorf("inbound: xautoclaim: %w", err)
	}
	if next != "0-0" {
		// More may be waiting: look again on the next claim.
		q.mu.Lock()
		q.lastClaim = time.Time{}
		q.mu.Unlock()
	}
	return decodeAll(msgs, true), nil
}

// Ack acknowledges and deletes deliveries.
func (q *Redis) Ack(ctx context.Context, ds []ingest.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q.key, q.group, ids...)
		p.XDel(ctx, q.key, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("inbound: ack: %w", err)
	}
	return nil
}

func (q *Redis) ensureGroup(ctx context.Context) error {
	q.mu.Lock()
	have := q.haveGroup
	q.mu.Unlock()
	if have {
		return nil
	}
	// "0": a group created after deliveries were queued must still see them.
	err := q.rdb.XGroupCreateMkStream(ctx, q.key, q.group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("inbound: create group: %w", err)
	}
	q.mu.Lock()
	q.haveGroup = true
	q.mu.Unlock()
	return nil
}

// lostGroup notes that the group must be created again (Redis restarted empty).
func (q *Redis) lostGroup(err error) {
	if strings.Contains(err.Error(), "NOGROUP") {
		q.mu.Lock()
		q.haveGroup = false
		q.mu.Unlock()
	}
}

func decodeAll(msgs []redis.XMessage, redelivered bool) []ingest.Delivery {
	out := make([]ingest.Delivery, 0, len(msgs))
	for _, m := range msgs {
		s, _ := m.Values["s"].(string)
		c, _ := m.Values["c"].(string)
		t, _ := m.Values["t"].(string)
		b, _ := m.Values["b"].(string)
		ms, _ := strconv.ParseInt(t, 10, 64)
		d := ingest.Delivery{ID: m.ID, Source: ingest.Source(s), Body: []byte(b),
			ReceivedAt: time.UnixMilli(ms).UTC(), Redelivered: redelivered}
		if c != "" {
			d.ChannelIDs = strings.Split(c, ",")
		}
		out = append(out, d)
	}
	return out
}
