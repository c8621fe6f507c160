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
// XADD stores a delivery (the XADDs of concurrent Enqueues go together, see
// Enqueue); XREADGROUP hands new entries to one consumer, which
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

	amu       sync.Mutex
	waiting   []*appendReq // enqueued, not yet sent
	appending int          // appendLoops running
}

// appendReq is one Enqueue waiting for its XADD.
type appendReq struct {
	d    ingest.Delivery
	done chan error // buffered: the loop never waits for a caller gone
}

const (
	// maxAppend and maxAppendBytes bound one pipeline: XADDs, and bytes of
	// bodies (a pipeline is written whole before Redis answers; a single
	// delivery over the limit goes alone).
	maxAppend      = 256
	maxAppendBytes = 4 << 20
	// maxAppending bounds the pipelines in flight, so that webhooks leave
	// most of the client's connections to the workers and the bus.
	maxAppending = 4
	// appendTimeout bounds one pipeline; it serves many callers, so none
	// of their contexts can be its own.
	appendTimeout = 10 * time.Second
)

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

// Enqueue appends d to the stream and returns once Redis has it. Concurrent
// calls share round trips: each joins the deliveries waiting, and up to
// maxAppending loops send them in pipelines of up to maxAppend XADDs. Under
// a burst of webhooks, one round trip then stores hundreds of them, and no
// request waits for a free connection (one XADD per request and a pool of
// 20 connections queued acknowledgements for 100 ms and more while the
// workers stored on the same cores). When ctx ends first, the delivery may
// still be appended; the platform's retry is then stored once.
func (q *Redis) Enqueue(ctx context.Context, d ingest.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &appendReq{d: d, done: make(chan error, 1)}
	q.amu.Lock()
	q.waiting = append(q.waiting, r)
	start := q.appending < maxAppending
	if start {
		q.appending++
	}
	q.amu.Unlock()
	if start {
		go q.appendLoop()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// appendLoop sends the waiting deliveries until none are left.
func (q *Redis) appendLoop() {
	for batch := q.take(); batch != nil; batch = q.take() {
		q.append(batch)
	}
}

// take removes the next pipeline's deliveries from the waiting ones. When
// none wait it returns nil and the calling loop ends.
func (q *Redis) take() []*appendReq {
	q.amu.Lock()
	defer q.amu.Unlock()
	n, size := 0, 0
	for n < len(q.waiting) && n < maxAppend {
		size += len(q.waiting[n].d.Body)
		if n > 0 && size > maxAppendBytes {
			break
		}
		n++
	}
	if n == 0 {
		q.appending--
		q.waiting = nil
		return nil
	}
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	return batch
}

// append sends one pipeline of XADDs and answers each caller with its own
// command's outcome.
func (q *Redis) append(batch []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(batch))
	_, _ = q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range batch {
			cmds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: q.key, Values: []any{
				"s", string(r.d.Source), "c", strings.Join(r.d.ChannelIDs, ","), "t", r.d.ReceivedAt.UnixMilli(), "b", r.d.Body,
			}})
		}
		return nil
	})
	for i, r := range batch {
		err := cmds[i].Err()
		if err != nil {
			err = fmt.Errorf("inbound: xadd: %w", err)
		}
		r.done <- err
	}
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
