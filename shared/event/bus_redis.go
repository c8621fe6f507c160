package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBus is the Bus of deployments: events are numbered and retained by one
// Lua script (INCR + XADD + PUBLISH, atomic on a single Redis), fanned out live
// with pub/sub, replayed from a capped stream per (workspace, stream), and fed to
// consumer groups from one capped log stream.
//
// Pub/sub is at most once: go-redis resubscribes after a Redis restart or a
// dropped connection, and subscribers detect the gap by Seq and read History.
// A Redis restart without persistence resets the counters; History then answers
// ErrHistoryTrimmed for seqs it no longer knows and clients reset.
type RedisBus struct {
	rdb      redis.UniversalClient
	prefix   string
	histLen  int64
	logLen   int64
	log      *slog.Logger
	consumer string
	mu       sync.Mutex
	closed   bool
}

// RedisOptions tune a RedisBus.
type RedisOptions struct {
	Prefix     string // key prefix, e.g. "ci:"; tests use a unique one
	HistoryLen int64  // events kept per (workspace, stream) for replay
	LogLen     int64  // events kept in the consumer-group log
	Logger     *slog.Logger
}

// NewRedisBus returns a bus on rdb.
func NewRedisBus(rdb redis.UniversalClient, o RedisOptions) *RedisBus {
	if o.HistoryLen <= 0 {
		o.HistoryLen = 10000
	}
	if o.LogLen <= 0 {
		o.LogLen = 1000000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &RedisBus{rdb: rdb, prefix: o.Prefix, histLen: o.HistoryLen, logLen: o.LogLen, log: o.Logger,
		consumer: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), newID()[:6])}
}

// KEYS: seq counter, conversation counter, history stream, log stream, channel.
// ARGV: event JSON, conversation id, history len, log len.
var publishScript = redis.NewScript(`
local seq = redis.call('INCR', KEYS[1])
local cseq = 0
if ARGV[2] ~= '' then
  cseq = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 2592000)
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], seq .. '-1', 's', seq, 'c', cseq, 'e', ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 's', seq, 'c', cseq, 'e', ARGV[1])
redis.call('PUBLISH', KEYS[5], seq .. ' ' .. cseq .. ' ' .. ARGV[1])
return {seq, cseq}
`)

func (b *RedisBus) seqKey(ws, stream string) string  { return b.prefix + "seq:" + ws + ":" + stream }
func (b *RedisBus) histKey(ws, stream string) string { return b.prefix + "hist:" + ws + ":" + stream }
func (b *RedisBus) convKey(ws, conv string) string   { return b.prefix + "cseq:" + ws + ":" + conv }
func (b *RedisBus) logKey() string                   { return b.prefix + "log" }
func (b *RedisBus) channel() string                  { return b.prefix + "events" }

// Publish numbers, retains and broadcasts e.
func (b *RedisBus) Publish(ctx context.Context, e Event) (Event, error) {
	if b.isClosed() {
		return Event{}, ErrClosed
	}
	stamp(&e)
	e.Seq, e.ConversationSeq = 0, 0
	raw, err := json.Marshal(e)
	if err != nil {
		return Event{}, fmt.Errorf("publish: %w", err)
	}
	if e.Stream == StreamPresence {
		if err := b.rdb.Publish(ctx, b.channel(), "0 0 "+string(raw)).Err(); err != nil {
			return Event{}, fmt.Errorf("publish presence: %w", err)
		}
		return e, nil
	}
	keys := []string{b.seqKey(e.WorkspaceID, e.Stream), b.convKey(e.WorkspaceID, e.ConversationID),
		b.histKey(e.WorkspaceID, e.Stream), b.logKey(), b.channel()}
	res, err := publishScript.Run(ctx, b.rdb, keys, raw, e.ConversationID, b.histLen, b.logLen).Int64Slice()
	if err != nil {
		return Event{}, fmt.Errorf("publish: %w", err)
	}
	e.Seq, e.ConversationSeq = res[0], res[1]
	return e, nil
}

// publishChunk bounds the events one PublishAll pipeline carries.
const publishChunk = 256

// PublishAll publishes es in order, as Publish would one by one, with one
// round trip per chunk of events instead of one per event: each event is
// still numbered, retained and broadcast by its own atomic script run. The
// next chunk is encoded while Redis runs the current one. On an error the
// events before the failing one are published and are returned.
func (b *RedisBus) PublishAll(ctx context.Context, es []Event) ([]Event, error) {
	out := make([]Event, 0, len(es))
	next := encodeChunk(es[:min(len(es), publishChunk)])
	for len(es) > 0 {
		if b.isClosed() {
			return out, ErrClosed
		}
		cur := next
		es = es[len(cur.events):]
		var ahead chan encoded
		if len(es) > 0 {
			ahead = make(chan encoded, 1)
			chunk := es[:min(len(es), publishChunk)]
			go func() { ahead <- encodeChunk(chunk) }()
		}
		done, err := b.publishPipelined(ctx, cur)
		out = append(out, done...)
		if err != nil {
			return out, err
		}
		if ahead != nil {
			next = <-ahead
		}
	}
	return out, nil
}

// encoded is a chunk of events stamped for publishing, with their JSON.
type encoded struct {
	events []Event
	raw    [][]byte
	err    error // of the first event that does not encode; raw stops before it
}

func encodeChunk(es []Event) encoded {
	c := encoded{events: make([]Event, len(es)), raw: make([][]byte, 0, len(es))}
	for i, e := range es {
		stamp(&e)
		e.Seq, e.ConversationSeq = 0, 0
		c.events[i] = e
		raw, err := json.Marshal(e)
		if err != nil {
			c.err = fmt.Errorf("publish: %w", err)
			return c
		}
		c.raw = append(c.raw, raw)
	}
	return c
}

// publishPipelined runs the publish script for the encoded events in one
// pipeline and returns the events published, in order, up to the first
// failure. A script cache emptied by a Redis restart answers NOSCRIPT: the
// script is loaded again and the rest goes once more.
func (b *RedisBus) publishPipelined(ctx context.Context, c encoded) ([]Event, error) {
	es, raws := c.events[:len(c.raw)], c.raw
	out := make([]Event, 0, len(es))
	for reloaded := false; len(es) > 0; {
		pipe := b.rdb.Pipeline()
		cmds := make([]redis.Cmder, len(es))
		for i, e := range es {
			raw := raws[i]
			if e.Stream == StreamPresence {
				cmds[i] = pipe.Publish(ctx, b.channel(), "0 0 "+string(raw))
				continue
			}
			keys := []string{b.seqKey(e.WorkspaceID, e.Stream), b.convKey(e.WorkspaceID, e.ConversationID),
				b.histKey(e.WorkspaceID, e.Stream), b.logKey(), b.channel()}
			cmds[i] = pipe.EvalSha(ctx, publishScript.Hash(), keys, raw, e.ConversationID, b.histLen, b.logLen)
		}
		_, _ = pipe.Exec(ctx) // each command's own error is read below
		for i, cmd := range cmds {
			err := cmd.Err()
			if err != nil && !reloaded && redis.HasErrorPrefix(err, "NOSCRIPT") {
				if err := publishScript.Load(ctx, b.rdb).Err(); err != nil {
					return out, fmt.Errorf("publish: load script: %w", err)
				}
				reloaded = true
				es, raws = es[i:], raws[i:]
				break
			}
			if err != nil {
				return out, fmt.Errorf("publish: %w", err)
			}
			e := es[i]
			if sc, ok := cmd.(*redis.Cmd); ok {
				res, err := sc.Int64Slice()
				if err != nil || len(res) != 2 {
					return out, fmt.Errorf("publish: unexpected reply %v: %w", sc.Val(), err)
				}
				e.Seq, e.ConversationSeq = res[0], res[1]
			}
			out = append(out, e)
			if i == len(cmds)-1 {
				es = nil
			}
		}
	}
	return out, c.err
}

// Subscribe calls fn for each live event, from one goroutine, until cancelled.
func (b *RedisBus) Subscribe(ctx context.Context, fn func(Event)) (func(), error) {
	if b.isClosed() {
		return nil, ErrClosed
	}
	ps := b.rdb.Subscribe(ctx, b.channel())
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	// Channel keeps resubscribing after connection loss; the health check pings
	// the connection so a silently dead one is noticed within seconds.
	ch := ps.Channel(redis.WithChannelSize(4096), redis.WithChannelHealthCheckInterval(3*time.Second))
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				e, err := decodeLive(m.Payload)
				if err != nil {
					b.log.Warn("bus: undecodable event", "err", err)
					continue
				}
				fn(e)
			}
		}
	}()
	return func() {
		cancel()
		_ = ps.Close()
		<-done
	}, nil
}

func decodeLive(p string) (Event, error) {
	parts := strings.SplitN(p, " ", 3)
	if len(parts) != 3 {
		return Event{}, errors.New("bad frame")
	}
	return decode(parts[0], parts[1], parts[2])
}

func decode(seq, cseq, raw string) (Event, error) {
	var e Event
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return Event{}, err
	}
	var err error
	if e.Seq, err = strconv.ParseInt(seq, 10, 64); err != nil {
		return Event{}, err
	}
	if e.ConversationSeq, err = strconv.ParseInt(cseq, 10, 64); err != nil {
		return Event{}, err
	}
	return e, nil
}

func fromStream(m redis.XMessage) (Event, error) {
	s, _ := m.Values["s"].(string)
	c, _ := m.Values["c"].(string)
	raw, _ := m.Values["e"].(string)
	return decode(s, c, raw)
}

// LastSeq returns the newest seq of (workspace, stream).
func (b *RedisBus) LastSeq(ctx context.Context, ws, stream string) (int64, error) {
	return b.counter(ctx, b.seqKey(ws, stream))
}

// LastConversationSeq returns the newest ConversationSeq of a conversation.
func (b *RedisBus) LastConversationSeq(ctx context.Context, ws, conv string) (int64, error) {
	return b.counter(ctx, b.convKey(ws, conv))
}

func (b *RedisBus) counter(ctx context.Context, key string) (int64, error) {
	n, err := b.rdb.Get(ctx, key).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last seq: %w", err)
	}
	return n, nil
}

// History returns retained events of (workspace, stream) after afterSeq.
func (b *RedisBus) History(ctx context.Context, ws, stream string, afterSeq int64, limit int) ([]Event, error) {
	cur, err := b.LastSeq(ctx, ws, stream)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if afterSeq >= cur {
		return nil, nil
	}
	key := b.histKey(ws, stream)
	oldest, err := b.rdb.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if len(oldest) == 0 {
		return nil, ErrHistoryTrimmed
	}
	first, _ := strconv.ParseInt(strings.SplitN(oldest[0].ID, "-", 2)[0], 10, 64)
	if first > afterSeq+1 {
		return nil, ErrHistoryTrimmed
	}
	if limit <= 0 {
		limit = 1000
	}
	msgs, err := b.rdb.XRangeN(ctx, key, strconv.FormatInt(afterSeq+1, 10)+"-0", "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		e, err := fromStream(m)
		if err != nil {
			return nil, fmt.Errorf("history decode: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Consume reads the log as a member of group, acknowledging events fn handled
// and reclaiming events left pending by failed handlers or dead consumers.
func (b *RedisBus) Consume(ctx context.Context, group string, fn func(context.Context, Event) error) error {
	attempts := map[string]int{}
	lastClaim := time.Now()
	backoff := 100 * time.Millisecond
	needGroup := true
	for ctx.Err() == nil {
		if needGroup {
			if err := b.ensureGroup(ctx, group); err != nil {
				b.log.Warn("bus: group", "group", group, "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			needGroup = false
		}
		streams, err := b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: b.consumer,
			Streams: []string{b.logKey(), ">"}, Count: 256, Block: time.Second}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return nil
			}
			// After a Redis restart the group is gone: NOGROUP means create it again.
			needGroup = needGroup || strings.Contains(err.Error(), "NOGROUP")
			b.log.Warn("bus: read", "group", group, "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, s := range streams {
			b.handle(ctx, group, s.Messages, attempts, fn)
		}
		if time.Since(lastClaim) > time.Second {
			lastClaim = time.Now()
			msgs, _, err := b.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: b.logKey(), Group: group,
				Consumer: b.consumer, MinIdle: 2 * time.Second, Start: "0-0", Count: 256}).Result()
			if err == nil {
				b.handle(ctx, group, msgs, attempts, fn)
			}
		}
	}
	return nil
}

func (b *RedisBus) handle(ctx context.Context, group string, msgs []redis.XMessage, attempts map[string]int, fn func(context.Context, Event) error) {
	for _, m := range msgs {
		if ctx.Err() != nil {
			return
		}
		e, err := fromStream(m)
		if err == nil {
			err = fn(ctx, e)
		}
		if err != nil {
			attempts[m.ID]++
			if attempts[m.ID] < maxAttempts {
				continue // left pending: XAUTOCLAIM redelivers it
			}
			b.log.Error("bus: dropping event after repeated failures", "group", group, "id", m.ID, "err", err)
		}
		delete(attempts, m.ID)
		b.rdb.XAck(ctx, b.logKey(), group, m.ID)
	}
}

func (b *RedisBus) ensureGroup(ctx context.Context, group string) error {
	err := b.rdb.XGroupCreateMkStream(ctx, b.logKey(), group, "$").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// Close marks the bus closed; the Redis client is closed by its owner.
func (b *RedisBus) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

func (b *RedisBus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
