package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/compose"
	"github.com/communityinbox/inbox/connector"
	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/event"
)

// AgentPlatform is the Author.Platform of agents' replies and notes.
const AgentPlatform = "agent"

// ReplyRequest is an agent's reply or note.
type ReplyRequest struct {
	Text             string
	Private          bool
	Mode             string // ModePublic, ModeDM or ModePrivateReply; from the conversation's kind when empty
	ReplyTo          string // our id of the message answered; the newest incoming one when empty
	CannedResponseID string // rendered for the conversation when Text is empty
}

// Reply stores an agent's reply as a pending outbound message and queues its
// send, or stores a private note. Sending is refused at once when the
// platform's messaging window is closed.
func (s *Service) Reply(ctx context.Context, p auth.Principal, conversationID string, r ReplyRequest) (Message, error) {
	c, err := s.store.Conversation(ctx, p.WorkspaceID, conversationID)
	if err != nil {
		return Message{}, err
	}
	text := r.Text
	if strings.TrimSpace(text) == "" && r.CannedResponseID != "" {
		if text, _, err = s.render(ctx, p, r.CannedResponseID, c); err != nil {
			return Message{}, err
		}
	}
	if strings.TrimSpace(text) == "" {
		return Message{}, apperr.Invalid("text is required")
	}
	now := s.now()
	m := Message{Message: conversation.Message{WorkspaceID: p.WorkspaceID, ConversationID: c.ID, ChannelID: c.ChannelID,
		Platform: c.Platform, Kind: c.Kind, Author: conversation.Identity{Platform: AgentPlatform, UserID: p.UserID, Name: p.Name},
		Text: text, PlatformTime: now, ReceivedAt: now, CreatedAt: now, UpdatedAt: now}, AgentID: p.UserID}
	if r.Private {
		return s.note(ctx, p, c, m)
	}
	job, err := s.plan(ctx, c, r, &m)
	if err != nil {
		return Message{}, err
	}
	m.ID = "out-" + auth.RandomID()
	m.Direction = conversation.DirectionOut
	m.Delivery = &conversation.Delivery{State: conversation.DeliveryPending, At: now}
	if err := s.store.InsertMessage(ctx, m); err != nil {
		return Message{}, err
	}
	job.MessageID, job.WorkspaceID, job.ConversationID, job.ChannelID, job.Text = m.ID, p.WorkspaceID, c.ID, c.ChannelID, text
	if err := s.store.Enqueue(ctx, job, now); err != nil {
		_, _ = s.store.MarkFailed(context.WithoutCancel(ctx), p.WorkspaceID, m.ID, "", "could not queue the message", now)
		return Message{}, err
	}
	s.publish(ctx, p.WorkspaceID, event.MessageCreated, c.ID, "", m)
	s.audit(ctx, p, c.ID, AuditReplied, map[string]string{"message_id": m.ID, "mode": m.Mode})
	s.readByReply(ctx, p, c)
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return m, nil
}

// readByReply marks what the agent answered read: a reply (or note) is
// written having read the conversation as it was loaded for it.
func (s *Service) readByReply(ctx context.Context, p auth.Principal, c Conversation) {
	if c.UnreadCount == 0 {
		return
	}
	read, err := s.store.MarkRead(ctx, p.WorkspaceID, c.ID, c.IncomingCount)
	if err != nil {
		s.log.WarnContext(ctx, "mark read after a reply", "conversation", c.ID, "err", err)
		return
	}
	s.publish(ctx, p.WorkspaceID, event.ConversationUpdated, c.ID, "", read)
}

// plan decides how a reply goes out and checks the platform's window.
func (s *Service) plan(ctx context.Context, c Conversation, r ReplyRequest, m *Message) (OutboxJob, error) {
	platform := connector.Platform(c.Platform)
	if router, ok := s.opts.Sender.(connector.Router); ok {
		if _, ok := router[platform]; !ok {
			return OutboxJob{}, apperr.Invalid("replies cannot be sent to %s channels", c.Platform)
		}
	}
	mode := r.Mode
	if mode == "" {
		mode = ModePublic
		if c.Kind == conversation.KindDM {
			mode = ModeDM
		}
	}
	job := OutboxJob{Platform: platform}
	var lastCustomer time.Time
	switch {
	case c.Kind == conversation.KindDM && mode == ModeDM:
		job.Kind, job.Recipient = connector.KindDM, c.ThreadKey
		lastCustomer = c.LastIncomingAt
		if r.ReplyTo != "" {
			target, err := s.target(ctx, c, r.ReplyTo)
			if err != nil {
				return OutboxJob{}, err
			}
			job.ReplyTo, m.ReplyToID, m.ReplyToExternalID = target.ExternalID, target.ID, target.ExternalID
		}
	case c.Kind == conversation.KindComment && (mode == ModePublic || mode == ModePrivateReply):
		target, err := s.target(ctx, c, r.ReplyTo)
		if err != nil {
			return OutboxJob{}, err
		}
		job.ReplyTo = target.ExternalID
		m.ParentID, m.ParentExternalID = target.ID, target.ExternalID
		job.Kind = connector.KindComment
		if mode == ModePrivateReply {
			if platform != connector.Facebook && platform != connector.Instagram {
				return OutboxJob{}, apperr.Invalid("private replies exist only on Facebook and Instagram")
			}
			job.Kind, lastCustomer = connector.KindPrivateReply, target.PlatformTime
		} else if platform == connector.YouTube {
			// YouTube threads replies only under top-level comments.
			job.ReplyTo = s.rootExternalID(ctx, c, target)
		}
	default:
		return OutboxJob{}, apperr.Invalid("mode %q does not apply to a %s conversation", mode, c.Kind)
	}
	m.Mode = mode
	tag, err := connector.CheckWindow(platform, job.Kind, lastCustomer, s.now())
	if err != nil {
		if we, ok := errorsAs[*connector.WindowError](err); ok {
			return OutboxJob{}, apperr.Conflict("%s", we.Error())
		}
		return OutboxJob{}, err
	}
	job.Tag = tag
	return job, nil
}

// target returns the message replied to: the one named, or the newest
// incoming message of the conversation.
func (s *Service) target(ctx context.Context, c Conversation, id string) (Message, error) {
	if id != "" {
		m, err := s.store.Message(ctx, c.WorkspaceID, id)
		if err != nil || m.ConversationID != c.ID || m.ExternalID == "" {
			return Message{}, apperr.Invalid("reply_to is not a platform message of this conversation")
		}
		return m, nil
	}
	msgs, err := s.store.Messages(ctx, c.WorkspaceID, c.ID)
	if err != nil {
		return Message{}, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Direction == conversation.DirectionIn && msgs[i].ExternalID != "" && msgs[i].Tombstone == nil {
			return msgs[i], nil
		}
	}
	return Message{}, apperr.Invalid("the conversation has no incoming message to reply to")
}

// rootExternalID walks up a comment's parents to the top-level comment.
func (s *Service) rootExternalID(ctx context.Context, c Conversation, m Message) string {
	for range 32 {
		if m.ParentID == "" {
			break
		}
		parent, err := s.store.Message(ctx, c.WorkspaceID, m.ParentID)
		if err != nil || parent.ExternalID == "" {
			break
		}
		m = parent
	}
	return m.ExternalID
}

// note stores a private note, never sent, and tells each mentioned agent.
func (s *Service) note(ctx context.Context, p auth.Principal, c Conversation, m Message) (Message, error) {
	agents, err := s.store.Agents(ctx, p.WorkspaceID)
	if err != nil {
		return Message{}, err
	}
	users := make([]compose.User, len(agents))
	for i, a := range agents {
		users[i] = compose.User{ID: a.UserID, Email: a.Email, Name: a.Name}
	}
	for _, mn := range compose.Mentions(m.Text, users) {
		m.Mentions = append(m.Mentions, mn.UserID)
	}
	m.ID = "note-" + auth.RandomID()
	m.Private = true
	if err := s.store.InsertMessage(ctx, m); err != nil {
		return Message{}, err
	}
	s.publish(ctx, p.WorkspaceID, event.MessageCreated, c.ID, "", m)
	for _, uid := range m.Mentions {
		s.publish(ctx, p.WorkspaceID, event.Mention, c.ID, uid, map[string]string{
			"conversation_id": c.ID, "message_id": m.ID, "by": p.UserID, "by_name": p.Name})
	}
	s.audit(ctx, p, c.ID, AuditNote, map[string]string{"message_id": m.ID})
	s.readByReply(ctx, p, c)
	return m, nil
}

// credentials picks what a platform's API needs from a channel.
func credentials(ch channel.Channel) connector.Credentials {
	cr := connector.Credentials{AccessToken: ch.Secrets.AccessToken, BotToken: ch.Secrets.BotToken}
	switch ch.Type {
	case channel.Facebook:
		cr.AccountID = ch.Config.PageID
	case channel.Instagram:
		cr.AccountID = ch.Config.AccountID
	case channel.WhatsApp:
		cr.AccountID = ch.Config.PhoneNumberID
	}
	return cr
}

// RunOutbox sends queued replies until ctx ends.
func (s *Service) RunOutbox(ctx context.Context) error {
	for {
		n, err := s.DrainOutbox(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "outbox", "err", err)
		}
		if n > 0 {
			continue
		}
		t := time.NewTimer(s.opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// DrainOutbox sends every job due when it starts and returns how many it
// handled; a job it reschedules waits for a later drain.
func (s *Service) DrainOutbox(ctx context.Context) (int, error) {
	n := 0
	start := s.now()
	for {
		job, ok, err := s.store.ClaimJob(ctx, start, s.opts.JobLease)
		if err != nil || !ok {
			return n, err
		}
		n++
		if err := s.send(ctx, job); err != nil {
			return n, err
		}
	}
}

// send makes one claimed attempt of a job and records its outcome.
func (s *Service) send(ctx context.Context, job OutboxJob) error {
	ws := job.WorkspaceID
	m, err := s.store.Message(ctx, ws, job.MessageID)
	if errors.Is(err, apperr.ErrNotFound) {
		return s.store.FinishJob(ctx, job.MessageID)
	}
	if err != nil {
		return err
	}
	if m.Delivery == nil || m.Delivery.State != conversation.DeliveryPending {
		return s.store.FinishJob(ctx, job.MessageID)
	}
	ch, err := s.channels.Get(ctx, ws, job.ChannelID)
	if errors.Is(err, apperr.ErrNotFound) {
		return s.fail(ctx, job, m, "", "the channel was removed")
	}
	if err != nil {
		return err
	}
	res, err := s.dispatch.Send(ctx, connector.Outbound{Platform: job.Platform, Kind: job.Kind, Credentials: credentials(ch),
		Recipient: job.Recipient, ReplyTo: job.ReplyTo, Text: job.Text, IdempotencyKey: job.MessageID, Tag: job.Tag})
	now := s.now()
	if err == nil {
		if err := s.store.MarkSent(ctx, SentUpdate{WorkspaceID: ws, MessageID: m.ID, ConversationID: m.ConversationID,
			ChannelID: m.ChannelID, ExternalID: res.ExternalID, At: now, Preview: m.Preview()}); err != nil {
			return err
		}
		m.ExternalID = res.ExternalID
		m.Delivery = &conversation.Delivery{State: conversation.DeliverySent, At: now}
		m.UpdatedAt = now
		s.publish(ctx, ws, event.MessageUpdated, m.ConversationID, "", m)
		return s.store.FinishJob(ctx, job.MessageID)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	code, reason := "", err.Error()
	if ce, ok := errorsAs[*connector.Error](err); ok {
		code = ce.Code
		if ce.Message != "" {
			reason = ce.Message
		}
		if ce.Class == connector.Ambiguous {
			reason = "the platform did not confirm the message; check the thread before sending again: " + reason
		}
	}
	if connector.ClassOf(err) == connector.Retryable && job.Attempts < s.opts.MaxJobAttempts {
		wait := s.opts.JobBackoff << min(job.Attempts-1, 10)
		return s.store.RetryJob(ctx, job.MessageID, now.Add(wait), reason)
	}
	return s.fail(ctx, job, m, code, reason)
}

func (s *Service) fail(ctx context.Context, job OutboxJob, m Message, code, reason string) error {
	now := s.now()
	changed, err := s.store.MarkFailed(ctx, job.WorkspaceID, m.ID, code, reason, now)
	if err != nil {
		return err
	}
	if !changed {
		return s.store.FinishJob(ctx, job.MessageID)
	}
	m.Delivery = &conversation.Delivery{State: conversation.DeliveryFailed, At: now, ErrorCode: code, ErrorMessage: reason}
	m.UpdatedAt = now
	s.publish(ctx, job.WorkspaceID, event.MessageUpdated, m.ConversationID, "", m)
	if err := s.store.FinishJob(ctx, job.MessageID); err != nil {
		return fmt.Errorf("finish failed job: %w", err)
	}
	return nil
}
