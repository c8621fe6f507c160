// Package realtime is the gateway's websocket hub: it authenticates browser
// connections on GET /ws, lets them subscribe to the streams of their own
// workspace, fans bus events out to them without gaps, and carries presence
// (who views, who types) between gateway instances.
//
// # Protocol
//
// Authentication: an "Authorization: Bearer <jwt>" header, or, for browsers,
// a first message {"type":"auth","token":"<jwt>"} within Config.AuthTimeout
// (10 s). Query-string tokens are ignored: they leak into logs. A missing,
// late or invalid token closes the connection with code 4001 "unauthorized".
// Nothing is sent on success; the answer to the first subscribe shows it.
//
// Client to server, one JSON object per text frame:
//
//	{"type":"subscribe","stream":"inbox"|"crm"|"conversation:<id>","since":<seq>}  since is optional
//	{"type":"unsubscribe","stream":...}              answered {"type":"unsubscribed","stream":...}
//	{"type":"ping"}                                  answered {"type":"pong"}
//	{"type":"typing","conversation_id":"<id>","typing":true|false}   refresh every few seconds while typing
//	{"type":"view","conversation_id":"<id>"}         one viewed conversation per connection
//	{"type":"leave","conversation_id":"<id>"}
//
// A subscribe is answered {"type":"subscribed","stream":...,"seq":<seq>}:
// live events of the stream follow with seq greater than that. With since,
// the events in (since, seq] are replayed between the answer and the live
// events; a conversation's seq is its ConversationSeq. When the replay cannot
// be given (history trimmed, more than Config.MaxReplay events, or since ahead
// of the bus after a flush) the answer is followed by
// {"type":"reset","stream":...,"seq":<seq>}: the client refetches its state
// and continues from seq. A reset may also arrive at any time on a live
// stream when the hub cannot fill a gap. Refusals do not close the
// connection; they answer {"type":"error","code":...,"stream":...,"message":...}
// with code forbidden (crm for agents, system), invalid_stream, bad_request,
// too_many_subscriptions or unavailable (history unreadable; retry).
//
// Server to client events:
//
//	{"type":<event type>,"id","workspace_id","stream","seq","conversation_id","user_id","time","data"}
//
// (conversation_id and user_id only when set). Only events of the
// connection's own workspace are ever sent; crm only to managers and admins;
// the system stream never. Presence goes to the workspace's inbox subscribers,
// without seq:
//
//	{"type":"presence","data":{"conversation_id","viewers":[{"user_id","name"}],"typing":[{"user_id","name"}]}}
//
// Every server message is one JSON object in one text frame. When several
// are queued they are written back to back and flushed with one socket write
// under one deadline; a frame never carries more than one JSON value.
// A connection whose send queue overflows is closed with 4008 "slow consumer";
// shutdown closes with 1001. Clients reconnect on any code but 4001 and
// resubscribe with since.
//
// # Shape
//
// The hub is split into shards keyed by a hash of the workspace id; one
// goroutine per shard owns every map of its workspaces (subscriptions, last
// seq per stream, presence), so the delivery path takes no locks and a
// stream's events are handled in order by construction. A shard encodes each
// event once per fan-out and hands the shared frame to each subscriber's
// bounded send queue without ever blocking; a full queue disconnects that
// subscriber. It wakes the writers only after handling the events queued for
// it (up to wakeEvery), so under a stream of events each writer finds several
// frames and sends them in one socket write: syscalls, not encoding, bound
// fan-out. Each connection has one read pump and one write pump. The write
// pump exits after writerIdleExit without work and the next queued frame
// starts a new one, so an idle connection holds only its read pump.
//
// Presence changes are published on the bus (stream "presence", whose seq is
// ignored, so inbox seqs keep no holes) by the instance holding the
// connection; every instance aggregates them per conversation, expiring
// typing after Config.TypingTTL and views after Config.ViewingTTL unless
// refreshed (views are refreshed on pongs).
//
// # Wiring
//
// In the gateway's main:
//
//	hub, err := realtime.NewHub(realtime.Config{Auth: jwtAuth, Source: bus, Publisher: bus, Logger: log})
//	if err != nil {
//		return err
//	}
//	g.Go(func() error { return hub.Run(ctx) }) // returns once ctx ended and connections are closed
//	e.GET("/ws", echo.WrapHandler(hub.Handler()))
//
// Start Run before the server accepts connections; until then /ws answers 503.
package realtime
