package api

import (
	"net/http"
	"time"

	"github.com/communityinbox/inbox/routing"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// RoutingDeps is what the auto-assignment routes need.
type RoutingDeps struct {
	Routing *routing.Service
	Tokens  *auth.Tokens
}

type routingHandlers struct{ RoutingDeps }

// RegisterRouting installs the auto-assignment settings and agent
// availability routes on e.
func RegisterRouting(e *echo.Echo, d RoutingDeps) {
	h := routingHandlers{d}
	g := e.Group("/api/v1", web.Authenticate(d.Tokens))
	g.GET("/channels/:id/assignment", h.getAssignment, web.RequireRole(auth.RoleAgent))
	g.PUT("/channels/:id/assignment", h.putAssignment, web.RequireRole(auth.RoleManager))
	g.PUT("/agents/me/availability", h.putAvailability, web.RequireRole(auth.RoleAgent))
	// GET /agents is the workflow's agents directory; availability and
	// open load are listed here.
	g.GET("/agents/availability", h.listAgents, web.RequireRole(auth.RoleAgent))
	g.PUT("/agents/:id", h.putAgent, web.RequireRole(auth.RoleAdmin))
}

type assignmentJSON struct {
	ChannelID string `json:"channel_id"`
	Auto      bool   `json:"auto"`
	Capacity  int    `json:"capacity"`
}

func (h routingHandlers) getAssignment(c echo.Context) error {
	cs, err := h.Routing.ChannelSettings(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assignmentJSON{ChannelID: cs.ChannelID, Auto: cs.Auto, Capacity: cs.Capacity})
}

func (h routingHandlers) putAssignment(c echo.Context) error {
	var req assignmentJSON
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	cs := routing.ChannelSettings{ChannelID: c.Param("id"), Auto: req.Auto, Capacity: req.Capacity}
	if err := h.Routing.PutChannelSettings(c.Request().Context(), web.Principal(c).WorkspaceID, cs); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, assignmentJSON{ChannelID: cs.ChannelID, Auto: cs.Auto, Capacity: cs.Capacity})
}

type agentJSON struct {
	UserID    string    `json:"user_id"`
	Name      string    `json:"name,omitempty"`
	Status    string    `json:"status"`
	Capacity  int       `json:"capacity"` // the agent's own capacity; 0: the channels'
	Load      int       `json:"open_load"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toAgentJSON(a routing.Agent, load int) agentJSON {
	return agentJSON{UserID: a.UserID, Name: a.Name, Status: string(a.Status), Capacity: a.Capacity, Load: load, UpdatedAt: a.UpdatedAt}
}

type availabilityRequest struct {
	Status string `json:"status"`
}

func (h routingHandlers) putAvailability(c echo.Context) error {
	var req availabilityRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	p := web.Principal(c)
	a, err := h.Routing.SetAvailability(c.Request().Context(), p.WorkspaceID, p.UserID, p.Name, routing.Availability(req.Status))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAgentJSON(a, 0))
}

func (h routingHandlers) listAgents(c echo.Context) error {
	agents, err := h.Routing.Agents(c.Request().Context(), web.Principal(c).WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]agentJSON, len(agents))
	for i, a := range agents {
		out[i] = toAgentJSON(a.Agent, a.Load)
	}
	return c.JSON(http.StatusOK, map[string]any{"agents": out})
}

type agentRequest struct {
	Capacity int `json:"capacity"`
}

func (h routingHandlers) putAgent(c echo.Context) error {
	var req agentRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	a, err := h.Routing.SetCapacity(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"), req.Capacity)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAgentJSON(a, 0))
}
