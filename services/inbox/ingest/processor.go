package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/webhook"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

// Storer is what the Processor needs from the conversation store; see
// conversationdb for the guarantees of each call.
type Storer interface {
	ConversationsOfMessages(ctx context.Context, ids []string) (map[string]string, error)
	ApplyChanges(ctx context.Context, token string, changes []conversation.Change) (conversation.Applied, error)
	AddToConversationsWith(ctx context.Context, token string, counts []conversation.Count,
		decided func(conversation.Counted)) (conversation.Counted, error)
	MarkCounted(ctx context.Context, ids []string) error
	Settle(token string)
	SeeIdentities(ctx context.Context, token string, s []conversation.Sighting) ([]conversation.IdentityState, error)
	RefreshLastMessages(ctx context.Context, ms []conversation.Message) error
}

// ChannelLoader loads the channels deliveries are routed to.
type ChannelLoader interface {
	ByIDs(ctx context.Context, ids []string) (map[string]channel.Channel, error)
}

// Result counts what a batch did.
type Result struct {
	Created    int // messages this batch stored for the first time
	Updated    int // other changes this batch applied
	Duplicates int // events that had been applied before
	Ignored    int // events and deliveries that carry nothing for the inbox
	// Token is the batch's writer token; pass it to Settle once the batch's
	// deliveries are acknowledged.
	Token string
}

// IdentitySeen is the data of an event.IdentitySeen event.
type IdentitySeen struct {
	Platform       string `json:"platform"`
	UserID         string `json:"user_id"`
	Handle         string `json:"handle,omitempty"`
	Name           string `json:"name,omitempty"`
	ChannelID      string `json:"channel_id"`
	ConversationID string `json:"conversation_id"`
	// Email is the identity's email address; none of the platforms the inbox
	// parses gives one yet.
	Email string `json:"email,omitempty"`
	// Phone is the identity's phone number in E.164 (see phoneOf).
	Phone string `json:"phone,omitempty"`
}

// phoneOf returns the phone number an identity is, in E.164 ("+" and the
// digits, as the CRM keys phones): a WhatsApp user id that is a wa_id, the
// international number without "+". Other identities, and WhatsApp's
// business-scoped user ids, have none.
func phoneOf(platform, userID string) string {
	if platform != string(webhook.WhatsApp) || len(userID) < 6 || len(userID) > 15 {
		return ""
	}
	for _, r := range userID {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return "+" + userID
}

// MessageData is the data of message.created and message.updated events:
// the message, and what its platform said about it that the inbox does not
// store. The flags are set on the event of the message's original only.
type MessageData struct {
	conversation.Message
	// Mention is true when the author mentioned the account to their own
	// audience (an Instagram story mention, a tweet naming the account).
	Mention bool `json:"mention,omitempty"`
	// Share is true when the author shared the account's post with their
	// own audience (a quote of the account's tweet).
	Share bool `json:"share,omitempty"`
}

// Processor parses deliveries, stores their events exactly once and publishes
// what changed.
type Processor struct {
	store    Storer
	channels ChannelLoader
	bus      event.Bus
	log      *slog.Logger
	// serial, when set, lets one batch at a time write: the store's guarantees
	// rest on atomic single-document updates, which FerretDB 1.x lacks.
	serial *sync.Mutex
	// lastAnnounced is the newest stage's announcement (under serial): each
	// waits for the one before, so message events keep the order of the stages.
	lastAnnounced *announcement
	// known holds conversations this process has counted into, so they
	// exist (under serial; see announce).
	known knownSet
}

// knownSet is a set of ids bounded to about 2×knownMax: when the newer half
// fills, it becomes the older one and the oldest ids are forgotten.
type knownSet struct{ cur, old map[string]struct{} }

// knownMax is how many conversations one half of a knownSet holds.
const knownMax = 100_000

func (k *knownSet) has(id string) bool {
	if _, ok := k.cur[id]; ok {
		return true
	}
	_, ok := k.old[id]
	return ok
}

func (k *knownSet) add(id string) {
	if k.cur == nil || len(k.cur) >= knownMax {
		k.old, k.cur = k.cur, make(map[string]struct{}, 1024)
	}
	k.cur[id] = struct{}{}
}

// ProcessorOptions tune a Processor.
type ProcessorOptions struct {
	// Serialize runs one batch at a time in this process. Needed on servers
	// whose updates are not atomic (FerretDB 1.x); pointless on MongoDB.
	Serialize bool
}

// NewProcessor returns a processor.
func NewProcessor(store Storer, channels ChannelLoader, bus event.Bus, log *slog.Logger, o ProcessorOptions) *Processor {
	p := &Processor{store: store, channels: channels, bus: bus, log: log}
	if o.Serialize {
		p.serial = &sync.Mutex{}
	}
	return p
}

// Process stores the events of deliveries and publishes what changed: Stage
// and Fold in one. An error means nothing may be acknowledged: the batch must
// be processed again. Bodies that do not parse any more (they did when
// received) are logged and skipped.
func (p *Processor) Process(ctx context.Context, ds []Delivery) (Result, error) {
	st, err := p.Stage(ctx, ds)
	if err != nil {
		return st.res, err
	}
	return p.Fold(ctx, st)
}

// Stage stores the messages of deliveries: every event is applied to its
// message exactly once, and what the batch has to count is remembered. The
// conversations, identities and events follow in Fold, which may take the
// staged batches of several claims at once: a conversation is then written
// once for all of them. Until their Fold succeeds, none of the deliveries may
// be acknowledged; a crash in between is repaired by their redelivery.
func (p *Processor) Stage(ctx context.Context, ds []Delivery) (*Staged, error) {
	pr, err := p.Prepare(ctx, ds)
	if err != nil {
		return &Staged{}, err
	}
	return p.StagePrepared(ctx, pr)
}

// Prepared is a batch parsed and routed to its channels, ready to stage.
type Prepared struct {
	items   []item
	ignored int
}

// Prepare parses deliveries and routes their events to channels. It reads
// and writes nothing of the inbox model, so a worker prepares its next batch
// while the store is busy with the current one.
func (p *Processor) Prepare(ctx context.Context, ds []Delivery) (*Prepared, error) {
	pr := &Prepared{items: make([]item, 0, len(ds))}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ChannelIDs...)
	}
	chans, err := p.channels.ByIDs(ctx, ids)
	if err != nil {
		return pr, err
	}
	for _, d := range ds {
		events, err := parse(d)
		if err != nil {
			p.log.ErrorContext(ctx, "ingest: dropping unparseable delivery", "delivery", d.ID, "source", d.Source, "err", err)
			pr.ignored++
			continue
		}
		for _, ev := range events {
			ch, ok := route(d, ev, chans)
			if !ok {
				pr.ignored++
				continue
			}
			pr.items = append(pr.items, item{ch: ch, ev: ev, receivedAt: d.ReceivedAt, delivery: d.ID, redelivered: d.Redelivered})
		}
	}
	return pr, nil
}

// StagePrepared is Stage for a prepared batch.
func (p *Processor) StagePrepared(ctx context.Context, pr *Prepared) (*Staged, error) {
	st := &Staged{recovery: map[string]bool{}}
	st.res.Ignored = pr.ignored
	return st, p.stage(ctx, st, pr.items)
}

// Ingest stores events a poller fetched for ch. Pollers fetch the same
// events again on every poll, so they are not treated as redeliveries: known
// events publish nothing. (A crash between storing and publishing loses the
// live events of that poll; the data is complete.)
func (p *Processor) Ingest(ctx context.Context, ch channel.Channel, events []webhook.Event, receivedAt time.Time) (Result, error) {
	items := make([]item, len(events))
	for i, ev := range events {
		items[i] = item{ch: ch, ev: ev, receivedAt: receivedAt}
	}
	st := &Staged{recovery: map[string]bool{}}
	if err := p.stage(ctx, st, items); err != nil {
		return st.res, err
	}
	res, err := p.Fold(ctx, st)
	if err == nil {
		// Nothing redelivers a poll: a poll is never recounted.
		p.Settle(res.Token)
	}
	return res, err
}

// Settle tells the store that the batch of token is acknowledged, so its
// counting records can go (see conversationdb.Store.Settle). Call it only
// after the batch's deliveries are acknowledged: until then a redelivery may
// still need them to not count a message twice.
func (p *Processor) Settle(token string) { p.store.Settle(token) }

func parse(d Delivery) ([]webhook.Event, error) {
	switch d.Source {
	case SourceMeta:
		return webhook.ParseMeta(d.Body)
	case SourceX:
		return webhook.ParseX(d.Body)
	case SourceTelegram:
		return webhook.ParseTelegram(d.Body)
	case SourceAPI:
		return webhook.ParseAPI(d.Body)
	}
	return nil, fmt.Errorf("unknown source %q", d.Source)
}

// route finds the channel an event belongs to among the delivery's verified
// channels: Meta events by the account id in the entry, X events must be for
// the channel's user, Telegram and API events go to the channel of the URL.
func route(d Delivery, ev webhook.Event, chans map[string]channel.Channel) (channel.Channel, bool) {
	for _, id := range d.ChannelIDs {
		ch, ok := chans[id]
		if !ok {
			continue // deleted since
		}
		switch ch.Type {
		case channel.Facebook, channel.Instagram, channel.WhatsApp:
			if string(ev.Platform) == string(ch.Type) && ch.Route == channel.RouteFor(ch.Type, ev.AccountID) {
				return ch, true
			}
		case channel.X:
			if ev.AccountID == ch.Config.UserID {
				return ch, true
			}
		case channel.Telegram, channel.API:
			return ch, true
		}
	}
	return channel.Channel{}, false
}

// Staged is a batch whose messages are stored and whose counting, identities
// and events wait for Fold.
type Staged struct {
	res      Result
	changes  []conversation.Change
	from     []origin // where each change came from
	applied  conversation.Applied
	counts   []conversation.Count
	unmarked []string        // messages counted by this batch but not yet marked so
	recovery map[string]bool // messages touched by a redelivered event
	// announced holds the messages whose message.created the stage published
	// itself (see announce), true for those a later batch of the same fold
	// changed since: their newer state still goes out, as message.updated.
	announced map[string]bool
	// announcing is the publishing of those events, which Fold waits for.
	announcing *announcement
}

// origin is what a staged change keeps of the event it came from.
type origin struct {
	delivery    string // the queue delivery's id; "" for polled events
	redelivered bool
	// What the platform said of the message that the store does not keep
	// (MessageData).
	mention, share bool
}

func originOf(it item) origin {
	return origin{delivery: it.delivery, redelivered: it.redelivered, mention: it.ev.Mention, share: it.ev.Share}
}

// announcement is the publishing of a stage's message.created events, which
// runs while the worker stages its next batch.
type announcement struct {
	done chan struct{}
	err  error
}

// wait returns the announcement's error once it is over; nil for none.
func (a *announcement) wait() error {
	if a == nil {
		return nil
	}
	<-a.done
	return a.err
}

// stage runs the first half of the exactly-once protocol on routed events
// (see the package doc): their changes are applied to the messages, and the
// messages the batch has to count are picked, into st.
func (p *Processor) stage(ctx context.Context, st *Staged, items []item) error {
	if p.serial != nil {
		p.serial.Lock()
		defer p.serial.Unlock()
	}
	threads, err := p.replyThreads(ctx, items)
	if err != nil {
		return err
	}
	st.changes, st.from = make([]conversation.Change, 0, len(items)), make([]origin, 0, len(items))
	for _, it := range items {
		c, ok := toChange(it, threads[conversation.MessageID(it.ch.ID, it.ev.ExternalID)])
		if !ok {
			st.res.Ignored++
			continue
		}
		st.changes, st.from = append(st.changes, c), append(st.from, originOf(it))
	}
	if len(st.changes) == 0 {
		return nil
	}
	token := auth.RandomID()[:16]
	applied, err := p.store.ApplyChanges(ctx, token, st.changes)
	if err != nil {
		return err
	}
	st.applied = applied

	// Count each visible message whose original is in the batch and that this
	// batch just created, or that is not counted yet, or (on a redelivery of
	// the delivery that created it) that a crash may have stored without
	// counting. The conversation's guard makes counting twice impossible: the
	// guard's records live until the batch that wrote them settles, and only
	// that batch's own deliveries come back; the outcome says who publishes.
	counting := make(map[string]bool, len(st.changes))
	st.counts = make([]conversation.Count, 0, len(st.changes))
	var fresh []int // changes whose message this batch created and counts
	for i, c := range st.changes {
		if st.from[i].redelivered {
			st.recovery[c.MessageID] = true
		}
		switch applied.Outcomes[i] {
		case conversation.Mine:
			if c.Action == conversation.ActionCreate {
				st.res.Created++
			} else {
				st.res.Updated++
			}
		default:
			st.res.Duplicates++
		}
		m := applied.Messages[c.MessageID]
		if c.Action != conversation.ActionCreate || m.Placeholder || m.ConversationID == "" || counting[c.MessageID] {
			continue
		}
		created := m.Inserted && applied.Outcomes[i] == conversation.Mine
		ownRedelivery := st.from[i].redelivered && m.CreatedBy != "" && m.CreatedBy == st.from[i].delivery
		if !created && m.Counted && !ownRedelivery {
			continue
		}
		counting[c.MessageID] = true
		if created && p.known.has(m.ConversationID) {
			fresh = append(fresh, i)
		}
		if !m.Counted {
			st.unmarked = append(st.unmarked, m.ID)
		}
		t := *c.Thread
		t.ID = m.ConversationID
		st.counts = append(st.counts, conversation.Count{MessageID: m.ID, Direction: m.Direction, At: m.PlatformTime, Thread: t})
	}
	if p.serial != nil && len(fresh) > 0 {
		p.announce(ctx, st, fresh)
	}
	return nil
}

// announce publishes message.created for the messages of st that the
// stage created (fresh indexes its changes), in the background, while the
// worker stages its next batch; Fold waits for it. Only a single writer
// (Serialize) does this: no one else can count a message it has just
// inserted, so its count is certain to be this batch's before it is made,
// and the events need not wait for the conversation writes of the fold.
// Only messages of conversations known to exist are announced: consumers
// of message.created act on the conversation (priority, routing), and a
// new conversation is created by the fold. As with the fold's own events,
// a crash before the acknowledgement republishes them on the redelivery.
// The caller holds p.serial.
func (p *Processor) announce(ctx context.Context, st *Staged, fresh []int) {
	a := &announcement{done: make(chan struct{})}
	prev := p.lastAnnounced
	p.lastAnnounced = a
	st.announcing = a
	st.announced = make(map[string]bool, len(fresh))
	ms := make([]MessageData, len(fresh))
	for k, i := range fresh {
		o := st.from[i]
		ms[k] = MessageData{Message: st.applied.Messages[st.changes[i].MessageID].Message, Mention: o.mention, Share: o.share}
		st.announced[ms[k].ID] = false
	}
	// The stage's context ends with the stage; the fold bounds the wait.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	go func() {
		defer close(a.done)
		defer cancel()
		events := make([]event.Event, len(ms))
		for k, m := range ms {
			raw, err := json.Marshal(m)
			if err != nil {
				a.err = fmt.Errorf("message event: %w", err)
				return
			}
			events[k] = event.Event{Type: event.MessageCreated, WorkspaceID: m.WorkspaceID, Stream: event.StreamInbox,
				ConversationID: m.ConversationID, Data: raw}
		}
		if err := prev.wait(); err != nil {
			a.err = err
			return
		}
		if done, err := event.PublishAll(ctx, p.bus, events); err != nil {
			a.err = fmt.Errorf("publish %s: %w", events[len(done)].Type, err)
		}
	}()
}

// announceTimeout bounds a stage's announcement; its fold fails after it.
const announceTimeout = time.Minute

// merge joins staged batches, in the order they were staged, into one: a
// message's state is the newest, and a message two batches count is counted
// once.
func merge(batches []*Staged) *Staged {
	if len(batches) == 1 {
		return batches[0]
	}
	var nChanges, nMessages, nCounts, nAnnounced int
	for _, st := range batches {
		nChanges += len(st.changes)
		nMessages += len(st.applied.Messages)
		nCounts += len(st.counts)
		nAnnounced += len(st.announced)
	}
	out := &Staged{recovery: map[string]bool{},
		changes: make([]conversation.Change, 0, nChanges), from: make([]origin, 0, nChanges),
		applied: conversation.Applied{Outcomes: make([]conversation.Outcome, 0, nChanges),
			Messages: make(map[string]conversation.MessageState, nMessages)},
		counts: make([]conversation.Count, 0, nCounts)}
	if nAnnounced > 0 {
		out.announced = make(map[string]bool, nAnnounced)
	}
	counting := make(map[string]bool, nCounts)
	for _, st := range batches {
		// A message announced by an earlier batch and changed by this one
		// still needs its event.
		for i, c := range st.changes {
			if _, ok := out.announced[c.MessageID]; ok && st.applied.Outcomes[i] == conversation.Mine {
				out.announced[c.MessageID] = true
			}
		}
		for id, changed := range st.announced {
			out.announced[id] = changed
		}
		out.res.Created += st.res.Created
		out.res.Updated += st.res.Updated
		out.res.Duplicates += st.res.Duplicates
		out.res.Ignored += st.res.Ignored
		out.changes = append(out.changes, st.changes...)
		out.from = append(out.from, st.from...)
		out.applied.Outcomes = append(out.applied.Outcomes, st.applied.Outcomes...)
		for id, m := range st.applied.Messages {
			out.applied.Messages[id] = m
		}
		for _, c := range st.counts {
			if !counting[c.MessageID] {
				counting[c.MessageID] = true
				out.counts = append(out.counts, c)
			}
		}
		out.unmarked = append(out.unmarked, st.unmarked...)
		for id := range st.recovery {
			out.recovery[id] = true
		}
	}
	return out
}

// Fold finishes staged batches together: it counts their messages into their
// conversations, refreshes previews, records identities, publishes what
// changed and marks the messages counted. Each conversation is written once
// however many of the batches went to it. The result's Token goes to Settle
// once the batches' deliveries are acknowledged.
func (p *Processor) Fold(ctx context.Context, batches ...*Staged) (Result, error) {
	st := merge(batches)
	res := st.res
	if len(st.changes) == 0 {
		return res, nil
	}
	if p.serial != nil {
		p.serial.Lock()
		defer p.serial.Unlock()
	}
	token := auth.RandomID()[:16]
	res.Token = token
	changes, applied := st.changes, st.applied
	// Previews from the messages as they are now: a later batch may have edited them.
	for i, c := range st.counts {
		st.counts[i].Preview = applied.Messages[c.MessageID].Preview()
	}
	// Meanwhile the identities are recorded (documents of their own, and
	// the batch's authors are known already) and the messages' event data
	// encoded, which does not depend on the counts.
	var seen []event.Event
	var data map[string]json.RawMessage
	var seenErr, dataErr error
	var aside sync.WaitGroup
	aside.Go(func() { seen, seenErr = p.identities(ctx, token, changes, applied, st.recovery) })
	aside.Go(func() { data, dataErr = messageData(changes, applied, st.from, st.announced) })

	// The message events go out as soon as the counts are decided (a
	// single writer decides them before writing the conversations, which
	// then happens meanwhile): the messages are stored already. The
	// conversation events follow the conversation writes. A crash before
	// the end recounts nothing (the conversations remember) and the
	// redelivery republishes.
	var later []event.Event
	var publishErr error
	var publishing sync.WaitGroup
	counted, err := p.store.AddToConversationsWith(ctx, token, st.counts, func(counted conversation.Counted) {
		aside.Wait()
		if publishErr = cmp.Or(seenErr, dataErr); publishErr != nil {
			return
		}
		events, err := changeEvents(changes, applied, st.counts, counted, st.recovery, st.announced, data)
		if err != nil {
			publishErr = err
			return
		}
		var now []event.Event
		for _, e := range events {
			if e.Type == event.ConversationUpdated {
				later = append(later, e)
			} else {
				now = append(now, e)
			}
		}
		publishing.Go(func() {
			// After the stages' own events (announce).
			for _, b := range batches {
				if err := b.announcing.wait(); err != nil {
					publishErr = err
					return
				}
			}
			if done, err := event.PublishAll(ctx, p.bus, now); err != nil {
				publishErr = fmt.Errorf("publish %s: %w", now[len(done)].Type, err)
			}
		})
	})
	if err == nil {
		if p.serial != nil {
			for id := range counted.Conversations {
				p.known.add(id)
			}
		}
		err = p.store.RefreshLastMessages(ctx, revised(changes, applied))
	}
	aside.Wait()
	publishing.Wait()
	for _, b := range batches {
		// Never leave a stage's events publishing behind a failed fold.
		err = cmp.Or(err, b.announcing.wait())
	}
	if err = cmp.Or(err, seenErr, dataErr, publishErr); err != nil {
		return res, err
	}
	// Publish, then mark: a crash in between recounts nothing and the
	// redelivery republishes.
	later = append(later, seen...)
	if done, err := event.PublishAll(ctx, p.bus, later); err != nil {
		return res, fmt.Errorf("publish %s: %w", later[len(done)].Type, err)
	}
	if err := p.store.MarkCounted(ctx, st.unmarked); err != nil {
		return res, err
	}
	return res, nil
}

// revised returns the visible messages that an edit, delete, hide or unhide
// of the batch touched, as they are now, for the conversation previews.
func revised(changes []conversation.Change, applied conversation.Applied) []conversation.Message {
	var out []conversation.Message
	done := map[string]bool{}
	for _, c := range changes {
		switch c.Action {
		case conversation.ActionEdit, conversation.ActionDelete, conversation.ActionHide, conversation.ActionUnhide:
		default:
			continue
		}
		m := applied.Messages[c.MessageID].Message
		if m.Placeholder || m.ConversationID == "" || done[m.ID] {
			continue
		}
		done[m.ID] = true
		out = append(out, m)
	}
	return out
}

// messageData encodes the data of the message events a batch may publish:
// every visible message it touched, as it is now, with what its original's
// platform event said that the store does not keep. Messages announced
// already and unchanged since are left out.
func messageData(changes []conversation.Change, applied conversation.Applied, from []origin,
	announced map[string]bool) (map[string]json.RawMessage, error) {
	said := map[string]origin{}
	for i, c := range changes {
		if c.Action == conversation.ActionCreate {
			said[c.MessageID] = from[i]
		}
	}
	out := map[string]json.RawMessage{}
	for _, c := range changes {
		m := applied.Messages[c.MessageID].Message
		if _, ok := out[m.ID]; ok || m.Placeholder || m.ConversationID == "" {
			continue
		}
		if changed, ok := announced[m.ID]; ok && !changed {
			continue
		}
		d := MessageData{Message: m}
		if o, ok := said[m.ID]; ok {
			d.Mention, d.Share = o.mention, o.share
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("message event: %w", err)
		}
		out[m.ID] = raw
	}
	return out, nil
}

// changeEvents builds the message and conversation events of a batch:
// message.created for the messages this batch counted, message.updated for
// visible messages it changed otherwise, conversation.updated for the
// conversations it counted into. A redelivered batch republishes what it
// touches, since its first attempt may have died before publishing. A
// message whose message.created its stage published (announced) gets no
// event, or message.updated when a later batch changed it. data holds each
// message's event data (messageData).
func changeEvents(changes []conversation.Change, applied conversation.Applied, counts []conversation.Count,
	counted conversation.Counted, recovery map[string]bool, announced map[string]bool,
	data map[string]json.RawMessage) ([]event.Event, error) {
	created := map[string]bool{}
	othersCreated := map[string]bool{} // counted by a concurrent writer, which publishes it
	convs := map[string]conversation.Conversation{}
	var convOrder []string
	for i, c := range counts {
		if counted.Outcomes[i] != conversation.Mine && !recovery[c.MessageID] {
			othersCreated[c.MessageID] = true
			continue
		}
		created[c.MessageID] = true
		cv := counted.Conversations[c.Thread.ID].Conversation
		if _, ok := convs[cv.ID]; !ok {
			convs[cv.ID] = cv
			convOrder = append(convOrder, cv.ID)
		}
	}
	var events []event.Event
	done := map[string]bool{}
	for i, c := range changes {
		m := applied.Messages[c.MessageID].Message
		if m.Placeholder || m.ConversationID == "" || done[m.ID] || othersCreated[m.ID] {
			continue
		}
		var typ string
		changed, wasAnnounced := announced[m.ID]
		switch {
		case wasAnnounced && !changed:
			continue
		case wasAnnounced:
			typ = event.MessageUpdated
		case created[m.ID]:
			typ = event.MessageCreated
		case applied.Outcomes[i] == conversation.Mine || recovery[m.ID]:
			typ = event.MessageUpdated
		default:
			continue
		}
		done[m.ID] = true
		events = append(events, event.Event{Type: typ, WorkspaceID: m.WorkspaceID, Stream: event.StreamInbox,
			ConversationID: m.ConversationID, Data: data[m.ID]})
	}
	for _, id := range convOrder {
		cv := convs[id]
		e, err := event.New(cv.WorkspaceID, event.StreamInbox, event.ConversationUpdated, cv)
		if err != nil {
			return nil, err
		}
		e.ConversationID = cv.ID
		events = append(events, e)
	}
	return events, nil
}

// identities records the authors of the batch's visible messages and returns
// the identity.seen events to publish: for identities this batch created, and
// on a redelivery for those first seen in one of its messages, whose
// announcement a crash may have lost.
func (p *Processor) identities(ctx context.Context, token string, changes []conversation.Change,
	applied conversation.Applied, recovery map[string]bool) ([]event.Event, error) {
	var sightings []conversation.Sighting
	for _, c := range changes {
		m := applied.Messages[c.MessageID].Message
		if c.Action != conversation.ActionCreate || c.Echo || c.Author.UserID == "" || m.Placeholder {
			continue
		}
		sightings = append(sightings, conversation.Sighting{Identity: c.Author, WorkspaceID: c.WorkspaceID,
			ChannelID: c.ChannelID, ConversationID: m.ConversationID, MessageID: m.ID, At: c.At})
	}
	states, err := p.store.SeeIdentities(ctx, token, sightings)
	if err != nil {
		return nil, err
	}
	var out []event.Event
	for _, st := range states {
		if !st.New && !recovery[st.FirstMessageID] {
			continue
		}
		e, err := event.New(st.WorkspaceID, event.StreamSystem, event.IdentitySeen, IdentitySeen{
			Platform: st.Platform, UserID: st.UserID, Handle: st.Handle, Name: st.Name,
			ChannelID: st.ChannelID, ConversationID: st.ConversationID, Phone: phoneOf(st.Platform, st.UserID)})
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// replyThreads finds, for X replies to tweets we already hold, the conversation
// of the tweet they answer, so a reply chain stays one thread even when it
// started outside our account's posts. Replies to earlier tweets of the same
// batch follow them too.
func (p *Processor) replyThreads(ctx context.Context, items []item) (map[string]string, error) {
	out := map[string]string{}
	var parents []string
	for _, it := range items {
		if it.ev.Platform == webhook.X && it.ev.Kind == webhook.KindComment && it.ev.ParentID != "" {
			parents = append(parents, conversation.MessageID(it.ch.ID, it.ev.ParentID))
		}
	}
	if len(parents) == 0 {
		return out, nil
	}
	known, err := p.store.ConversationsOfMessages(ctx, parents)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		ev := it.ev
		if ev.Platform != webhook.X || ev.Kind != webhook.KindComment || ev.Action != webhook.ActionMessage {
			continue
		}
		id := conversation.MessageID(it.ch.ID, ev.ExternalID)
		if ev.ParentID != "" {
			if conv, ok := known[conversation.MessageID(it.ch.ID, ev.ParentID)]; ok {
				out[id], known[id] = conv, conv
				continue
			}
		}
		if ev.ThreadKey != "" {
			known[id] = conversation.ConversationID(it.ch.WorkspaceID, it.ch.ID, conversation.KindComment, ev.ThreadKey)
		}
	}
	return out, nil
}
