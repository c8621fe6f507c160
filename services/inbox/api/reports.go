package api

import (
	"net/http"
	"time"

	"github.com/communityinbox/inbox/metrics"
	"github.com/communityinbox/inbox/reporting"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// ReportDeps is what the report routes need.
type ReportDeps struct {
	Reports *reporting.Service
	Tokens  *auth.Tokens
}

type reportHandlers struct{ ReportDeps }

// RegisterReports installs the response report, target settings and
// business hours routes on e.
func RegisterReports(e *echo.Echo, d ReportDeps) {
	h := reportHandlers{d}
	g := e.Group("/api/v1", web.Authenticate(d.Tokens))
	g.GET("/reports/responses", h.responses, web.RequireRole(auth.RoleManager))
	g.GET("/reports/settings", h.getSettings, web.RequireRole(auth.RoleAgent))
	g.PUT("/reports/settings", h.putSettings, web.RequireRole(auth.RoleManager))
	g.GET("/channels/:id/business-hours", h.getHours, web.RequireRole(auth.RoleAgent))
	g.PUT("/channels/:id/business-hours", h.putHours, web.RequireRole(auth.RoleManager))
}

// settingsJSON carries targets as Go durations ("1h", "30m"); "" or "0s" is no target.
type settingsJSON struct {
	FirstResponseTarget string `json:"first_response_target"`
	ReplyTarget         string `json:"reply_target"`
	ResolutionTarget    string `json:"resolution_target"`
}

func formatTarget(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func parseTarget(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, apperr.Invalid("%s: want a duration such as 1h or 30m, got %q", name, s)
	}
	return d, nil
}

func toSettingsJSON(s reporting.Settings) settingsJSON {
	return settingsJSON{FirstResponseTarget: formatTarget(s.FirstResponseTarget), ReplyTarget: formatTarget(s.ReplyTarget),
		ResolutionTarget: formatTarget(s.ResolutionTarget)}
}

func (h reportHandlers) getSettings(c echo.Context) error {
	s, err := h.Reports.Settings(c.Request().Context(), web.Principal(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettingsJSON(s))
}

func (h reportHandlers) putSettings(c echo.Context) error {
	var req settingsJSON
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	var s reporting.Settings
	var err error
	if s.FirstResponseTarget, err = parseTarget("first_response_target", req.FirstResponseTarget); err != nil {
		return err
	}
	if s.ReplyTarget, err = parseTarget("reply_target", req.ReplyTarget); err != nil {
		return err
	}
	if s.ResolutionTarget, err = parseTarget("resolution_target", req.ResolutionTarget); err != nil {
		return err
	}
	if err := h.Reports.PutSettings(c.Request().Context(), web.Principal(c).WorkspaceID, s); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSettingsJSON(s))
}

type hoursJSON struct {
	ChannelID string                 `json:"channel_id"`
	Timezone  string                 `json:"timezone"`
	Hours     map[string][][2]string `json:"hours"`
}

func (h reportHandlers) getHours(c echo.Context) error {
	hrs, err := h.Reports.Hours(c.Request().Context(), web.Principal(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, hoursJSON{ChannelID: hrs.ChannelID, Timezone: hrs.Timezone, Hours: hrs.Week})
}

func (h reportHandlers) putHours(c echo.Context) error {
	var req hoursJSON
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	hrs := reporting.Hours{ChannelID: c.Param("id"), Timezone: req.Timezone, Week: req.Hours}
	if err := h.Reports.PutHours(c.Request().Context(), web.Principal(c).WorkspaceID, hrs); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, hoursJSON{ChannelID: hrs.ChannelID, Timezone: hrs.Timezone, Hours: hrs.Week})
}

type reportRowJSON struct {
	Group         string   `json:"group"`
	Count         int      `json:"count"`
	MedianSeconds float64  `json:"median_seconds"`
	P90Seconds    float64  `json:"p90_seconds"`
	ResponseRate  *float64 `json:"response_rate"` // null without a target for the kind
}

type reportJSON struct {
	From    time.Time                  `json:"from"`
	To      time.Time                  `json:"to"`
	GroupBy string                     `json:"group_by"`
	Kinds   map[string][]reportRowJSON `json:"kinds"`
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (midnight UTC).
func parseTime(name, s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, apperr.Invalid("%s: want RFC 3339 or YYYY-MM-DD, got %q", name, s)
}

func (h reportHandlers) responses(c echo.Context) error {
	to, err := parseTime("to", c.QueryParam("to"), time.Now().UTC())
	if err != nil {
		return err
	}
	from, err := parseTime("from", c.QueryParam("from"), to.AddDate(0, 0, -7))
	if err != nil {
		return err
	}
	by := c.QueryParam("group_by")
	if by == "" {
		by = string(metrics.ByAgent)
	}
	rep, err := h.Reports.Responses(c.Request().Context(), web.Principal(c).WorkspaceID, from, to, metrics.GroupBy(by))
	if err != nil {
		return err
	}
	out := reportJSON{From: rep.From, To: rep.To, GroupBy: string(rep.GroupBy), Kinds: map[string][]reportRowJSON{}}
	for kind, rows := range rep.Kinds {
		js := make([]reportRowJSON, len(rows))
		for i, r := range rows {
			js[i] = reportRowJSON{Group: r.Key, Count: r.Count, MedianSeconds: r.Median.Seconds(), P90Seconds: r.P90.Seconds(), ResponseRate: r.Rate}
		}
		out.Kinds[string(kind)] = js
	}
	return c.JSON(http.StatusOK, out)
}
