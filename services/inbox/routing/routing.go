// Package routing auto-assigns conversations: per channel, round-robin among
// the workspace's online agents within their capacity (the assign engine),
// queueing what nobody can take and draining the queue, most urgent first,
// when an agent frees up or comes online.
//
// The engine lives in memory, one per workspace, rebuilt from the store the
// first time a workspace is touched (and after a settings change): open
// conversations with assignees count toward their agents' loads; unassigned
// open ones on auto channels are queued. Agent presence and capacities are
// re-read from the store on every event, so a change made through another
// instance is seen at the next event.
//
// Several instances each run an engine, so two may pick the same
// conversation: the store applies an assignment only while the conversation
// is still unassigned (assignee_id empty → agent). The loser adopts the
// winner's assignment and moves on, so no conversation is ever assigned twice;
// loads on the losing instance may lag until its next rebuild.
package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/communityinbox/inbox/assign"
	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/event"
)

// ConsumerGroup is the bus consumer group of the routing worker.
const ConsumerGroup = "inbox-routing"

// Availability is whether an agent takes new conversations.
type Availability string

// Availabilities. Busy and offline agents get nothing new; they keep what they hold.
const (
	Online  Availability = "online"
	Busy    Availability = "busy"
	Offline Availability = "offline"
)

// Agent is an agent as routing knows them.
type Agent struct {
	WorkspaceID string
	UserID      string
	Name        string
	Status      Availability
	// Capacity overrides the channels' capacity for this agent; 0 means none set.
	Capacity  int
	UpdatedAt time.Time
}

// ChannelSettings are a channel's auto-assignment settings.
type ChannelSettings struct {
	ChannelID string
	Auto      bool
	// Capacity is the open conversations an agent holds before auto-assignment
	// passes them over; 0 means no limit.
	Capacity int
}

// Storer keeps agents and channel settings and makes conditional assignments.
type Storer interface {
	Agents(ctx context.Context, ws string) ([]Agent, error)
	Agent(ctx context.Context, ws, userID string) (Agent, error) // not found when unknown
	PutAgent(ctx context.Context, a Agent) error
	ChannelSettings(ctx context.Context, ws string) ([]ChannelSettings, error)
	PutChannelSettings(ctx context.Context, ws string, s ChannelSettings) error
	// OpenConversations returns the workspace's open and pending conversations.
	OpenConversations(ctx context.Context, ws string) ([]conversation.Conversation, error)
	// AssignIfUnassigned sets the assignee while there is none; false when
	// the conversation has one (or is gone).
	AssignIfUnassigned(ctx context.Context, ws, conversationID, agentID string) (bool, error)
}

// ConversationGetter reads one conversation as stored now.
type ConversationGetter interface {
	Conversation(ctx context.Context, ws, id string) (conversation.Conversation, error)
}

// ChannelGetter finds a workspace's channel.
type ChannelGetter interface {
	Get(ctx context.Context, ws, id string) (channel.Channel, error)
}

// Publisher publishes events.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) (event.Event, error)
}

type workspace struct {
	engine   *assign.Engine
	channels map[string]ChannelSettings
}

// Service routes conversations to agents.
type Service struct {
	store    Storer
	convs    ConversationGetter
	channels ChannelGetter
	bus      Publisher
	log      *slog.Logger

	mu         sync.Mutex // serialises engine decisions and their application
	workspaces map[string]*workspace
	handled    atomic.Int64
}

// NewService returns a routing service.
func NewService(store Storer, convs ConversationGetter, channels ChannelGetter, bus Publisher, log *slog.Logger) *Service {
	return &Service{store: store, convs: convs, channels: channels, bus: bus, log: log, workspaces: map[string]*workspace{}}
}

// Handled is the number of bus events handled so far (an operational
// figure; tests use it to wait for the consumer).
func (s *Service) Handled() int64 { return s.handled.Load() }

// Run consumes the bus as ConsumerGroup until ctx ends.
func (s *Service) Run(ctx context.Context, bus event.Bus) error {
	return bus.Consume(ctx, ConsumerGroup, s.Handle)
}

// Handle reconciles the engine with the current state of the conversation an
// event is about. It reads the conversation from the store rather than
// trusting the event, so redelivered or reordered events are harmless.
func (s *Service) Handle(ctx context.Context, e event.Event) error {
	defer s.handled.Add(1)
	convID := e.ConversationID
	switch e.Type {
	case event.ConversationUpdated, event.ConversationAssigned, event.MessageCreated:
	default:
		return nil
	}
	if convID == "" {
		var d struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversation_id"`
		}
		_ = json.Unmarshal(e.Data, &d)
		convID = d.ConversationID
		if convID == "" && e.Type != event.MessageCreated {
			convID = d.ID
		}
	}
	if convID == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.workspace(ctx, e.WorkspaceID)
	if err != nil {
		return err
	}
	out, err := s.reconcile(ctx, e.WorkspaceID, w, convID)
	if err != nil {
		return err
	}
	return s.apply(ctx, e.WorkspaceID, w, out)
}

// workspace returns the workspace's engine, building it on first use, with
// agents and channel settings refreshed from the store. s.mu is held.
func (s *Service) workspace(ctx context.Context, ws string) (*workspace, error) {
	w := s.workspaces[ws]
	fresh := w == nil
	if fresh {
		w = &workspace{engine: assign.New()}
	}
	settings, err := s.store.ChannelSettings(ctx, ws)
	if err != nil {
		return nil, err
	}
	w.channels = map[string]ChannelSettings{}
	var auto []string
	maxCap, unlimited := 0, false
	for _, cs := range settings {
		w.channels[cs.ChannelID] = cs
		if cs.Auto {
			auto = append(auto, cs.ChannelID)
			unlimited = unlimited || cs.Capacity == 0
			maxCap = max(maxCap, cs.Capacity)
		}
	}
	if unlimited {
		maxCap = 0
	}
	agents, err := s.store.Agents(ctx, ws)
	if err != nil {
		return nil, err
	}
	var out []assign.Assignment
	for _, a := range agents {
		capacity := maxCap
		if a.Capacity > 0 {
			capacity = a.Capacity
		}
		more, err := w.engine.SetAgent(assign.Agent{ID: a.UserID, Channels: auto, Capacity: capacity})
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if a.Status == Online {
			more, err = w.engine.AgentOnline(a.UserID)
			out = append(out, more...)
		} else {
			err = w.engine.AgentOffline(a.UserID)
		}
		if err != nil {
			return nil, err
		}
	}
	if fresh {
		convs, err := s.store.OpenConversations(ctx, ws)
		if err != nil {
			return nil, err
		}
		for _, cv := range convs {
			more, err := s.track(w, cv)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
		s.workspaces[ws] = w
	}
	return w, s.apply(ctx, ws, w, out)
}

// reconcile brings the engine in line with the conversation as stored.
func (s *Service) reconcile(ctx context.Context, ws string, w *workspace, convID string) ([]assign.Assignment, error) {
	cv, err := s.convs.Conversation(ctx, ws, convID)
	if errors.Is(err, apperr.ErrNotFound) {
		return w.engine.ConversationClosed(convID), nil
	}
	if err != nil {
		return nil, err
	}
	return s.track(w, cv)
}

// track feeds one conversation's state to the engine.
func (s *Service) track(w *workspace, cv conversation.Conversation) ([]assign.Assignment, error) {
	open := cv.Status == conversation.StatusOpen || cv.Status == conversation.StatusPending
	switch {
	case !open:
		return w.engine.ConversationClosed(cv.ID), nil
	case cv.AssigneeID != "":
		if err := w.engine.Assigned(cv.ID, cv.AssigneeID); errors.Is(err, assign.ErrUnknownAgent) {
			// Assigned by hand to someone routing has not met: track their
			// load without routing anything to them.
			if _, err := w.engine.SetAgent(assign.Agent{ID: cv.AssigneeID}); err != nil {
				return nil, err
			}
			return nil, w.engine.Assigned(cv.ID, cv.AssigneeID)
		} else if err != nil {
			return nil, err
		}
		return nil, nil
	case !w.channels[cv.ChannelID].Auto:
		return w.engine.ConversationClosed(cv.ID), nil
	}
	// Unassigned on an auto channel: release any stale hold (unassigned by
	// hand) and queue it.
	out := w.engine.ConversationClosed(cv.ID)
	since := cv.WaitingSince
	if since.IsZero() {
		since = cv.CreatedAt
	}
	more, err := w.engine.ConversationWaiting(assign.Waiting{ConversationID: cv.ID, Channel: cv.ChannelID,
		Priority: enginePriority(cv.Priority), Since: since})
	return append(out, more...), err
}

func enginePriority(p string) assign.Priority {
	switch assign.Priority(p) {
	case assign.Urgent, assign.High:
		return assign.Priority(p)
	}
	return assign.Normal
}

// AssignedData is the data of a conversation.assigned event published by routing.
type AssignedData struct {
	ConversationID string `json:"conversation_id"`
	AssigneeID     string `json:"assignee_id"`
	Auto           bool   `json:"auto"`
}

// apply persists the engine's decisions conditionally and announces them.
// A lost race adopts the winner's assignment, which may free capacity for
// further decisions. s.mu is held.
func (s *Service) apply(ctx context.Context, ws string, w *workspace, todo []assign.Assignment) error {
	for len(todo) > 0 {
		a := todo[0]
		todo = todo[1:]
		ok, err := s.store.AssignIfUnassigned(ctx, ws, a.ConversationID, a.AgentID)
		if err != nil {
			// Forget the decision: the redelivered event queues it again.
			w.engine.ConversationClosed(a.ConversationID)
			return err
		}
		if !ok {
			more, err := s.reconcile(ctx, ws, w, a.ConversationID)
			if err != nil {
				return err
			}
			todo = append(todo, more...)
			continue
		}
		if err := s.announce(ctx, ws, a); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) announce(ctx context.Context, ws string, a assign.Assignment) error {
	e, err := event.New(ws, event.StreamInbox, event.ConversationAssigned, AssignedData{ConversationID: a.ConversationID, AssigneeID: a.AgentID, Auto: true})
	if err != nil {
		return err
	}
	e.ConversationID, e.UserID = a.ConversationID, a.AgentID
	if _, err := s.bus.Publish(ctx, e); err != nil {
		return fmt.Errorf("publish assignment: %w", err)
	}
	cv, err := s.convs.Conversation(ctx, ws, a.ConversationID)
	if err != nil {
		return err
	}
	u, err := event.New(ws, event.StreamInbox, event.ConversationUpdated, cv)
	if err != nil {
		return err
	}
	u.ConversationID = cv.ID
	if _, err := s.bus.Publish(ctx, u); err != nil {
		return fmt.Errorf("publish conversation: %w", err)
	}
	s.log.InfoContext(ctx, "auto-assigned", "workspace", ws, "conversation", a.ConversationID, "agent", a.AgentID)
	return nil
}

// rebuild drops the workspace's engine and builds it again from the store,
// draining what the new settings allow. s.mu is held.
func (s *Service) rebuild(ctx context.Context, ws string) error {
	delete(s.workspaces, ws)
	_, err := s.workspace(ctx, ws)
	return err
}

// PutChannelSettings stores a channel's auto-assignment settings and
// re-routes the workspace under them.
func (s *Service) PutChannelSettings(ctx context.Context, ws string, cs ChannelSettings) error {
	if cs.Capacity < 0 {
		return apperr.Invalid("capacity must not be negative")
	}
	if _, err := s.channels.Get(ctx, ws, cs.ChannelID); err != nil {
		return err
	}
	if err := s.store.PutChannelSettings(ctx, ws, cs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebuild(ctx, ws)
}

// ChannelSettings returns a channel's auto-assignment settings (off by default).
func (s *Service) ChannelSettings(ctx context.Context, ws, channelID string) (ChannelSettings, error) {
	if _, err := s.channels.Get(ctx, ws, channelID); err != nil {
		return ChannelSettings{}, err
	}
	all, err := s.store.ChannelSettings(ctx, ws)
	if err != nil {
		return ChannelSettings{}, err
	}
	for _, cs := range all {
		if cs.ChannelID == channelID {
			return cs, nil
		}
	}
	return ChannelSettings{ChannelID: channelID}, nil
}

// SetAvailability records an agent's availability; an agent coming online
// takes from the queue at once.
func (s *Service) SetAvailability(ctx context.Context, ws, userID, name string, status Availability) (Agent, error) {
	switch status {
	case Online, Busy, Offline:
	default:
		return Agent{}, apperr.Invalid("status must be online, busy or offline")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.store.Agent(ctx, ws, userID)
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return Agent{}, err
	}
	a.WorkspaceID, a.UserID, a.Status, a.UpdatedAt = ws, userID, status, time.Now().UTC()
	if name != "" {
		a.Name = name
	}
	if err := s.store.PutAgent(ctx, a); err != nil {
		return Agent{}, err
	}
	_, err = s.workspace(ctx, ws)
	return a, err
}

// SetCapacity sets an agent's own capacity (0: the channels' capacity).
func (s *Service) SetCapacity(ctx context.Context, ws, userID string, capacity int) (Agent, error) {
	if capacity < 0 {
		return Agent{}, apperr.Invalid("capacity must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.store.Agent(ctx, ws, userID)
	if errors.Is(err, apperr.ErrNotFound) {
		a, err = Agent{WorkspaceID: ws, UserID: userID, Status: Offline}, nil
	}
	if err != nil {
		return Agent{}, err
	}
	a.Capacity, a.UpdatedAt = capacity, time.Now().UTC()
	if err := s.store.PutAgent(ctx, a); err != nil {
		return Agent{}, err
	}
	return a, s.rebuild(ctx, ws)
}

// AgentLoad is an agent with the open conversations they hold.
type AgentLoad struct {
	Agent
	Load int
}

// Agents lists the workspace's known agents (those who ever set their
// availability or were given a capacity) with their open load, by user id.
func (s *Service) Agents(ctx context.Context, ws string) ([]AgentLoad, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.workspace(ctx, ws)
	if err != nil {
		return nil, err
	}
	agents, err := s.store.Agents(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]AgentLoad, len(agents))
	for i, a := range agents {
		out[i] = AgentLoad{Agent: a, Load: w.engine.Load(a.UserID)}
	}
	slices.SortFunc(out, func(a, b AgentLoad) int {
		switch {
		case a.UserID < b.UserID:
			return -1
		case a.UserID > b.UserID:
			return 1
		}
		return 0
	})
	return out, nil
}
