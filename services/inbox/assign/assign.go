// Package assign decides which agent gets a waiting conversation: round-robin
// among the online agents of the conversation's channel, within each agent's
// capacity, with a queue ordered by priority and waiting time that drains
// whenever capacity appears.
//
// Engine is a pure, deterministic state machine: the service feeds it events
// and applies (persists, publishes) the Assignments it returns. It is safe
// for concurrent use within one process. With several service instances the
// state must live in one place: either one instance owns the engine (leader
// election) or the store applies each decision with a conditional write
// (assign only if still unassigned and the agent's load is unchanged) and
// replays the event on conflict.
package assign

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Priority orders the queue.
type Priority string

// Priorities, most urgent first.
const (
	Urgent Priority = "urgent"
	High   Priority = "high"
	Normal Priority = "normal"
)

func (p Priority) rank() int {
	switch p {
	case Urgent:
		return 2
	case High:
		return 1
	}
	return 0
}

// Errors returned by the Engine.
var (
	ErrUnknownAgent = errors.New("assign: unknown agent")
	ErrInvalid      = errors.New("assign: invalid input")
)

// Agent is an agent's assignment profile.
type Agent struct {
	ID       string
	Channels []string // channels the agent works; auto-assignment only routes these
	// Capacity is the most open conversations the agent holds before the
	// engine stops giving them more; 0 means no limit.
	Capacity int
}

// Waiting is a conversation that needs an agent.
type Waiting struct {
	ConversationID string
	Channel        string
	Priority       Priority // "" is Normal
	Since          time.Time
}

// Assignment is a decision to apply: give ConversationID to AgentID.
type Assignment struct {
	ConversationID string
	Channel        string
	AgentID        string
}

type agentState struct {
	Agent
	online bool
	open   map[string]bool // conversation ids assigned and not closed
}

func (a *agentState) hasRoom() bool {
	return a.online && (a.Capacity == 0 || len(a.open) < a.Capacity)
}

// Engine holds agents, their loads and the queue.
type Engine struct {
	mu       sync.Mutex
	agents   map[string]*agentState
	byConv   map[string]string  // conversation → agent holding it
	queue    map[string]Waiting // conversation → waiting entry
	lastPick map[string]string  // channel → agent that got the channel's last conversation
}

// New returns an empty Engine.
func New() *Engine {
	return &Engine{agents: map[string]*agentState{}, byConv: map[string]string{}, queue: map[string]Waiting{}, lastPick: map[string]string{}}
}

// SetAgent adds or updates an agent's profile (channels, capacity); load and
// presence are kept. A higher capacity may let the queue drain to them.
func (e *Engine) SetAgent(a Agent) ([]Assignment, error) {
	if a.ID == "" || a.Capacity < 0 {
		return nil, fmt.Errorf("%w: agent needs an id and a capacity ≥ 0", ErrInvalid)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.agents[a.ID]
	if st == nil {
		st = &agentState{open: map[string]bool{}}
		e.agents[a.ID] = st
	}
	st.Agent = Agent{ID: a.ID, Channels: slices.Clone(a.Channels), Capacity: a.Capacity}
	return e.drain(), nil
}

// RemoveAgent forgets an agent (deleted, or no longer auto-assigned). The
// conversations they held stay assigned in the store; the engine stops
// tracking them.
func (e *Engine) RemoveAgent(agentID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.agents[agentID]; st != nil {
		for c := range st.open {
			delete(e.byConv, c)
		}
	}
	delete(e.agents, agentID)
}

// AgentOnline marks the agent available; the queue drains to them.
func (e *Engine) AgentOnline(agentID string) ([]Assignment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.agents[agentID]
	if st == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	st.online = true
	return e.drain(), nil
}

// AgentOffline stops new assignments to the agent. Conversations they hold
// stay theirs (and keep counting toward their capacity): reassigning them is
// a separate, human decision.
func (e *Engine) AgentOffline(agentID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.agents[agentID]
	if st == nil {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	st.online = false
	return nil
}

// ConversationWaiting queues a conversation (or updates the priority of one
// already queued, e.g. when triage raises it) and drains the queue. A
// conversation already held by an agent is left alone: call
// ConversationClosed first when it was unassigned.
func (e *Engine) ConversationWaiting(w Waiting) ([]Assignment, error) {
	if w.ConversationID == "" || w.Channel == "" {
		return nil, fmt.Errorf("%w: waiting conversation needs an id and a channel", ErrInvalid)
	}
	if w.Priority == "" {
		w.Priority = Normal
	}
	if w.Priority.rank() == 0 && w.Priority != Normal {
		return nil, fmt.Errorf("%w: priority %q", ErrInvalid, w.Priority)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, held := e.byConv[w.ConversationID]; held {
		return nil, nil
	}
	if old, ok := e.queue[w.ConversationID]; ok && !old.Since.IsZero() && (w.Since.IsZero() || old.Since.Before(w.Since)) {
		w.Since = old.Since // re-queuing never loses the time already waited
	}
	e.queue[w.ConversationID] = w
	return e.drain(), nil
}

// Assigned records an assignment made outside the engine (an agent took the
// conversation, a manager assigned it, or the service restores state at
// start). It counts toward the agent's capacity even past it.
func (e *Engine) Assigned(conversationID, agentID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.agents[agentID]
	if st == nil {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	e.release(conversationID)
	delete(e.queue, conversationID)
	st.open[conversationID] = true
	e.byConv[conversationID] = agentID
	return nil
}

// ConversationClosed releases a conversation that was resolved, unassigned
// or deleted, or drops it from the queue; the freed capacity drains the
// queue.
func (e *Engine) ConversationClosed(conversationID string) []Assignment {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.queue, conversationID)
	e.release(conversationID)
	return e.drain()
}

func (e *Engine) release(conversationID string) {
	if a, ok := e.byConv[conversationID]; ok {
		delete(e.agents[a].open, conversationID)
		delete(e.byConv, conversationID)
	}
}

// drain assigns queued conversations, most urgent and longest waiting first,
// until no queued conversation has an agent with room. A conversation whose
// channel has nobody free does not block others behind it.
func (e *Engine) drain() []Assignment {
	if len(e.queue) == 0 {
		return nil
	}
	waiting := make([]Waiting, 0, len(e.queue))
	for _, w := range e.queue {
		waiting = append(waiting, w)
	}
	slices.SortFunc(waiting, served)
	var out []Assignment
	for _, w := range waiting {
		agent := e.next(w.Channel)
		if agent == nil {
			continue
		}
		agent.open[w.ConversationID] = true
		e.byConv[w.ConversationID] = agent.ID
		e.lastPick[w.Channel] = agent.ID
		delete(e.queue, w.ConversationID)
		out = append(out, Assignment{ConversationID: w.ConversationID, Channel: w.Channel, AgentID: agent.ID})
	}
	return out
}

// next returns the channel's next agent with room in round-robin order: the
// first eligible agent after the one who got the channel's last
// conversation, agents ordered by id.
func (e *Engine) next(channel string) *agentState {
	var ids []string
	for id, a := range e.agents {
		if a.hasRoom() && slices.Contains(a.Channels, channel) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	last := e.lastPick[channel]
	for _, id := range ids {
		if id > last {
			return e.agents[id]
		}
	}
	return e.agents[ids[0]]
}

// Load returns how many open conversations the agent holds.
func (e *Engine) Load(agentID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.agents[agentID]; a != nil {
		return len(a.open)
	}
	return 0
}

// Queue returns the waiting conversations in the order they will be served.
func (e *Engine) Queue() []Waiting {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Waiting, 0, len(e.queue))
	for _, w := range e.queue {
		out = append(out, w)
	}
	slices.SortFunc(out, served)
	return out
}

// served orders the queue: higher priority, then longer waiting, then id so
// equal entries keep a stable order.
func served(a, b Waiting) int {
	return cmp.Or(
		cmp.Compare(b.Priority.rank(), a.Priority.rank()),
		a.Since.Compare(b.Since),
		cmp.Compare(a.ConversationID, b.ConversationID),
	)
}
