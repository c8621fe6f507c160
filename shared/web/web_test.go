package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/logging"
	"github.com/labstack/echo/v4"
)

func newTestServer(t *testing.T, ready error) (*echo.Echo, *auth.Tokens) {
	t.Helper()
	e, _ := New(logging.Discard(), Options{Service: "t", BodyLimit: "1K",
		Checks: map[string]func(context.Context) error{"db": func(context.Context) error { return ready }}})
	tk, _ := auth.NewTokens("0123456789abcdef0123", time.Minute)
	g := e.Group("/api", Authenticate(tk))
	g.POST("/echo", func(c echo.Context) error {
		var v struct {
			Name string `json:"name"`
		}
		if err := Bind(c, &v); err != nil {
			return err
		}
		return c.JSON(200, v)
	})
	g.GET("/admin", func(c echo.Context) error { return c.NoContent(204) }, RequireRole(auth.RoleAdmin))
	g.GET("/boom", func(c echo.Context) error { return errors.New("secret internal detail") })
	g.GET("/missing", func(c echo.Context) error { return apperr.NotFound("thing") })
	return e, tk
}

func do(e *echo.Echo, method, path, body, token string) (*httptest.ResponseRecorder, ErrorBody) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var eb ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &eb)
	return rec, eb
}

func TestErrorMappingAndAuth(t *testing.T) {
	e, tk := newTestServer(t, nil)
	agent, _, _ := tk.Issue(auth.Principal{UserID: "u", WorkspaceID: "w", Role: auth.RoleAgent})
	cases := []struct {
		method, path, body, token string
		status                    int
		code                      string
	}{
		{"POST", "/api/echo", `{"name":"x"}`, "", 401, "unauthorized"},
		{"POST", "/api/echo", `{"name":"x"}`, "forged.token.here", 401, "unauthorized"},
		{"POST", "/api/echo", `{"name":`, agent, 400, "invalid_argument"},
		{"POST", "/api/echo", `{"nope":1}`, agent, 400, "invalid_argument"},
		{"POST", "/api/echo", `{"name":"` + strings.Repeat("a", 2000) + `"}`, agent, 413, "payload_too_large"},
		{"GET", "/api/admin", "", agent, 403, "forbidden"},
		{"GET", "/api/boom", "", agent, 500, "internal"},
		{"GET", "/api/missing", "", agent, 404, "not_found"},
		{"GET", "/nowhere", "", "", 404, "not_found"},
	}
	for _, c := range cases {
		rec, eb := do(e, c.method, c.path, c.body, c.token)
		if rec.Code != c.status || eb.Error.Code != c.code {
			t.Errorf("%s %s: got %d %q (%s)", c.method, c.path, rec.Code, eb.Error.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), "secret internal detail") {
			t.Errorf("internal error text leaked")
		}
	}
	rec, _ := do(e, "POST", "/api/echo", `{"name":"ok"}`, agent)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("happy path: %d %s", rec.Code, rec.Body.String())
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e, _ := newTestServer(t, errors.New("down"))
	if rec, _ := do(e, "GET", "/healthz", "", ""); rec.Code != 200 {
		t.Fatalf("healthz %d", rec.Code)
	}
	rec, _ := do(e, "GET", "/readyz", "", "")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"db":"down"`) {
		t.Fatalf("readyz %d %s", rec.Code, rec.Body.String())
	}
	rec, _ = do(e, "GET", "/metrics", "", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "http_request_duration_seconds") {
		t.Fatalf("metrics %d", rec.Code)
	}
}
