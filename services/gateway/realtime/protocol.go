package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/communityinbox/shared/event"
)

// Close codes the hub sends. Codes 4000-4999 are reserved by RFC 6455 for
// applications; clients reconnect on every code except CloseUnauthorized.
const (
	// CloseUnauthorized ends a connection whose token is missing, invalid or late.
	CloseUnauthorized = 4001
	// CloseSlowConsumer ends a connection whose send queue overflowed; the client
	// should reconnect and resubscribe with since to recover what it missed.
	CloseSlowConsumer = 4008
)

// Error codes carried by {"type":"error"} frames.
const (
	// ErrCodeForbidden answers a subscription the principal may not hold (crm for
	// agents, the system stream).
	ErrCodeForbidden = "forbidden"
	// ErrCodeBadRequest answers a frame that is not valid JSON or not a known message.
	ErrCodeBadRequest = "bad_request"
	// ErrCodeInvalidStream answers a subscription to a stream name the hub does not serve.
	ErrCodeInvalidStream = "invalid_stream"
	// ErrCodeTooManySubscriptions answers a subscription beyond maxSubscriptions.
	ErrCodeTooManySubscriptions = "too_many_subscriptions"
	// ErrCodeUnavailable answers a subscription whose replay could not be read; retry later.
	ErrCodeUnavailable = "unavailable"
)

// StreamPresence is the bus stream gateways publish presence changes on. It is
// ephemeral: its seq is ignored, so presence never consumes inbox seqs.
const StreamPresence = "presence"

// Client message types.
const (
	msgAuth        = "auth"
	msgSubscribe   = "subscribe"
	msgUnsubscribe = "unsubscribe"
	msgPing        = "ping"
	msgTyping      = "typing"
	msgView        = "view"
	msgLeave       = "leave"
)

const (
	conversationPrefix  = "conversation:"
	maxIDLength         = 128
	maxTokenLength      = 8 << 10
	streamNameInbox     = event.StreamInbox
	streamNameCRM       = event.StreamCRM
	streamNameSystem    = event.StreamSystem
	replyTypeSubscribed = "subscribed"
	replyTypeReset      = "reset"
)

// clientMessage is every frame a client may send; fields unused by a type stay empty.
type clientMessage struct {
	Type           string `json:"type"`
	Token          string `json:"token,omitempty"`
	Stream         string `json:"stream,omitempty"`
	Since          *int64 `json:"since,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Typing         *bool  `json:"typing,omitempty"`
}

var (
	errBadMessage = errors.New("realtime: bad message")
	errBadStream  = errors.New("realtime: invalid stream")
)

// parseClientMessage decodes and validates one client frame. Stream names are
// checked for syntax only; whether the principal may hold them is decided later.
func parseClientMessage(data []byte) (clientMessage, error) {
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return clientMessage{}, fmt.Errorf("%w: %v", errBadMessage, err)
	}
	switch m.Type {
	case msgAuth:
		if m.Token == "" || len(m.Token) > maxTokenLength {
			return clientMessage{}, fmt.Errorf("%w: token", errBadMessage)
		}
	case msgSubscribe, msgUnsubscribe:
		if _, err := parseTopic(m.Stream); err != nil && !errors.Is(err, errSystemStream) {
			return clientMessage{}, err
		}
		if m.Since != nil && *m.Since < 0 {
			return clientMessage{}, fmt.Errorf("%w: since", errBadMessage)
		}
	case msgTyping, msgView, msgLeave:
		if !validID(m.ConversationID) {
			return clientMessage{}, fmt.Errorf("%w: conversation_id", errBadMessage)
		}
	case msgPing:
	default:
		return clientMessage{}, fmt.Errorf("%w: type", errBadMessage)
	}
	return m, nil
}

// topicKind tells which family a subscription belongs to.
type topicKind uint8

const (
	topicInbox topicKind = iota + 1
	topicCRM
	topicConversation
)

// topic is one subscribable stream of the connection's workspace.
type topic struct {
	kind           topicKind
	conversationID string
}

var errSystemStream = errors.New("realtime: system stream")

// parseTopic maps a client stream name to a topic. The system stream parses to
// errSystemStream so the caller can answer forbidden rather than invalid.
func parseTopic(name string) (topic, error) {
	switch name {
	case streamNameInbox:
		return topic{kind: topicInbox}, nil
	case streamNameCRM:
		return topic{kind: topicCRM}, nil
	case streamNameSystem:
		return topic{}, errSystemStream
	}
	if id, ok := strings.CutPrefix(name, conversationPrefix); ok && validID(id) {
		return topic{kind: topicConversation, conversationID: id}, nil
	}
	return topic{}, errBadStream
}

// name is the stream name clients use for t.
func (t topic) name() string {
	switch t.kind {
	case topicInbox:
		return streamNameInbox
	case topicCRM:
		return streamNameCRM
	default:
		return conversationPrefix + t.conversationID
	}
}

// busStream is the bus stream whose seq orders t: conversations ride on the inbox.
func (t topic) busStream() string {
	if t.kind == topicCRM {
		return event.StreamCRM
	}
	return event.StreamInbox
}

// validID accepts the identifier alphabets our services generate (ObjectID hex,
// UUID, ULID) and nothing that could smuggle separators or control bytes.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// envelope is how an event reaches a browser. Seq is the stream's seq, or
// ConversationSeq on a conversation stream.
type envelope struct {
	Type           string          `json:"type"`
	ID             string          `json:"id,omitempty"`
	WorkspaceID    string          `json:"workspace_id"`
	Stream         string          `json:"stream"`
	Seq            int64           `json:"seq"`
	ConversationID string          `json:"conversation_id,omitempty"`
	UserID         string          `json:"user_id,omitempty"`
	Time           time.Time       `json:"time,omitzero"`
	Data           json.RawMessage `json:"data"`
}

// encodeEvent renders e as the envelope of stream at seq.
func encodeEvent(e event.Event, stream string, seq int64) ([]byte, error) {
	data := e.Data
	if len(data) == 0 {
		data = nil // marshals as null; an empty RawMessage is invalid JSON
	}
	return json.Marshal(envelope{
		Type:           e.Type,
		ID:             e.ID,
		WorkspaceID:    e.WorkspaceID,
		Stream:         stream,
		Seq:            seq,
		ConversationID: e.ConversationID,
		UserID:         e.UserID,
		Time:           e.Time,
		Data:           data,
	})
}

// streamReply answers subscribe (subscribed, reset) and unsubscribe.
type streamReply struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
	Seq    int64  `json:"seq"`
}

// unsubscribedReply confirms an unsubscribe: no further events of Stream follow.
type unsubscribedReply struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
}

// errorReply reports a refused or malformed client message; the connection stays open.
type errorReply struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Stream  string `json:"stream,omitempty"`
	Message string `json:"message"`
}

var pongReply = []byte(`{"type":"pong"}`)

// mustJSON marshals values built from strings and integers only, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("realtime: marshal %T: %v", v, err))
	}
	return b
}

func subscribedFrame(t topic, seq int64) []byte {
	return mustJSON(streamReply{Type: replyTypeSubscribed, Stream: t.name(), Seq: seq})
}

func resetFrame(stream string, seq int64) []byte {
	return mustJSON(streamReply{Type: replyTypeReset, Stream: stream, Seq: seq})
}

func errorFrame(code, stream, message string) []byte {
	return mustJSON(errorReply{Type: "error", Code: code, Stream: stream, Message: message})
}
