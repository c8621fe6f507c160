package realtime

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Handler serves GET /ws. Tokens come from an "Authorization: Bearer" header
// or, for browsers (which cannot set headers on a websocket), from a first
// message {"type":"auth","token":...} within Config.AuthTimeout. Tokens in
// the query string are not accepted: they end up in access logs.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serveWS) }

var errUnauthorized = errors.New("realtime: unauthorized")

func (h *Hub) upgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		HandshakeTimeout: writeWait,
		ReadBufferSize:   readBufferSize,
		WriteBufferSize:  writeBufferSize,
		WriteBufferPool:  writeBufferPool,
		CheckOrigin:      h.cfg.CheckOrigin,
	}
}

func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if !h.running.Load() || h.stopping() {
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	ws, err := h.upgrade.Upgrade(corkingResponse{w}, r, nil)
	if err != nil {
		return // Upgrade has answered with an HTTP error
	}
	ws.SetReadLimit(maxMessageSize)
	p, err := h.authenticate(ws, bearerToken(r.Header.Get("Authorization")))
	if err != nil {
		h.log.Debug("websocket refused", "remote", r.RemoteAddr, "err", err)
		refuse(ws, CloseUnauthorized, "unauthorized")
		return
	}
	c := &conn{
		hub:      h,
		shard:    h.shardFor(p.WorkspaceID),
		ws:       ws,
		raw:      ws.NetConn().(*corkConn),
		p:        p,
		session:  rand.Text(),
		send:     newSendQueue(h.cfg.SendQueue, h.cfg.SendQueueBytes),
		notify:   make(chan struct{}, 1),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if !c.shard.call(func(s *shard) { s.register(c) }) {
		refuse(ws, websocket.CloseGoingAway, "server shutting down")
		return
	}
	// The read pump gets a goroutine of its own so this one, whose stack grew
	// serving HTTP, can end; the writer starts with the first frame queued.
	h.conns.Add(1)
	go c.readPump(h.ctx)
}

// authenticate resolves the connection's principal from the header token or
// the first message.
func (h *Hub) authenticate(ws *websocket.Conn, token string) (Principal, error) {
	deadline := time.Now().Add(h.cfg.AuthTimeout)
	if token == "" {
		_ = ws.SetReadDeadline(deadline)
		_, data, err := ws.ReadMessage()
		if err != nil {
			return Principal{}, err
		}
		m, err := parseClientMessage(data)
		if err != nil || m.Type != msgAuth {
			return Principal{}, errUnauthorized
		}
		token = m.Token
	}
	ctx, cancel := context.WithDeadline(h.ctx, deadline)
	defer cancel()
	p, err := h.cfg.Auth.Authenticate(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	if p.WorkspaceID == "" || p.UserID == "" || len(p.UserID) > maxIDLength || len(p.WorkspaceID) > maxIDLength {
		return Principal{}, errUnauthorized
	}
	return p, nil
}

// refuse closes a connection that never reached the pumps, giving the peer
// closeGrace to read the close frame and answer.
func refuse(ws *websocket.Conn, code int, text string) {
	defer ws.Close()
	msg := websocket.FormatCloseMessage(code, text)
	if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait)); err != nil {
		return
	}
	_ = ws.SetReadDeadline(time.Now().Add(closeGrace))
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header.
func bearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// corkingResponse hands gorilla a connection the write pump can cork.
type corkingResponse struct{ http.ResponseWriter }

// Hijack takes over the connection, wrapped in a corkConn.
func (w corkingResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &corkConn{Conn: nc}, brw, nil
}
