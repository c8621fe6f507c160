package connector

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// reply is one scripted answer of a fake platform.
type reply struct {
	status int
	body   string
	header map[string]string
	delay  time.Duration // answer late (client timeouts)
}

// call is one request a fake platform received.
type call struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

// fake stands in for a platform API. Like the real one it first validates
// the request (method, path, token, JSON shape, required fields) and answers
// with the platform's own error when it is wrong; a valid request gets the
// next scripted reply, or the platform's success answer once the script is
// used up.
type fake struct {
	t        *testing.T
	srv      *httptest.Server
	validate func(r *http.Request, body map[string]any) *reply
	success  func(n int, r *http.Request, body map[string]any) reply

	mu     sync.Mutex
	calls  []call
	script []reply
}

func newFake(t *testing.T, validate func(*http.Request, map[string]any) *reply, success func(int, *http.Request, map[string]any) reply) *fake {
	f := &fake{t: t, validate: validate, success: success}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// then queues scripted replies for the next valid requests.
func (f *fake) then(rs ...reply) *fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, rs...)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	decodeErr := json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.calls = append(f.calls, call{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body})
	n := len(f.calls)
	var rep *reply
	if r.Header.Get("Content-Type") != "application/json" || decodeErr != nil {
		rep = &reply{status: 400, body: `{"error":{"message":"request body is not JSON"}}`}
	} else if v := f.validate(r, body); v != nil {
		rep = v
	} else if len(f.script) > 0 {
		rep = &f.script[0]
		f.script = f.script[1:]
	}
	f.mu.Unlock()
	if rep == nil {
		s := f.success(n, r, body)
		rep = &s
	}
	if rep.delay > 0 {
		select {
		case <-time.After(rep.delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (f *fake) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fake) last() call {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		f.t.Fatal("the fake platform got no request")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fake) config() Config {
	return Config{BaseURL: f.srv.URL, HTTP: &http.Client{Timeout: 2 * time.Second}}
}

// str digs a string out of a decoded JSON body: str(b, "recipient", "id").
func str(body map[string]any, path ...string) string {
	var v any = body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func graphErr(status, code int, subcode int, msg string) *reply {
	sub := ""
	if subcode != 0 {
		sub = fmt.Sprintf(`,"error_subcode":%d`, subcode)
	}
	return &reply{status: status, body: fmt.Sprintf(`{"error":{"message":%q,"type":"OAuthException","code":%d%s,"fbtrace_id":"AbCdEf123"}}`, msg, code, sub)}
}

var graphPath = regexp.MustCompile(`^/(v\d+\.\d+)/([^/]+)/([a-z_]+)$`)

// graphToken is what the Graph API accepts: the bearer header or access_token.
func graphToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer ")
	}
	return r.URL.Query().Get("access_token")
}

// newGraph fakes the Graph API for Pages, Instagram and WhatsApp: comment
// replies (/{comment}/comments, /{ig-comment}/replies), the Send API
// (/{page or ig account}/messages) and WhatsApp (/{phone number id}/messages,
// told apart by waPhoneID).
func newGraph(t *testing.T, token, waPhoneID string) *fake {
	validate := func(r *http.Request, b map[string]any) *reply {
		if r.Method != http.MethodPost {
			return graphErr(400, 100, 0, "Unsupported post request.")
		}
		m := graphPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			return graphErr(400, 100, 33, "Unsupported post request. Object does not exist")
		}
		switch tok := graphToken(r); {
		case tok == "":
			return graphErr(400, 2500, 0, "An active access token must be used to query information about the current user.")
		case tok != token:
			return graphErr(400, 190, 0, "Invalid OAuth access token - Cannot parse access token")
		}
		node, edge := m[2], m[3]
		switch {
		case edge == "comments" || edge == "replies":
			if str(b, "message") == "" {
				return graphErr(400, 100, 0, "(#100) The parameter message is required")
			}
		case edge == "messages" && node == waPhoneID:
			switch {
			case str(b, "messaging_product") != "whatsapp":
				return graphErr(400, 100, 0, "(#100) The parameter messaging_product is required.")
			case str(b, "to") == "":
				return graphErr(400, 100, 0, "(#100) The parameter to is required.")
			case str(b, "type") != "text" || str(b, "text", "body") == "":
				return graphErr(400, 100, 0, "(#100) The parameter text['body'] is required.")
			case b["context"] != nil && str(b, "context", "message_id") == "":
				return graphErr(400, 100, 0, "(#100) Param context['message_id'] is required.")
			}
		case edge == "messages":
			id, comment := str(b, "recipient", "id"), str(b, "recipient", "comment_id")
			mt, tag := str(b, "messaging_type"), str(b, "tag")
			switch {
			case id == "" && comment == "":
				return graphErr(400, 100, 0, "(#100) The parameter recipient is required")
			case id != "" && comment != "":
				return graphErr(400, 100, 0, "(#100) Only one of the parameters recipient.id and recipient.comment_id may be set")
			case str(b, "message", "text") == "":
				return graphErr(400, 100, 0, "(#100) The parameter message is required")
			case id != "" && mt != "RESPONSE" && mt != "UPDATE" && mt != "MESSAGE_TAG":
				return graphErr(400, 100, 0, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
			case mt == "MESSAGE_TAG" && tag == "":
				return graphErr(400, 100, 0, "(#100) Tag is required for MESSAGE_TAG messaging type")
			case tag != "" && mt != "MESSAGE_TAG":
				return graphErr(400, 100, 0, "(#100) Tags can only be used with messaging_type MESSAGE_TAG")
			}
		default:
			return graphErr(400, 100, 0, "Unsupported post request.")
		}
		return nil
	}
	success := func(n int, r *http.Request, b map[string]any) reply {
		m := graphPath.FindStringSubmatch(r.URL.Path)
		node, edge := m[2], m[3]
		switch {
		case edge != "messages":
			return reply{status: 200, body: fmt.Sprintf(`{"id":"%s_r%d"}`, node, n)}
		case node == waPhoneID:
			return reply{status: 200, body: fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.OUT%d"}]}`, str(b, "to"), str(b, "to"), n)}
		default:
			rid := str(b, "recipient", "id")
			if rid == "" {
				rid = "PSID-of-commenter"
			}
			return reply{status: 200, body: fmt.Sprintf(`{"recipient_id":%q,"message_id":"m_out%d"}`, rid, n)}
		}
	}
	return newFake(t, validate, success)
}

func xProblemReply(status int, title, detail string) *reply {
	return &reply{status: status, body: fmt.Sprintf(`{"title":%q,"detail":%q,"type":"about:blank","status":%d}`, title, detail, status)}
}

var xDMPath = regexp.MustCompile(`^/2/dm_conversations/with/([0-9]+)/messages$`)

// newX fakes the X API v2 tweet and DM creation endpoints.
func newX(t *testing.T, token string) *fake {
	validate := func(r *http.Request, b map[string]any) *reply {
		if r.Header.Get("Authorization") != "Bearer "+token {
			return xProblemReply(401, "Unauthorized", "Unauthorized")
		}
		if str(b, "text") == "" {
			return &reply{status: 400, body: `{"errors":[{"parameters":{"text":[]},"message":"Requests must include text or media."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`}
		}
		switch {
		case r.URL.Path == "/2/tweets":
			if b["reply"] != nil && !regexp.MustCompile(`^[0-9]{1,19}$`).MatchString(str(b, "reply", "in_reply_to_tweet_id")) {
				return &reply{status: 400, body: `{"errors":[{"message":"$.reply.in_reply_to_tweet_id: does not match the regex pattern ^[0-9]{1,19}$"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`}
			}
		case xDMPath.MatchString(r.URL.Path):
		default:
			return xProblemReply(404, "Not Found Error", "Not Found")
		}
		return nil
	}
	success := func(n int, r *http.Request, b map[string]any) reply {
		if r.URL.Path == "/2/tweets" {
			return reply{status: 201, body: fmt.Sprintf(`{"data":{"id":"18%d","edit_history_tweet_ids":["18%d"],"text":%q}}`, n, n, str(b, "text"))}
		}
		return reply{status: 201, body: fmt.Sprintf(`{"data":{"dm_conversation_id":"1-%s","dm_event_id":"19%d"}}`, xDMPath.FindStringSubmatch(r.URL.Path)[1], n)}
	}
	return newFake(t, validate, success)
}

func googleErr(status int, reason, msg string) *reply {
	return &reply{status: status, body: fmt.Sprintf(`{"error":{"code":%d,"message":%q,"errors":[{"message":%q,"domain":"youtube.comment","reason":%q}]}}`, status, msg, msg, reason)}
}

// newYouTube fakes comments.insert of the YouTube Data API.
func newYouTube(t *testing.T, token string) *fake {
	validate := func(r *http.Request, b map[string]any) *reply {
		if r.URL.Path != "/youtube/v3/comments" {
			return &reply{status: 404, body: `Not Found`}
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			return &reply{status: 401, body: `{"error":{"code":401,"message":"Request had invalid authentication credentials.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError"}],"status":"UNAUTHENTICATED"}}`}
		}
		if r.URL.Query().Get("part") != "snippet" {
			return googleErr(400, "missingRequiredParameter", "No filter selected. Expected one of: part")
		}
		if str(b, "snippet", "textOriginal") == "" {
			return googleErr(400, "commentTextRequired", "The comment resource must contain a value for snippet.textOriginal.")
		}
		if str(b, "snippet", "parentId") == "" {
			return googleErr(400, "parentIdMissing", "The comment resource must contain a value for snippet.parentId.")
		}
		return nil
	}
	success := func(n int, r *http.Request, b map[string]any) reply {
		return reply{status: 200, body: fmt.Sprintf(`{"kind":"youtube#comment","id":"%s.r%d","snippet":{"parentId":%q,"textOriginal":%q}}`, str(b, "snippet", "parentId"), n, str(b, "snippet", "parentId"), str(b, "snippet", "textOriginal"))}
	}
	return newFake(t, validate, success)
}

func tgErr(code int, desc string) *reply {
	return &reply{status: code, body: fmt.Sprintf(`{"ok":false,"error_code":%d,"description":%q}`, code, desc)}
}

// newTelegram fakes sendMessage of the Bot API.
func newTelegram(t *testing.T, token string) *fake {
	validate := func(r *http.Request, b map[string]any) *reply {
		prefix := "/bot" + token + "/"
		if !strings.HasPrefix(r.URL.Path, "/bot") {
			return tgErr(404, "Not Found")
		}
		if !strings.HasPrefix(r.URL.Path, prefix) {
			return tgErr(401, "Unauthorized")
		}
		if r.URL.Path != prefix+"sendMessage" {
			return tgErr(404, "Not Found: method not found")
		}
		var chat string
		switch c := b["chat_id"].(type) {
		case float64:
			chat = strconv.FormatInt(int64(c), 10)
		case string:
			chat = c
		}
		if chat == "" {
			return tgErr(400, "Bad Request: chat_id is empty")
		}
		if str(b, "text") == "" {
			return tgErr(400, "Bad Request: message text is empty")
		}
		if rp, ok := b["reply_parameters"].(map[string]any); ok {
			if id, ok := rp["message_id"].(float64); !ok || id <= 0 {
				return tgErr(400, "Bad Request: can't parse reply parameters JSON object")
			}
		}
		return nil
	}
	success := func(n int, r *http.Request, b map[string]any) reply {
		chat, _ := b["chat_id"].(float64)
		return reply{status: 200, body: fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"date":1700000000,"chat":{"id":%d,"type":"private"},"text":%q}}`, 500+n, int64(chat), str(b, "text"))}
	}
	return newFake(t, validate, success)
}
