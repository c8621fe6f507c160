package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

type workflowHandlers struct{ wf *workflow.Service }

// RegisterWorkflow installs the agents' routes: conversations, messages,
// assignment, status, bulk actions, labels, canned responses, audit and the
// agents directory. Every request records its caller in the directory.
func RegisterWorkflow(e *echo.Echo, tokens *auth.Tokens, wf *workflow.Service) {
	h := workflowHandlers{wf}
	g := e.Group("/api/v1", web.Authenticate(tokens), h.touch)
	agent := web.RequireRole(auth.RoleAgent)
	manager := web.RequireRole(auth.RoleManager)
	g.GET("/conversations", h.list, agent)
	g.POST("/conversations/bulk", h.bulk, agent)
	g.GET("/conversations/:id", h.get, agent)
	g.GET("/conversations/:id/messages", h.messages, agent)
	g.POST("/conversations/:id/messages", h.reply, agent)
	g.PUT("/conversations/:id/assignee", h.assign, agent)
	g.PUT("/conversations/:id/status", h.status, agent)
	g.PUT("/conversations/:id/labels", h.labels, agent)
	g.POST("/conversations/:id/read", h.read, agent)
	g.GET("/conversations/:id/audit", h.audit, agent)
	g.GET("/labels", h.listLabels, agent)
	g.POST("/labels", h.createLabel, manager)
	g.DELETE("/labels/:name", h.deleteLabel, manager)
	g.GET("/canned-responses", h.listCanned, agent)
	g.POST("/canned-responses", h.createCanned, agent)
	g.PUT("/canned-responses/:id", h.updateCanned, agent)
	g.DELETE("/canned-responses/:id", h.deleteCanned, agent)
	g.POST("/canned-responses/:id/render", h.renderCanned, agent)
	g.GET("/agents", h.agents, agent)
}

// touch records the caller in the agents directory; a failure there must not
// fail the request.
func (h workflowHandlers) touch(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		_ = h.wf.Touch(c.Request().Context(), web.Principal(c))
		return next(c)
	}
}

func (h workflowHandlers) list(c echo.Context) error {
	q := workflow.ListQuery{Status: c.QueryParam("status"), ChannelID: c.QueryParam("channel"), Kind: c.QueryParam("kind"),
		Assignee: c.QueryParam("assignee"), Label: c.QueryParam("label"), Priority: c.QueryParam("priority"),
		Q: c.QueryParam("q"), Sort: c.QueryParam("sort"), Cursor: c.QueryParam("cursor")}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return apperr.Invalid("limit must be a positive number")
		}
		q.Limit = n
	}
	page, err := h.wf.List(c.Request().Context(), web.Principal(c), q)
	if err != nil {
		return err
	}
	if page.Conversations == nil {
		page.Conversations = []workflow.Conversation{}
	}
	return c.JSON(http.StatusOK, page)
}

func (h workflowHandlers) get(c echo.Context) error {
	conv, err := h.wf.Get(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (h workflowHandlers) messages(c echo.Context) error {
	t, err := h.wf.Thread(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

type replyRequest struct {
	Text             string `json:"text"`
	Private          bool   `json:"private"`
	Mode             string `json:"mode"`
	ReplyTo          string `json:"reply_to"`
	CannedResponseID string `json:"canned_response_id"`
}

func (h workflowHandlers) reply(c echo.Context) error {
	var req replyRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	m, err := h.wf.Reply(c.Request().Context(), web.Principal(c), c.Param("id"), workflow.ReplyRequest{
		Text: req.Text, Private: req.Private, Mode: req.Mode, ReplyTo: req.ReplyTo, CannedResponseID: req.CannedResponseID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, m)
}

type assignRequest struct {
	UserID *string `json:"user_id"`
}

func (h workflowHandlers) assign(c echo.Context) error {
	var req assignRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	uid := ""
	if req.UserID != nil {
		uid = *req.UserID
	}
	conv, err := h.wf.Assign(c.Request().Context(), web.Principal(c), c.Param("id"), uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

type statusRequest struct {
	Status       string    `json:"status"`
	SnoozedUntil time.Time `json:"snoozed_until"`
}

func (h workflowHandlers) status(c echo.Context) error {
	var req statusRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	conv, err := h.wf.SetStatus(c.Request().Context(), web.Principal(c), c.Param("id"),
		conversation.Status(req.Status), req.SnoozedUntil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

type readRequest struct {
	IncomingCount int64 `json:"incoming_count"`
}

// read marks a conversation read; the body is optional.
func (h workflowHandlers) read(c echo.Context) error {
	var req readRequest
	if c.Request().ContentLength != 0 {
		if err := web.Bind(c, &req); err != nil {
			return err
		}
	}
	conv, err := h.wf.MarkRead(c.Request().Context(), web.Principal(c), c.Param("id"), req.IncomingCount)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

type labelsRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

func (h workflowHandlers) labels(c echo.Context) error {
	var req labelsRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	conv, err := h.wf.ChangeLabels(c.Request().Context(), web.Principal(c), c.Param("id"), req.Add, req.Remove)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

type bulkRequest struct {
	IDs          []string  `json:"ids"`
	Action       string    `json:"action"`
	UserID       string    `json:"user_id"`
	Labels       []string  `json:"labels"`
	Status       string    `json:"status"`
	SnoozedUntil time.Time `json:"snoozed_until"`
}

func (h workflowHandlers) bulk(c echo.Context) error {
	var req bulkRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	res, err := h.wf.Bulk(c.Request().Context(), web.Principal(c), workflow.BulkRequest{IDs: req.IDs, Action: req.Action,
		UserID: req.UserID, Labels: req.Labels, Status: conversation.Status(req.Status), SnoozedUntil: req.SnoozedUntil})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"results": res})
}

func (h workflowHandlers) audit(c echo.Context) error {
	entries, err := h.wf.Audit(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []workflow.AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"audit": entries})
}

func (h workflowHandlers) listLabels(c echo.Context) error {
	ls, err := h.wf.Labels(c.Request().Context(), web.Principal(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"labels": ls})
}

type labelRequest struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

func (h workflowHandlers) createLabel(c echo.Context) error {
	var req labelRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	l, err := h.wf.CreateLabel(c.Request().Context(), web.Principal(c).WorkspaceID, workflow.Label{Name: req.Name, Color: req.Color})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, l)
}

func (h workflowHandlers) deleteLabel(c echo.Context) error {
	if err := h.wf.DeleteLabel(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h workflowHandlers) listCanned(c echo.Context) error {
	rs, err := h.wf.CannedResponses(c.Request().Context(), web.Principal(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"canned_responses": rs})
}

type cannedRequest struct {
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

func (h workflowHandlers) createCanned(c echo.Context) error {
	return h.saveCanned(c, "", http.StatusCreated)
}

func (h workflowHandlers) updateCanned(c echo.Context) error {
	return h.saveCanned(c, c.Param("id"), http.StatusOK)
}

func (h workflowHandlers) saveCanned(c echo.Context, id string, status int) error {
	var req cannedRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	r, err := h.wf.SaveCannedResponse(c.Request().Context(), web.Principal(c), workflow.CannedResponse{
		ID: id, Shortcut: req.Shortcut, Title: req.Title, Text: req.Text})
	if err != nil {
		return err
	}
	return c.JSON(status, r)
}

func (h workflowHandlers) deleteCanned(c echo.Context) error {
	if err := h.wf.DeleteCannedResponse(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type renderRequest struct {
	ConversationID string `json:"conversation_id"`
}

func (h workflowHandlers) renderCanned(c echo.Context) error {
	var req renderRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	r, err := h.wf.RenderCannedResponse(c.Request().Context(), web.Principal(c), c.Param("id"), req.ConversationID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (h workflowHandlers) agents(c echo.Context) error {
	as, err := h.wf.Agents(c.Request().Context(), web.Principal(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"agents": as})
}
