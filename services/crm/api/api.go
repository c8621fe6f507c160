// Package api is the CRM's HTTP transport: routes, JSON models and the
// conversion of business values into them. Money fields are left out of every
// response for callers who may not see money (agents, integrations).
package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/segment"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// Deps are the services the handlers call.
type Deps struct {
	Tokens           *auth.Tokens
	Log              *slog.Logger
	Contacts         *contact.Service
	Ledger           *ledger.Service
	Orders           *order.Service
	Settings         *settings.Service
	Segments         *segment.Service
	WebhookBodyLimit int64
}

type handlers struct{ Deps }

// Register installs the CRM routes on e.
func Register(e *echo.Echo, d Deps) {
	h := &handlers{d}
	agent := web.RequireRole(auth.RoleAgent)
	manager := web.RequireRole(auth.RoleManager)
	admin := web.RequireRole(auth.RoleAdmin)
	g := e.Group("/api/v1", web.Authenticate(d.Tokens))

	g.GET("/contacts", h.listContacts, agent)
	g.POST("/contacts", h.createContact, agent)
	g.GET("/contacts/:id", h.getContact, agent)
	g.PATCH("/contacts/:id", h.patchContact, agent)
	g.POST("/contacts/:id/merge", h.merge, agent)
	g.POST("/contacts/:id/unmerge", h.unmerge, agent)
	g.GET("/contacts/:id/history", h.history, agent)
	g.POST("/contacts/:id/referral-code", h.referralCode, agent)
	g.PUT("/contacts/:id/referrer", h.setReferrer, agent)
	g.GET("/referrers/top", h.topReferrers, agent)

	g.POST("/orders", h.postOrder, manager) // integrations rank with managers
	g.GET("/orders/:external_id", h.getOrder, manager)
	g.POST("/orders/:external_id/refunds", h.postRefund, manager)

	g.GET("/segments", h.listSegments, agent)
	g.POST("/segments", h.createSegment, manager)
	g.GET("/segments/:id", h.getSegment, agent)
	g.DELETE("/segments/:id", h.deleteSegment, manager)
	g.GET("/segments/:id/contacts", h.segmentContacts, agent)
	g.GET("/segments/:id/count", h.segmentCount, agent)
	g.GET("/segments/:id/export.csv", h.segmentCSV, agent)

	g.GET("/crm/settings", h.getSettings, manager)
	g.PUT("/crm/settings", h.putSettings, admin)
	g.POST("/crm/recompute", h.recompute, admin)
	g.GET("/crm/attributes", h.listAttrs, agent)
	g.POST("/crm/attributes", h.defineAttr, manager)
	g.DELETE("/crm/attributes/:name", h.deleteAttr, manager)
	g.GET("/crm/integrations/shopify", h.listShopify, admin)
	g.POST("/crm/integrations/shopify", h.connectShopify, admin)
	g.DELETE("/crm/integrations/shopify/:id", h.disconnectShopify, admin)

	e.POST("/webhooks/shopify/:id", h.shopifyWebhook)
}

func queryInt(c echo.Context, name string, def, max int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, apperr.Invalid("%s must be a positive integer", name)
	}
	return min(n, max), nil
}

func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
