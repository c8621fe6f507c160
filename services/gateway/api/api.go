// Package api is the gateway's own HTTP surface: sign-in, the caller's identity,
// users and API keys. Everything else under /api is proxied to the services.
package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/communityinbox/gateway/account"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/communityinbox/shared/web"
	"github.com/labstack/echo/v4"
)

// Handlers serve the account routes.
type Handlers struct {
	core    *account.Core
	limiter *loginLimiter
}

// Register mounts the account routes on e.
func Register(e *echo.Echo, core *account.Core, tokens *auth.Tokens, loginPerMinute int) {
	h := &Handlers{core: core, limiter: newLoginLimiter(loginPerMinute, 5)}
	e.POST("/api/v1/auth/login", h.login)
	g := e.Group("/api/v1", web.Authenticate(tokens))
	g.GET("/me", h.me)
	g.GET("/users", h.listUsers)
	g.GET("/users/:id", h.getUser)
	g.POST("/users", h.createUser, web.RequireRole(auth.RoleAdmin))
	g.PATCH("/users/:id", h.updateUser, web.RequireRole(auth.RoleAdmin))
	g.GET("/api-keys", h.listKeys, web.RequireRole(auth.RoleAdmin))
	g.POST("/api-keys", h.createKey, web.RequireRole(auth.RoleAdmin))
	g.DELETE("/api-keys/:id", h.deleteKey, web.RequireRole(auth.RoleAdmin))
}

// User is the JSON form of a user.
type User struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        auth.Role `json:"role"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

func toAppUser(u account.User) User {
	return User{ID: u.ID, WorkspaceID: u.WorkspaceID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

// Workspace is the JSON form of a workspace.
type Workspace struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

func (h *Handlers) login(c echo.Context) error {
	var req loginRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	if !h.limiter.allow(c.RealIP(), strings.ToLower(strings.TrimSpace(req.Email))) {
		c.Response().Header().Set("Retry-After", "60")
		return apperr.New(apperr.CodeRateLimited, "too many login attempts, try again in a minute")
	}
	tok, exp, u, err := h.core.Login(c.Request().Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{Token: tok, ExpiresAt: exp, User: toAppUser(u)})
}

func (h *Handlers) me(c echo.Context) error {
	u, w, err := h.core.Me(c.Request().Context(), web.Principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"user": toAppUser(u), "workspace": Workspace{ID: w.ID, Name: w.Name}})
}

func (h *Handlers) listUsers(c echo.Context) error {
	us, err := h.core.Users(c.Request().Context(), web.Principal(c))
	if err != nil {
		return err
	}
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = toAppUser(u)
	}
	return c.JSON(http.StatusOK, map[string]any{"users": out})
}

func (h *Handlers) getUser(c echo.Context) error {
	u, err := h.core.User(c.Request().Context(), web.Principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAppUser(u))
}

type createUserRequest struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     auth.Role `json:"role"`
	Password string    `json:"password"`
}

func (h *Handlers) createUser(c echo.Context) error {
	var req createUserRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	u, err := h.core.CreateUser(c.Request().Context(), web.Principal(c).WorkspaceID,
		account.NewUser{Email: req.Email, Name: req.Name, Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toAppUser(u))
}

type updateUserRequest struct {
	Name     *string    `json:"name"`
	Role     *auth.Role `json:"role"`
	Disabled *bool      `json:"disabled"`
	Password *string    `json:"password"`
}

func (h *Handlers) updateUser(c echo.Context) error {
	var req updateUserRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	u, err := h.core.UpdateUser(c.Request().Context(), web.Principal(c), c.Param("id"),
		account.UserPatch{Name: req.Name, Role: req.Role, Disabled: req.Disabled, Password: req.Password})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAppUser(u))
}

// APIKey is the JSON form of an API key; Key is set only in the creation response.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Key       string    `json:"key,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func toAppKey(k account.APIKey) APIKey {
	return APIKey{ID: k.ID, Name: k.Name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
}

func (h *Handlers) createKey(c echo.Context) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	k, plain, err := h.core.CreateAPIKey(c.Request().Context(), web.Principal(c), req.Name)
	if err != nil {
		return err
	}
	out := toAppKey(k)
	out.Key = plain
	return c.JSON(http.StatusCreated, out)
}

func (h *Handlers) listKeys(c echo.Context) error {
	ks, err := h.core.APIKeys(c.Request().Context(), web.Principal(c))
	if err != nil {
		return err
	}
	out := make([]APIKey, len(ks))
	for i, k := range ks {
		out[i] = toAppKey(k)
	}
	return c.JSON(http.StatusOK, map[string]any{"api_keys": out})
}

func (h *Handlers) deleteKey(c echo.Context) error {
	if err := h.core.DeleteAPIKey(c.Request().Context(), web.Principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
