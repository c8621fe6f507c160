package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// currency returns the base currency when p may see money, else "".
func (h *handlers) currency(c echo.Context, p auth.Principal) (string, error) {
	if !p.SeesMoney() {
		return "", nil
	}
	st, err := h.Settings.Get(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return "", err
	}
	return st.BaseCurrency, nil
}

func (h *handlers) year() int { return h.Ledger.Now().Year() }

// filterFromQuery reads the list filter from query parameters.
func filterFromQuery(c echo.Context) (contact.Filter, error) {
	q := c.QueryParams()
	f := contact.Filter{Query: q.Get("q"), Platform: q.Get("platform"), Channel: q.Get("channel"), Label: q.Get("label"),
		Tier: q.Get("tier"), Country: q.Get("country"), City: q.Get("city"), IncomeBand: q.Get("income_band"),
		Industry: q.Get("industry"), JobTitle: q.Get("job_title"), Interest: q.Get("interest")}
	ints := []struct {
		name string
		dst  **int
	}{{"age_min", &f.AgeMin}, {"age_max", &f.AgeMax}}
	for _, p := range ints {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return f, apperr.Invalid("%s must be an integer", p.name)
			}
			*p.dst = &n
		}
	}
	int64s := []struct {
		name string
		dst  **int64
	}{{"total_min", &f.TotalMin}, {"total_max", &f.TotalMax}, {"direct_min", &f.DirectMin}, {"direct_max", &f.DirectMax},
		{"referral_min", &f.ReferralMin}, {"referral_max", &f.ReferralMax}, {"influence_min", &f.InfluenceMin}}
	for _, p := range int64s {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return f, apperr.Invalid("%s must be an integer (minor units)", p.name)
			}
			*p.dst = &n
		}
	}
	for k, v := range q {
		if name, ok := strings.CutPrefix(k, "custom."); ok && len(v) > 0 {
			if f.Custom == nil {
				f.Custom = map[string]string{}
			}
			f.Custom[name] = v[0]
		}
	}
	return f, nil
}

type listJSON struct {
	Items      []contactJSON `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

func (h *handlers) page(c echo.Context) (contact.Page, error) {
	limit, err := queryInt(c, "limit", 50, contact.MaxLimit)
	return contact.Page{Cursor: c.QueryParam("cursor"), Limit: limit}, err
}

func (h *handlers) listContacts(c echo.Context) error {
	p := web.Principal(c)
	f, err := filterFromQuery(c)
	if err != nil {
		return err
	}
	if f.UsesMoney() && !p.SeesMoney() {
		return apperr.Forbidden("filtering by money requires the manager role")
	}
	so, err := contact.ParseSort(c.QueryParam("sort"), p.SeesMoney())
	if err != nil {
		return err
	}
	pg, err := h.page(c)
	if err != nil {
		return err
	}
	cs, next, err := h.Contacts.List(c.Request().Context(), p.WorkspaceID, f, so, pg)
	if err != nil {
		return err
	}
	return h.writeList(c, p, cs, next)
}

func (h *handlers) writeList(c echo.Context, p auth.Principal, cs []contact.Contact, next string) error {
	cur, err := h.currency(c, p)
	if err != nil {
		return err
	}
	out := listJSON{Items: []contactJSON{}, NextCursor: next}
	for _, ct := range cs {
		out.Items = append(out.Items, toContactJSON(ct, p.SeesMoney(), cur, h.year()))
	}
	return c.JSON(http.StatusOK, out)
}

type createContactBody struct {
	Name       string                   `json:"name"`
	Email      string                   `json:"email"`
	Phone      string                   `json:"phone"`
	Attributes *contact.AttributesInput `json:"attributes"`
	Custom     map[string]any           `json:"custom"`
}

func (h *handlers) createContact(c echo.Context) error {
	p := web.Principal(c)
	var b createContactBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	if contact.NormalizeEmail(b.Email) == "" && contact.NormalizePhone(b.Phone) == "" {
		return apperr.Invalid("a contact needs a valid email or phone")
	}
	var attrs contact.AttributesInput
	if b.Attributes != nil {
		attrs = *b.Attributes
	}
	ct, err := h.Contacts.Create(c.Request().Context(), p.WorkspaceID, contact.Profile{Name: b.Name, Email: b.Email, Phone: b.Phone}, attrs, b.Custom)
	if err != nil {
		return err
	}
	return h.writeDetail(c, p, ct, "", http.StatusCreated)
}

func (h *handlers) getContact(c echo.Context) error {
	p := web.Principal(c)
	id := c.Param("id")
	ct, err := h.Contacts.Get(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	from := ""
	if ct.ID != id {
		from = id
	}
	return h.writeDetail(c, p, ct, from, http.StatusOK)
}

// writeDetail renders the full contact: everything merged into it, its
// referral neighbourhood, orders, monthly trend and conversations.
func (h *handlers) writeDetail(c echo.Context, p auth.Principal, ct contact.Contact, resolvedFrom string, status int) error {
	ctx := c.Request().Context()
	ws := p.WorkspaceID
	cur, err := h.currency(c, p)
	if err != nil {
		return err
	}
	money := p.SeesMoney()
	out := detailJSON{contactJSON: toContactJSON(ct, money, cur, h.year()), ResolvedFrom: resolvedFrom}
	if out.Members, err = h.Contacts.Members(ctx, ws, ct.ID); err != nil {
		return err
	}
	var inf contact.Influence
	if len(out.Members) > 1 {
		ms, err := h.contactsByID(c, ws, out.Members)
		if err != nil {
			return err
		}
		for _, m := range ms {
			inf.Comments += m.Influence.Comments
			inf.Mentions += m.Influence.Mentions
			inf.Shares += m.Influence.Shares
			inf.Score += m.Influence.Score
		}
		out.Influence = inf
	}
	if out.Identities, err = h.Contacts.Identities(ctx, ws, out.Members); err != nil {
		return err
	}
	out.Identities = nn(out.Identities)
	if ct.ReferredVia != "" {
		pid, err := h.Ledger.Canonical(ctx, ws, ct.ReferredVia)
		if err != nil {
			return err
		}
		parent, err := h.Contacts.Get(ctx, ws, pid)
		if err != nil {
			return err
		}
		b := brief(parent, money, cur)
		out.ReferredBy = &b
	}
	referred, err := h.Contacts.Referred(ctx, ws, out.Members, 100)
	if err != nil {
		return err
	}
	out.Referred = []briefJSON{}
	for _, r := range referred {
		out.Referred = append(out.Referred, brief(r, money, cur))
	}
	if money {
		orders, err := h.Ledger.OrdersOf(ctx, ws, out.Members, 0)
		if err != nil {
			return err
		}
		refunds, err := h.Ledger.RefundsOf(ctx, ws, out.Members)
		if err != nil {
			return err
		}
		out.Trend = ledger.Trend(orders, refunds)
		out.OrderList = []orderJSON{}
		for i, o := range orders {
			if i == 100 {
				break
			}
			out.OrderList = append(out.OrderList, toOrderJSON(o))
		}
	}
	convs, err := h.Contacts.Conversations(ctx, ws, out.Members, 100)
	if err != nil {
		return err
	}
	out.Conversations = nn(convs)
	audit, err := h.Contacts.Audit(ctx, ws, out.Members)
	if err != nil {
		return err
	}
	out.MergeHistory = nn(audit)
	return c.JSON(status, out)
}

func (h *handlers) contactsByID(c echo.Context, ws string, ids []string) ([]contact.Contact, error) {
	var out []contact.Contact
	for _, id := range ids {
		ct, err := h.Contacts.Raw(c.Request().Context(), ws, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ct)
	}
	return out, nil
}

func brief(ct contact.Contact, money bool, cur string) briefJSON {
	b := briefJSON{ID: ct.ID, Name: ct.Name, Tier: ct.Value.Tier}
	if money {
		b.Value = toValueJSON(ct, cur)
	}
	return b
}

type patchBody struct {
	contact.PatchInput
	Version int64 `json:"version,omitempty"`
}

func (h *handlers) patchContact(c echo.Context) error {
	p := web.Principal(c)
	var b patchBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	ct, err := h.Contacts.Update(c.Request().Context(), p.WorkspaceID, c.Param("id"), b.Version, b.PatchInput)
	if err != nil {
		return err
	}
	return h.writeDetail(c, p, ct, "", http.StatusOK)
}

type mergeBody struct {
	ContactID string `json:"contact_id"` // merged into the contact of the path
	Reason    string `json:"reason"`
}

func (h *handlers) merge(c echo.Context) error {
	p := web.Principal(c)
	var b mergeBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	if b.ContactID == "" {
		return apperr.Invalid("contact_id is required")
	}
	ctx := c.Request().Context()
	into := c.Param("id")
	// Both must exist in the caller's workspace: 404 otherwise.
	if _, err := h.Contacts.Get(ctx, p.WorkspaceID, into); err != nil {
		return err
	}
	if _, err := h.Contacts.Raw(ctx, p.WorkspaceID, b.ContactID); err != nil {
		return err
	}
	if err := h.Contacts.Merge(ctx, p.WorkspaceID, p.UserID, b.ContactID, into, b.Reason); err != nil {
		return err
	}
	ct, err := h.Contacts.Get(ctx, p.WorkspaceID, into)
	if err != nil {
		return err
	}
	return h.writeDetail(c, p, ct, "", http.StatusOK)
}

type unmergeBody struct {
	Reason string `json:"reason"`
}

func (h *handlers) unmerge(c echo.Context) error {
	p := web.Principal(c)
	var b unmergeBody
	if c.Request().ContentLength != 0 {
		if err := web.Bind(c, &b); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := h.Contacts.Unmerge(ctx, p.WorkspaceID, p.UserID, id, b.Reason); err != nil {
		return err
	}
	ct, err := h.Contacts.Get(ctx, p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return h.writeDetail(c, p, ct, "", http.StatusOK)
}

func (h *handlers) history(c echo.Context) error {
	p := web.Principal(c)
	ctx := c.Request().Context()
	ct, err := h.Contacts.Get(ctx, p.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	ids, err := h.Contacts.Members(ctx, p.WorkspaceID, ct.ID)
	if err != nil {
		return err
	}
	if !contains(ids, c.Param("id")) {
		ids = append(ids, c.Param("id"))
	}
	a, err := h.Contacts.Audit(ctx, p.WorkspaceID, ids)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nn(a)})
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (h *handlers) referralCode(c echo.Context) error {
	p := web.Principal(c)
	code, err := h.Contacts.ReferralCode(c.Request().Context(), p.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"contact_id": c.Param("id"), "referral_code": code})
}

type referrerBody struct {
	ReferrerID string `json:"referrer_id"`
}

func (h *handlers) setReferrer(c echo.Context) error {
	p := web.Principal(c)
	var b referrerBody
	if err := web.Bind(c, &b); err != nil {
		return err
	}
	if b.ReferrerID == "" {
		return apperr.Invalid("referrer_id is required")
	}
	ctx := c.Request().Context()
	l, err := h.Ledger.Link(ctx, p.WorkspaceID, c.Param("id"), b.ReferrerID)
	if err != nil {
		return contact.MapValueError(err)
	}
	return c.JSON(http.StatusOK, toLinkJSON(l))
}

func (h *handlers) topReferrers(c echo.Context) error {
	p := web.Principal(c)
	limit, err := queryInt(c, "limit", 20, contact.MaxLimit)
	if err != nil {
		return err
	}
	cs, err := h.Contacts.TopReferrers(c.Request().Context(), p.WorkspaceID, limit)
	if err != nil {
		return err
	}
	return h.writeList(c, p, cs, "")
}
