package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/order"
	"github.com/communityinbox/crm/settings"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

type orderBody struct {
	ExternalID   string         `json:"external_id"`
	Customer     order.Customer `json:"customer"`
	Currency     string         `json:"currency"`
	TotalMinor   int64          `json:"total_minor"`
	CreatedAt    *time.Time     `json:"created_at"`
	ReferralCode string         `json:"referral_code"`
}

type orderResultJSON struct {
	Order        orderJSON    `json:"order"`
	Duplicate    bool         `json:"duplicate"`
	ContactID    string       `json:"contact_id"`
	Referral     string       `json:"referral,omitempty"` // linked | already_referred | self_referral | cycle
	ReferrerID   string       `json:"referrer_id,omitempty"`
	ReferralCode string       `json:"referral_code,omitempty"`
	Refunds      []refundJSON `json:"applied_refunds,omitempty"`
}

func toOrderResult(r order.Result) orderResultJSON {
	out := orderResultJSON{Order: toOrderJSON(r.Order), Duplicate: r.Duplicate, ContactID: r.ContactID,
		Referral: string(r.Referral), ReferrerID: r.ReferrerID, ReferralCode: r.ReferralCode}
	for _, rf := range r.Refunds {
		out.Refunds = append(out.Refunds, toRefundJSON(rf, r.Order.ExternalID))
	}
	return out
}

func (h *handlers) postOrder(c echo.Context) error {
	p := web.Principal(c)
	var b orderBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	in := order.Input{Source: order.SourceAPI, ExternalID: b.ExternalID, Customer: b.Customer, Currency: b.Currency, TotalMinor: b.TotalMinor}
	if b.CreatedAt != nil {
		in.CreatedAt = *b.CreatedAt
	}
	if b.ReferralCode != "" {
		in.ReferralCodes = []string{b.ReferralCode}
	}
	r, err := h.Orders.Ingest(c.Request().Context(), p.WorkspaceID, in)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if r.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, toOrderResult(r))
}

func (h *handlers) getOrder(c echo.Context) error {
	p := web.Principal(c)
	o, err := h.Ledger.Order(c.Request().Context(), p.WorkspaceID, ledger.OrderKey(p.WorkspaceID, order.SourceAPI, c.Param("external_id")))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toOrderJSON(o))
}

type refundBody struct {
	AmountMinor int64  `json:"amount_minor"`
	RefundID    string `json:"refund_id"`
}

func (h *handlers) postRefund(c echo.Context) error {
	p := web.Principal(c)
	var b refundBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	ext := c.Param("external_id")
	r, err := h.Orders.Refund(c.Request().Context(), p.WorkspaceID, order.RefundInput{ExternalID: ext, RefundID: b.RefundID, AmountMinor: b.AmountMinor}, auth.RandomID)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if r.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"refund": toRefundJSON(r.Refund, ext), "order": toOrderJSON(r.Order), "duplicate": r.Duplicate})
}

// shopifyWebhook is unauthenticated: the HMAC over the raw body is the proof.
func (h *handlers) shopifyWebhook(c echo.Context) error {
	body, err := web.ReadBody(c, h.WebhookBodyLimit)
	if err != nil {
		return err
	}
	hd := c.Request().Header
	res, err := h.Orders.HandleWebhook(c.Request().Context(), order.Delivery{IntegrationID: c.Param("id"),
		HMAC: hd.Get("X-Shopify-Hmac-Sha256"), Topic: hd.Get("X-Shopify-Topic"), WebhookID: hd.Get("X-Shopify-Webhook-Id"),
		ShopDomain: hd.Get("X-Shopify-Shop-Domain"), Body: body})
	if err != nil {
		return err
	}
	out := map[string]any{"duplicate": res.Duplicate, "ignored": res.Ignored}
	if res.Refund != nil {
		out["refund_state"] = res.Refund.Refund.State
	}
	return c.JSON(http.StatusOK, out)
}

type connectBody struct {
	ShopDomain string `json:"shop_domain"`
	Secret     string `json:"secret"`
}

type integrationJSON struct {
	ID         string    `json:"id"`
	ShopDomain string    `json:"shop_domain"`
	WebhookURL string    `json:"webhook_url"`
	Topics     []string  `json:"topics"`
	CreatedAt  time.Time `json:"created_at"`
}

func (h *handlers) toIntegrationJSON(in order.Integration) integrationJSON {
	return integrationJSON{ID: in.ID, ShopDomain: in.ShopDomain, WebhookURL: h.Orders.WebhookURL(in.ID),
		Topics: []string{order.TopicOrderCreate, order.TopicRefundCreate}, CreatedAt: in.CreatedAt}
}

func (h *handlers) connectShopify(c echo.Context) error {
	p := web.Principal(c)
	var b connectBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	in, _, err := h.Orders.Connect(c.Request().Context(), p.WorkspaceID, b.ShopDomain, b.Secret)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.toIntegrationJSON(in))
}

func (h *handlers) listShopify(c echo.Context) error {
	p := web.Principal(c)
	ins, err := h.Orders.Integrations(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	out := []integrationJSON{}
	for _, in := range ins {
		out = append(out, h.toIntegrationJSON(in))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (h *handlers) disconnectShopify(c echo.Context) error {
	p := web.Principal(c)
	if err := h.Orders.Disconnect(c.Request().Context(), p.WorkspaceID, c.Param("id")); err != nil {
		return err
	}
	return noContent(c)
}

func (h *handlers) getSettings(c echo.Context) error {
	p := web.Principal(c)
	st, err := h.Settings.Get(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettingsJSON(st))
}

func (h *handlers) putSettings(c echo.Context) error {
	p := web.Principal(c)
	var in settings.Input
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	st, err := h.Settings.Put(c.Request().Context(), p.WorkspaceID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettingsJSON(st))
}

func (h *handlers) recompute(c echo.Context) error {
	p := web.Principal(c)
	st, err := h.Ledger.Recompute(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (h *handlers) listAttrs(c echo.Context) error {
	p := web.Principal(c)
	defs, err := h.Contacts.AttrDefs(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nn(defs)})
}

func (h *handlers) defineAttr(c echo.Context) error {
	p := web.Principal(c)
	var d contact.AttrDef
	if err := web.Bind(c, &d); err != nil {
		return err
	}
	if err := h.Contacts.DefineAttr(c.Request().Context(), p.WorkspaceID, d); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

func (h *handlers) deleteAttr(c echo.Context) error {
	p := web.Principal(c)
	if err := h.Contacts.DeleteAttr(c.Request().Context(), p.WorkspaceID, c.Param("name")); err != nil {
		return err
	}
	return noContent(c)
}

type segmentBody struct {
	Name   string         `json:"name"`
	Filter contact.Filter `json:"filter"`
}

type segmentJSON struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Filter    contact.Filter `json:"filter"`
	CreatedBy string         `json:"created_by"`
	CreatedAt time.Time      `json:"created_at"`
}

func (h *handlers) createSegment(c echo.Context) error {
	p := web.Principal(c)
	var b segmentBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	seg, err := h.Segments.Create(c.Request().Context(), p.WorkspaceID, p, b.Name, b.Filter)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, segmentJSON{ID: seg.ID, Name: seg.Name, Filter: seg.Filter, CreatedBy: seg.CreatedBy, CreatedAt: seg.CreatedAt})
}

func (h *handlers) listSegments(c echo.Context) error {
	p := web.Principal(c)
	segs, err := h.Segments.List(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	out := []segmentJSON{}
	for _, s := range segs {
		out = append(out, segmentJSON{ID: s.ID, Name: s.Name, Filter: s.Filter, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (h *handlers) getSegment(c echo.Context) error {
	p := web.Principal(c)
	s, err := h.Segments.Get(c.Request().Context(), p.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, segmentJSON{ID: s.ID, Name: s.Name, Filter: s.Filter, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt})
}

func (h *handlers) deleteSegment(c echo.Context) error {
	p := web.Principal(c)
	if err := h.Segments.Delete(c.Request().Context(), p.WorkspaceID, c.Param("id")); err != nil {
		return err
	}
	return noContent(c)
}

func (h *handlers) segmentContacts(c echo.Context) error {
	p := web.Principal(c)
	so, err := contact.ParseSort(c.QueryParam("sort"), p.SeesMoney())
	if err != nil {
		return err
	}
	pg, err := h.page(c)
	if err != nil {
		return err
	}
	cs, next, err := h.Segments.Contacts(c.Request().Context(), p.WorkspaceID, c.Param("id"), so, pg)
	if err != nil {
		return err
	}
	return h.writeList(c, p, cs, next)
}

func (h *handlers) segmentCount(c echo.Context) error {
	p := web.Principal(c)
	n, err := h.Segments.Count(c.Request().Context(), p.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"segment_id": c.Param("id"), "count": n})
}

// segmentCSV streams the segment as CSV, flushing as it goes so a large
// segment never sits in memory. Money columns appear for money viewers only.
func (h *handlers) segmentCSV(c echo.Context) error {
	p := web.Principal(c)
	ctx := c.Request().Context()
	seg, err := h.Segments.Get(ctx, p.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	cur, err := h.currency(c, p)
	if err != nil {
		return err
	}
	header := []string{"id", "name", "emails", "phones", "handles", "tier", "country", "city", "influence", "orders", "created_at"}
	if p.SeesMoney() {
		header = append(header, "currency", "direct_minor", "referral_minor", "total_minor")
	}
	resp := c.Response()
	resp.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	resp.Header().Set("Content-Disposition", `attachment; filename="segment-`+seg.ID+`.csv"`)
	resp.WriteHeader(http.StatusOK)
	w := csv.NewWriter(resp)
	_ = w.Write(header)
	n := 0
	err = h.Segments.Each(ctx, p.WorkspaceID, seg.ID, func(ct contact.Contact) error {
		row := []string{ct.ID, safeCell(ct.Name), safeCell(strings.Join(ct.Emails, " ")), strings.Join(ct.Phones, " "),
			safeCell(strings.Join(ct.Handles, " ")), ct.Value.Tier, ct.Attributes.Country, safeCell(ct.Attributes.City),
			strconv.FormatInt(ct.Influence.Score, 10), strconv.Itoa(ct.Value.Orders), ct.CreatedAt.Format(time.RFC3339)}
		if p.SeesMoney() {
			row = append(row, cur, strconv.FormatInt(ct.Value.Direct, 10), strconv.FormatInt(ct.Value.Referral, 10), strconv.FormatInt(ct.Value.Total, 10))
		}
		if err := w.Write(row); err != nil {
			return err
		}
		if n++; n%200 == 0 {
			w.Flush()
			resp.Flush()
		}
		return w.Error()
	})
	w.Flush()
	if err != nil {
		// The status is sent; all that is left is to log and cut the stream.
		h.Log.ErrorContext(ctx, "csv export failed", "segment", seg.ID, "err", err)
		return nil
	}
	return w.Error()
}

// safeCell defuses spreadsheet formulas in user-controlled text.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
