package realtime

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/communityinbox/shared/event"
)

// Authenticator resolves a token (JWT) to the user. Implemented by the gateway's auth.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Principal is an authenticated user of one workspace; Role is admin, manager or agent.
type Principal struct{ UserID, WorkspaceID, Role, Name string }

// Roles a Principal may hold. Any other role is treated like an agent.
const (
	// RoleAdmin administers the workspace and sees the crm stream.
	RoleAdmin = "admin"
	// RoleManager sees the crm stream.
	RoleManager = "manager"
	// RoleAgent works the inbox and never sees the crm stream.
	RoleAgent = "agent"
)

// canSeeCRM reports whether p may receive contact value changes.
func (p Principal) canSeeCRM() bool { return p.Role == RoleAdmin || p.Role == RoleManager }

// Source is the part of event.Bus the hub needs.
type Source interface {
	Subscribe(ctx context.Context, fn func(event.Event)) (cancel func(), err error)
	History(ctx context.Context, workspaceID, stream string, afterSeq int64, limit int) ([]event.Event, error)
}

// Publisher publishes presence events (event.Bus satisfies it).
type Publisher interface {
	Publish(ctx context.Context, e event.Event) (event.Event, error)
}

// SeqSource reports the current seq of a stream and of a conversation. It is
// optional: the hub learns seqs from the live feed, and needs SeqSource only to
// answer precisely right after a restart (before any event of a stream went by)
// and to detect a client that is ahead of the bus (since > current, e.g. after
// a Redis flush). If Config.Seqs is nil and the Source implements SeqSource, the
// Source is used.
type SeqSource interface {
	LastSeq(ctx context.Context, workspaceID, stream string) (int64, error)
	LastConversationSeq(ctx context.Context, workspaceID, conversationID string) (int64, error)
}

// Defaults for Config.
const (
	// DefaultSendQueue is the most batches a connection's send queue holds
	// before the connection is dropped as a slow consumer. An ingest batch
	// publishes two events per message at once, so a healthy agent must be
	// able to sit thousands of events behind for a moment; the queue takes no
	// room while empty and a queued fan-out event costs one pointer.
	DefaultSendQueue = 8192
	// DefaultSendQueueBytes bounds the frame bytes a connection's queue
	// holds, so a client that stops reading pins little memory before it is
	// dropped.
	DefaultSendQueueBytes = 8 << 20
	// DefaultMaxReplay bounds a replay or a gap fill, in events.
	DefaultMaxReplay = 1000
	// DefaultReplayWindow is how many recent inbox events a conversation replay scans.
	DefaultReplayWindow = 2000
	// DefaultTypingTTL is how long "typing" lasts without a refresh from the client.
	DefaultTypingTTL = 6 * time.Second
	// DefaultViewingTTL outlives two ping periods: views are refreshed on pongs.
	DefaultViewingTTL = 150 * time.Second
	// DefaultAuthTimeout is how long a connection has to authenticate.
	DefaultAuthTimeout = 10 * time.Second
)

// Config holds the collaborators and tunables of a Hub. Zero values take the defaults.
type Config struct {
	Auth   Authenticator // required
	Source Source        // required
	// Publisher carries presence to other gateway instances. Nil keeps presence
	// local to this instance.
	Publisher Publisher
	// Seqs answers for streams the hub has not seen live yet; optional.
	Seqs   SeqSource
	Logger *slog.Logger

	Shards    int // default 4 × GOMAXPROCS
	SendQueue int // per connection, in queued batches; default DefaultSendQueue
	// SendQueueBytes bounds the frame bytes queued per connection; default
	// DefaultSendQueueBytes.
	SendQueueBytes int
	// MaxReplay bounds the events replayed on subscribe or fetched to fill a live
	// gap; beyond it clients get a reset.
	MaxReplay int
	// ReplayWindow is how many recent inbox events are scanned to replay a
	// conversation, whose seq does not map to an inbox seq.
	ReplayWindow int
	TypingTTL    time.Duration
	ViewingTTL   time.Duration
	AuthTimeout  time.Duration
	// CheckOrigin vets the Origin header; nil accepts same-origin requests and
	// clients that send no Origin (non-browsers).
	CheckOrigin func(r *http.Request) bool
}

// Stats are counters for metrics and tests.
type Stats struct {
	Connections     int64 // authenticated connections open now
	SlowDisconnects int64 // connections closed because their send queue was full
	DroppedEvents   int64 // live events dropped because a shard's inbox was full
	GapsFilled      int64 // live gaps filled from history
	Resets          int64 // reset frames sent (each counts once per stream fan-out)
}

// Hub serves GET /ws and fans bus events out to subscribed connections.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	seqs   SeqSource
	seed   maphash.Seed
	shards []*shard
	// upgrade is shared by all requests; its buffer sizes keep idle connections small.
	upgrade *websocket.Upgrader

	// ctx is the parent of the I/O done for connections; Run cancels it on shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	presenceOut chan event.Event

	running atomic.Bool
	stopped chan struct{}  // closed when Run begins shutting down
	conns   sync.WaitGroup // one per connection, done once its socket is closed
	// timing holds the connection timing constants; tests shorten them.
	timing timing

	connections, slow, dropped, gaps, resets atomic.Int64
}

// NewHub validates cfg and builds a hub; call Run to start it.
func NewHub(cfg Config) (*Hub, error) {
	if cfg.Auth == nil || cfg.Source == nil {
		return nil, errors.New("realtime: Config.Auth and Config.Source are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = DefaultSendQueue
	}
	if cfg.SendQueueBytes <= 0 {
		cfg.SendQueueBytes = DefaultSendQueueBytes
	}
	if cfg.MaxReplay <= 0 {
		cfg.MaxReplay = DefaultMaxReplay
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	if cfg.TypingTTL <= 0 {
		cfg.TypingTTL = DefaultTypingTTL
	}
	if cfg.ViewingTTL <= 0 {
		cfg.ViewingTTL = DefaultViewingTTL
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	h := &Hub{
		cfg:         cfg,
		log:         cfg.Logger,
		seqs:        cfg.Seqs,
		seed:        maphash.MakeSeed(),
		presenceOut: make(chan event.Event, 1024),
		stopped:     make(chan struct{}),
		timing:      defaultTiming,
	}
	if h.seqs == nil {
		h.seqs, _ = cfg.Source.(SeqSource)
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.upgrade = h.upgrader()
	h.shards = make([]*shard, cfg.Shards)
	for i := range h.shards {
		h.shards[i] = newShard(h)
	}
	return h, nil
}

// Run subscribes to the source and serves until ctx ends, then closes every
// connection with 1001 (going away) and returns once they are gone.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("realtime: hub already running")
	}
	var wg sync.WaitGroup
	shardCtx, stopShards := context.WithCancel(context.Background())
	for _, s := range h.shards {
		wg.Go(func() { s.run(shardCtx) })
	}
	wg.Go(func() { h.publishPresence(shardCtx) })

	cancel, err := h.cfg.Source.Subscribe(ctx, h.route)
	if err == nil {
		<-ctx.Done()
		cancel()
	}
	close(h.stopped)
	h.cancel()
	stopShards() // shards close their connections on the way out
	wg.Wait()
	h.conns.Wait()
	if err != nil {
		return fmt.Errorf("realtime: subscribe: %w", err)
	}
	return nil
}

// Stats returns the current counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Connections:     h.connections.Load(),
		SlowDisconnects: h.slow.Load(),
		DroppedEvents:   h.dropped.Load(),
		GapsFilled:      h.gaps.Load(),
		Resets:          h.resets.Load(),
	}
}

// stopping reports whether Run has begun shutting down.
func (h *Hub) stopping() bool {
	select {
	case <-h.stopped:
		return true
	default:
		return false
	}
}

// shardFor picks the shard owning workspace ws.
func (h *Hub) shardFor(ws string) *shard {
	return h.shards[maphash.String(h.seed, ws)%uint64(len(h.shards))]
}

// route is the bus callback. It must never block: the bus may call it from its
// only receive loop, or from Publish. A full shard drops the event and flags
// the shard, which then catches up from history.
func (h *Hub) route(e event.Event) {
	if e.WorkspaceID == "" {
		return
	}
	switch e.Stream {
	case event.StreamInbox, event.StreamCRM, StreamPresence:
	default:
		return // the system stream and unknown streams never reach browsers
	}
	s := h.shardFor(e.WorkspaceID)
	select {
	case s.events <- e:
	default:
		h.dropped.Add(1)
		if e.Stream != StreamPresence {
			s.dropped.Store(true)
		}
	}
}

// presenceTimeout bounds one presence publish; a lost one is repaired by expiry.
const presenceTimeout = 2 * time.Second

// announce queues a presence change for publication without blocking the caller.
func (h *Hub) announce(e event.Event) {
	if h.cfg.Publisher == nil {
		h.route(e) // single instance: loop back locally
		return
	}
	select {
	case h.presenceOut <- e:
	default:
		h.dropped.Add(1)
	}
}

// publishPresence publishes queued presence changes one at a time, so a slow
// bus delays presence rather than read pumps.
func (h *Hub) publishPresence(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-h.presenceOut:
			pctx, cancel := context.WithTimeout(ctx, presenceTimeout)
			if _, err := h.cfg.Publisher.Publish(pctx, e); err != nil {
				h.log.WarnContext(ctx, "publish presence", "workspace_id", e.WorkspaceID, "err", err)
			}
			cancel()
		}
	}
}
