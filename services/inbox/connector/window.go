package connector

import (
	"errors"
	"fmt"
	"time"
)

// Messaging windows enforced by Meta.
const (
	StandardWindow   = 24 * time.Hour     // Messenger, Instagram and WhatsApp: free replies after the customer's last message
	HumanAgentWindow = 7 * 24 * time.Hour // Messenger and Instagram with the HUMAN_AGENT tag
	PrivateReplyAge  = 7 * 24 * time.Hour // a private reply must follow its comment within 7 days
)

// ErrWindowClosed is matched (errors.Is) by every *WindowError.
var ErrWindowClosed = errors.New("connector: messaging window closed")

// WindowError says why a message cannot be sent now; Error() is a sentence
// for the agent.
type WindowError struct {
	Platform Platform
	Kind     Kind
	Age      time.Duration // since the customer's last message (or the comment); negative when they never wrote
	reason   string
}

// Error is the sentence shown to the agent.
func (e *WindowError) Error() string { return e.reason }

// Is makes errors.Is(err, ErrWindowClosed) true.
func (e *WindowError) Is(target error) bool { return target == ErrWindowClosed }

// CheckWindow applies the platforms' messaging windows before a send.
// lastCustomerMessageAt is the customer's last inbound message in the
// conversation (for KindPrivateReply: the comment's creation time); zero
// means the customer never wrote. It returns the tag to send with
// (TagHumanAgent between 24 hours and 7 days on Messenger and Instagram,
// otherwise "") or a *WindowError.
//
// Boundaries are conservative because our clock and the platform's differ:
// a reply exactly 24 hours after the customer's message already needs the
// tag (or, on WhatsApp, a template), one exactly 7 days after is refused.
// Comments, X, YouTube and Telegram have no window.
func CheckWindow(p Platform, k Kind, lastCustomerMessageAt, now time.Time) (string, error) {
	if k == KindComment || (p != Facebook && p != Instagram && p != WhatsApp) {
		return "", nil
	}
	age := time.Duration(-1)
	if !lastCustomerMessageAt.IsZero() {
		age = max(now.Sub(lastCustomerMessageAt), 0) // a timestamp from the future is "just now"
	}
	name := map[Platform]string{Facebook: "Messenger", Instagram: "Instagram", WhatsApp: "WhatsApp"}[p]
	closed := func(format string, args ...any) error {
		return &WindowError{Platform: p, Kind: k, Age: age, reason: fmt.Sprintf(format, args...)}
	}
	if k == KindPrivateReply {
		switch {
		case p == WhatsApp:
			return "", closed("WhatsApp has no private replies to comments")
		case age < 0:
			return "", closed("the comment's time is unknown; %s allows a private reply within 7 days of the comment", name)
		case age >= PrivateReplyAge:
			return "", closed("the comment was written %s ago; %s allows a private reply within 7 days of the comment", ago(age), name)
		}
		return "", nil
	}
	if age < 0 {
		if p == WhatsApp {
			return "", closed("the customer has not written to this number; WhatsApp only allows a template message to start a conversation")
		}
		return "", closed("the customer has not written to us; %s only allows replies to a customer's message", name)
	}
	switch {
	case age < StandardWindow:
		return "", nil
	case p == WhatsApp:
		return "", closed("the customer last wrote %s ago; WhatsApp allows free-form replies within 24 hours of the customer's last message, after that only an approved template", ago(age))
	case age < HumanAgentWindow:
		return TagHumanAgent, nil
	}
	return "", closed("the customer last wrote %s ago; %s allows replies within 24 hours, or 7 days with the human agent tag", ago(age), name)
}

// ago renders an age the way an agent reads it: hours under two days, whole
// days beyond.
func ago(d time.Duration) string {
	if d < 48*time.Hour {
		h := int(d / time.Hour)
		if h == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
