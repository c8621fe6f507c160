package workflow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/communityinbox/inbox/connector"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

// agentTouchEvery bounds how often one user's directory entry is rewritten.
const agentTouchEvery = time.Minute

// Options tune a Service.
type Options struct {
	Sender connector.Sender      // usually a connector.Router
	Ledger connector.Ledger      // optional; makes sends at most once per message across restarts
	Policy connector.RetryPolicy // in-process retries of one claim
	// Sleep replaces the Dispatcher's backoff sleep, for tests.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxJobAttempts is how many claims a retryable send gets before it is
	// marked failed; 5 when 0.
	MaxJobAttempts int
	// JobLease is how long a claimed send is hidden from other workers; 2 minutes when 0.
	JobLease time.Duration
	// JobBackoff is the wait before a job's second claim, doubled each time; 10 s when 0.
	JobBackoff time.Duration
	// Poll is the idle wait of the outbox and snooze workers; 1 s when 0.
	Poll time.Duration
}

// Service is the agents' workflow.
type Service struct {
	store    Storer
	channels ChannelGetter
	bus      event.Bus
	log      *slog.Logger
	opts     Options
	dispatch *connector.Dispatcher
	now      func() time.Time
	kick     chan struct{}

	mu      sync.Mutex
	touched map[string]time.Time
}

// NewService returns the workflow on store.
func NewService(store Storer, channels ChannelGetter, bus event.Bus, log *slog.Logger, o Options) *Service {
	if o.MaxJobAttempts <= 0 {
		o.MaxJobAttempts = 5
	}
	if o.JobLease <= 0 {
		o.JobLease = 2 * time.Minute
	}
	if o.JobBackoff <= 0 {
		o.JobBackoff = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	s := &Service{store: store, channels: channels, bus: bus, log: log, opts: o,
		now: func() time.Time { return time.Now().UTC() }, kick: make(chan struct{}, 1), touched: map[string]time.Time{}}
	s.dispatch = &connector.Dispatcher{Sender: o.Sender, Ledger: o.Ledger, Policy: o.Policy, Sleep: o.Sleep,
		Now: func() time.Time { return s.now() }}
	return s
}

// SetClock replaces the clock, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// publish sends one event; the write it reports is already stored, so a bus
// failure is logged rather than failing the request.
func (s *Service) publish(ctx context.Context, ws, typ, conversationID, userID string, data any) {
	e, err := event.New(ws, event.StreamInbox, typ, data)
	if err == nil {
		e.ConversationID, e.UserID = conversationID, userID
		_, err = s.bus.Publish(ctx, e)
	}
	if err != nil {
		s.log.WarnContext(ctx, "publish event", "type", typ, "conversation", conversationID, "err", err)
	}
}

func (s *Service) audit(ctx context.Context, p auth.Principal, conversationID, action string, detail map[string]string) {
	err := s.store.AddAudit(ctx, p.WorkspaceID, AuditEntry{ID: auth.RandomID(), ConversationID: conversationID,
		ActorID: p.UserID, ActorName: p.Name, Action: action, Detail: detail, At: s.now()})
	if err != nil {
		s.log.WarnContext(ctx, "audit", "action", action, "conversation", conversationID, "err", err)
	}
}

// Touch records the caller in the workspace's agents directory, at most once
// a minute per user: the inbox does not own users, so this is how it learns
// names for mentions and assignees.
func (s *Service) Touch(ctx context.Context, p auth.Principal) error {
	if p.UserID == "" || p.Role == auth.RoleIntegration {
		return nil
	}
	key := p.WorkspaceID + ":" + p.UserID + ":" + p.Name + ":" + p.Email
	now := s.now()
	s.mu.Lock()
	last, ok := s.touched[key]
	if ok && now.Sub(last) < agentTouchEvery {
		s.mu.Unlock()
		return nil
	}
	s.touched[key] = now
	if len(s.touched) > 100000 {
		clear(s.touched)
	}
	s.mu.Unlock()
	return s.store.TouchAgent(ctx, p.WorkspaceID, Agent{UserID: p.UserID, Name: p.Name, Email: p.Email}, now)
}

// Agents returns the workspace's agents directory.
func (s *Service) Agents(ctx context.Context, ws string) ([]Agent, error) {
	return s.store.Agents(ctx, ws)
}

// ListQuery is the conversation list's query as the client sent it.
type ListQuery struct {
	Status, ChannelID, Kind, Assignee, Label, Priority, Q, Sort, Cursor string
	Limit                                                               int
}

// List returns one page of the caller's workspace's conversations.
func (s *Service) List(ctx context.Context, p auth.Principal, q ListQuery) (Page, error) {
	f := Filter{WorkspaceID: p.WorkspaceID, ChannelID: q.ChannelID, Label: q.Label, Sort: q.Sort, Limit: q.Limit}
	for _, st := range strings.Split(q.Status, ",") {
		st = strings.TrimSpace(st)
		if st == "" {
			continue
		}
		if !validStatus(conversation.Status(st)) {
			return Page{}, apperr.Invalid("unknown status %q", st)
		}
		f.Statuses = append(f.Statuses, conversation.Status(st))
	}
	switch conversation.Kind(q.Kind) {
	case "", conversation.KindDM, conversation.KindComment:
		f.Kind = conversation.Kind(q.Kind)
	default:
		return Page{}, apperr.Invalid("kind must be comment or dm")
	}
	switch q.Assignee {
	case AssigneeMe:
		f.Assignee = p.UserID
	default:
		f.Assignee = q.Assignee
	}
	if q.Priority != "" && !slices.Contains(Priorities, q.Priority) {
		return Page{}, apperr.Invalid("priority must be urgent, high or normal")
	}
	f.Priority = q.Priority
	switch q.Sort {
	case "", SortRecent:
		f.Sort = SortRecent
	case SortWaiting:
	default:
		return Page{}, apperr.Invalid("sort must be recent or waiting")
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit < 0 || f.Limit > MaxLimit:
		return Page{}, apperr.Invalid("limit must be between 1 and %d", MaxLimit)
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, f.Sort)
		if err != nil {
			return Page{}, err
		}
		f.After = &c
	}
	if text := strings.TrimSpace(q.Q); text != "" {
		f.Search = regexp.QuoteMeta(text)
		ids, err := s.store.SearchMessages(ctx, p.WorkspaceID, f.Search, MaxSearchConversations)
		if err != nil {
			return Page{}, err
		}
		f.SearchIDs = ids
	}
	convs, err := s.store.ListConversations(ctx, f)
	if err != nil {
		return Page{}, err
	}
	page := Page{Conversations: convs}
	if len(convs) == f.Limit {
		last := convs[len(convs)-1]
		at := last.LastMessageAt
		if f.Sort == SortWaiting {
			at = last.WaitingSince
		}
		page.NextCursor = encodeCursor(Cursor{At: at, ID: last.ID}, f.Sort)
	}
	if err := s.withAssignees(ctx, p.WorkspaceID, page.Conversations); err != nil {
		return Page{}, err
	}
	return page, nil
}

func validStatus(st conversation.Status) bool {
	switch st {
	case conversation.StatusOpen, conversation.StatusPending, conversation.StatusSnoozed, conversation.StatusResolved:
		return true
	}
	return false
}

type cursorJSON struct {
	Sort string `json:"s"`
	At   int64  `json:"t"`
	ID   string `json:"i"`
}

// encodeCursor makes an opaque cursor; it names its sort so a cursor of one
// sort is refused by the other instead of skipping rows.
func encodeCursor(c Cursor, sort string) string {
	b, _ := json.Marshal(cursorJSON{Sort: sort, At: c.At.UnixNano(), ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, sort string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursorJSON
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" || c.Sort != sort {
		return Cursor{}, apperr.Invalid("invalid cursor")
	}
	return Cursor{At: time.Unix(0, c.At).UTC(), ID: c.ID}, nil
}

func (s *Service) withAssignees(ctx context.Context, ws string, convs []Conversation) error {
	need := false
	for _, c := range convs {
		need = need || c.AssigneeID != ""
	}
	if !need {
		return nil
	}
	agents, err := s.store.Agents(ctx, ws)
	if err != nil {
		return err
	}
	by := map[string]Agent{}
	for _, a := range agents {
		by[a.UserID] = a
	}
	for i := range convs {
		if id := convs[i].AssigneeID; id != "" {
			a, ok := by[id]
			if !ok {
				a = Agent{UserID: id}
			}
			convs[i].Assignee = &a
		}
	}
	return nil
}

// Get returns one conversation of the caller's workspace.
func (s *Service) Get(ctx context.Context, ws, id string) (Conversation, error) {
	c, err := s.store.Conversation(ctx, ws, id)
	if err != nil {
		return Conversation{}, err
	}
	one := []Conversation{c}
	if err := s.withAssignees(ctx, ws, one); err != nil {
		return Conversation{}, err
	}
	return one[0], nil
}

// Thread returns a conversation's messages, notes included: DMs in time
// order; a comment thread as the post and its top-level comments, each with
// its replies nested.
func (s *Service) Thread(ctx context.Context, ws, id string) (Thread, error) {
	c, err := s.store.Conversation(ctx, ws, id)
	if err != nil {
		return Thread{}, err
	}
	msgs, err := s.store.Messages(ctx, ws, id)
	if err != nil {
		return Thread{}, err
	}
	t := Thread{Kind: c.Kind, Post: c.Post, Messages: []*Message{}}
	ptrs := make([]*Message, len(msgs))
	index := make(map[string]int, len(msgs))
	for i := range msgs {
		ptrs[i] = &msgs[i]
		index[msgs[i].ID] = i
	}
	if c.Kind != conversation.KindComment {
		t.Messages = ptrs
		return t, nil
	}
	for i, m := range ptrs {
		// Only an earlier message can be a parent: platform data with a
		// parent cycle must not make the tree infinite.
		if j, ok := index[m.ParentID]; ok && j < i {
			ptrs[j].Replies = append(ptrs[j].Replies, m)
			continue
		}
		t.Messages = append(t.Messages, m)
	}
	return t, nil
}

// Audit returns a conversation's audit trail.
func (s *Service) Audit(ctx context.Context, ws, id string) ([]AuditEntry, error) {
	if _, err := s.store.Conversation(ctx, ws, id); err != nil {
		return nil, err
	}
	return s.store.Audit(ctx, ws, id)
}

// errorsAs is errors.As with the target built in, for brevity at call sites.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
