package workflow

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/inbox/compose"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

// Limits of the workflow's inputs.
const (
	MaxBulkIDs     = 100
	maxLabelLength = 64
	maxCannedText  = 4000
)

// SystemActor is the audit actor of changes made by workers.
const SystemActor = "system"

// Assign sets the conversation's assignee; an empty userID unassigns.
func (s *Service) Assign(ctx context.Context, p auth.Principal, id, userID string) (Conversation, error) {
	before, err := s.store.Conversation(ctx, p.WorkspaceID, id)
	if err != nil {
		return Conversation{}, err
	}
	c, err := s.store.SetAssignee(ctx, p.WorkspaceID, id, userID, s.now())
	if err != nil {
		return Conversation{}, err
	}
	s.publish(ctx, p.WorkspaceID, event.ConversationAssigned, id, userID, map[string]string{
		"conversation_id": id, "assignee_id": userID, "previous_assignee_id": before.AssigneeID, "by": p.UserID})
	s.audit(ctx, p, id, AuditAssigned, map[string]string{"from": before.AssigneeID, "to": userID})
	return s.Get(ctx, p.WorkspaceID, c.ID)
}

// SetStatus moves a conversation to status; snoozing needs a future time.
func (s *Service) SetStatus(ctx context.Context, p auth.Principal, id string, st conversation.Status, snoozedUntil time.Time) (Conversation, error) {
	if !validStatus(st) {
		return Conversation{}, apperr.Invalid("status must be open, pending, snoozed or resolved")
	}
	now := s.now()
	if st == conversation.StatusSnoozed && !snoozedUntil.After(now) {
		return Conversation{}, apperr.Invalid("snoozed_until must be a future time")
	}
	if st != conversation.StatusSnoozed && !snoozedUntil.IsZero() {
		return Conversation{}, apperr.Invalid("snoozed_until applies only to snoozed")
	}
	before, err := s.store.Conversation(ctx, p.WorkspaceID, id)
	if err != nil {
		return Conversation{}, err
	}
	c, err := s.store.SetStatus(ctx, p.WorkspaceID, id, st, snoozedUntil.UTC(), now)
	if err != nil {
		return Conversation{}, err
	}
	s.publish(ctx, p.WorkspaceID, event.ConversationUpdated, id, "", c)
	detail := map[string]string{"from": string(before.Status), "to": string(st)}
	if !snoozedUntil.IsZero() {
		detail["snoozed_until"] = snoozedUntil.UTC().Format(time.RFC3339)
	}
	s.audit(ctx, p, id, AuditStatus, detail)
	return s.Get(ctx, p.WorkspaceID, id)
}

// MarkRead records that the team has read a conversation up to its seen-th
// incoming message (0: every message counted so far), so its unread count
// drops for every agent; their lists follow through conversation.updated.
// seen beyond what was counted is taken as everything counted.
func (s *Service) MarkRead(ctx context.Context, p auth.Principal, id string, seen int64) (Conversation, error) {
	if seen < 0 {
		return Conversation{}, apperr.Invalid("incoming_count must not be negative")
	}
	c, err := s.store.Conversation(ctx, p.WorkspaceID, id)
	if err != nil {
		return Conversation{}, err
	}
	if seen == 0 || seen > c.IncomingCount {
		seen = c.IncomingCount
	}
	before := c.UnreadCount
	if c, err = s.store.MarkRead(ctx, p.WorkspaceID, id, seen); err != nil {
		return Conversation{}, err
	}
	if c.UnreadCount != before {
		s.publish(ctx, p.WorkspaceID, event.ConversationUpdated, id, "", c)
	}
	return s.Get(ctx, p.WorkspaceID, id)
}

// ChangeLabels adds and removes labels; added labels must exist in the workspace.
func (s *Service) ChangeLabels(ctx context.Context, p auth.Principal, id string, add, remove []string) (Conversation, error) {
	if len(add) > 0 {
		known, err := s.store.Labels(ctx, p.WorkspaceID)
		if err != nil {
			return Conversation{}, err
		}
		for _, a := range add {
			if !slices.ContainsFunc(known, func(l Label) bool { return l.Name == a }) {
				return Conversation{}, apperr.Invalid("unknown label %q", a)
			}
		}
	}
	c, err := s.store.ChangeLabels(ctx, p.WorkspaceID, id, add, remove, s.now())
	if err != nil {
		return Conversation{}, err
	}
	s.publish(ctx, p.WorkspaceID, event.ConversationUpdated, id, "", c)
	s.audit(ctx, p, id, AuditLabels, map[string]string{"added": strings.Join(add, ","), "removed": strings.Join(remove, ",")})
	return s.Get(ctx, p.WorkspaceID, id)
}

// BulkRequest applies one action to many conversations.
type BulkRequest struct {
	IDs          []string
	Action       string // assign, label, unlabel, resolve, status
	UserID       string // assign ("" unassigns)
	Labels       []string
	Status       conversation.Status
	SnoozedUntil time.Time
}

// BulkResult is the outcome for one id: "ok", "not_found" or "error".
type BulkResult struct {
	ID     string `json:"id"`
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// Bulk applies r to each conversation; ids of other workspaces are not_found.
func (s *Service) Bulk(ctx context.Context, p auth.Principal, r BulkRequest) ([]BulkResult, error) {
	if len(r.IDs) == 0 || len(r.IDs) > MaxBulkIDs {
		return nil, apperr.Invalid("ids must hold 1 to %d conversation ids", MaxBulkIDs)
	}
	var do func(id string) error
	switch r.Action {
	case "assign":
		do = func(id string) error { _, err := s.Assign(ctx, p, id, r.UserID); return err }
	case "label", "unlabel":
		if len(r.Labels) == 0 {
			return nil, apperr.Invalid("labels is required")
		}
		do = func(id string) error {
			var err error
			if r.Action == "label" {
				_, err = s.ChangeLabels(ctx, p, id, r.Labels, nil)
			} else {
				_, err = s.ChangeLabels(ctx, p, id, nil, r.Labels)
			}
			return err
		}
	case "resolve":
		do = func(id string) error {
			_, err := s.SetStatus(ctx, p, id, conversation.StatusResolved, time.Time{})
			return err
		}
	case "status":
		do = func(id string) error { _, err := s.SetStatus(ctx, p, id, r.Status, r.SnoozedUntil); return err }
	default:
		return nil, apperr.Invalid("action must be assign, label, unlabel, resolve or status")
	}
	out := make([]BulkResult, 0, len(r.IDs))
	for _, id := range r.IDs {
		res := BulkResult{ID: id, Result: "ok"}
		if err := do(id); err != nil {
			if errors.Is(err, apperr.ErrNotFound) {
				res.Result = "not_found"
			} else {
				res.Result = "error"
				_, _, res.Error = apperr.Status(err)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// ReopenDue reopens the snoozed conversations whose time has come.
func (s *Service) ReopenDue(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.store.DueSnoozed(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range due {
		ok, err := s.store.Reopen(ctx, c.WorkspaceID, c.ID, now)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		n++
		fresh, err := s.store.Conversation(ctx, c.WorkspaceID, c.ID)
		if err != nil {
			return n, err
		}
		s.publish(ctx, c.WorkspaceID, event.ConversationUpdated, c.ID, "", fresh)
		sys := auth.Principal{UserID: SystemActor, WorkspaceID: c.WorkspaceID}
		s.audit(ctx, sys, c.ID, AuditStatus, map[string]string{"from": string(conversation.StatusSnoozed),
			"to": string(conversation.StatusOpen), "reason": "snooze ended"})
	}
	return n, nil
}

// RunSnooze reopens due conversations until ctx ends.
func (s *Service) RunSnooze(ctx context.Context) error {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		if _, err := s.ReopenDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "snooze", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Labels returns the workspace's labels.
func (s *Service) Labels(ctx context.Context, ws string) ([]Label, error) {
	return s.store.Labels(ctx, ws)
}

// CreateLabel adds a label to the workspace.
func (s *Service) CreateLabel(ctx context.Context, ws string, l Label) (Label, error) {
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" || len(l.Name) > maxLabelLength || strings.Contains(l.Name, ",") {
		return Label{}, apperr.Invalid("name must be 1 to %d characters without commas", maxLabelLength)
	}
	l.CreatedAt = s.now()
	return l, s.store.CreateLabel(ctx, ws, l)
}

// DeleteLabel removes a label from the workspace's list.
func (s *Service) DeleteLabel(ctx context.Context, ws, name string) error {
	return s.store.DeleteLabel(ctx, ws, name)
}

// CannedResponses returns the workspace's canned responses.
func (s *Service) CannedResponses(ctx context.Context, ws string) ([]CannedResponse, error) {
	return s.store.CannedResponses(ctx, ws)
}

// SaveCannedResponse creates (empty ID) or updates a canned response after
// checking its template.
func (s *Service) SaveCannedResponse(ctx context.Context, p auth.Principal, r CannedResponse) (CannedResponse, error) {
	r.Shortcut = strings.TrimPrefix(strings.TrimSpace(r.Shortcut), "/")
	switch {
	case r.Shortcut == "" || len(r.Shortcut) > maxLabelLength || strings.ContainsAny(r.Shortcut, " \t\n"):
		return CannedResponse{}, apperr.Invalid("shortcut must be 1 to %d characters without spaces", maxLabelLength)
	case strings.TrimSpace(r.Text) == "" || len(r.Text) > maxCannedText:
		return CannedResponse{}, apperr.Invalid("text must be 1 to %d bytes", maxCannedText)
	}
	if _, err := compose.Parse(r.Text); err != nil {
		return CannedResponse{}, apperr.Invalid("text: %v", err)
	}
	now := s.now()
	create := r.ID == ""
	r.UpdatedAt = now
	if create {
		r.ID, r.CreatedBy, r.CreatedAt = auth.RandomID(), p.UserID, now
	}
	if err := s.store.SaveCannedResponse(ctx, p.WorkspaceID, r, create); err != nil {
		return CannedResponse{}, err
	}
	return s.store.CannedResponse(ctx, p.WorkspaceID, r.ID)
}

// DeleteCannedResponse removes a canned response.
func (s *Service) DeleteCannedResponse(ctx context.Context, ws, id string) error {
	return s.store.DeleteCannedResponse(ctx, ws, id)
}

// Rendered is a canned response filled for a conversation.
type Rendered struct {
	Text    string   `json:"text"`
	Missing []string `json:"missing,omitempty"` // placeholders left to their fallback or empty
}

// RenderCannedResponse fills a canned response with the conversation's
// customer and the calling agent.
func (s *Service) RenderCannedResponse(ctx context.Context, p auth.Principal, id, conversationID string) (Rendered, error) {
	c, err := s.store.Conversation(ctx, p.WorkspaceID, conversationID)
	if err != nil {
		return Rendered{}, err
	}
	text, missing, err := s.render(ctx, p, id, c)
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Text: text, Missing: missing}, nil
}

func (s *Service) render(ctx context.Context, p auth.Principal, id string, c Conversation) (string, []string, error) {
	r, err := s.store.CannedResponse(ctx, p.WorkspaceID, id)
	if err != nil {
		return "", nil, err
	}
	name := c.Customer.Name
	if name == "" {
		name = c.Customer.Handle
	}
	text, missing, err := compose.Render(r.Text, compose.Values{Contact: compose.Contact{Name: name},
		Agent: compose.Agent{Name: p.Name, Email: p.Email}})
	if err != nil {
		return "", nil, apperr.Invalid("canned response: %v", err)
	}
	return text, missing, nil
}
