// Package account holds workspaces, their users and API keys: who may sign in,
// with which role, and the first-run bootstrap of an empty installation.
package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
)

// Workspace is one tenant: a brand's team and all its data.
type Workspace struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who signs in to a workspace.
type User struct {
	ID           string
	WorkspaceID  string
	Email        string
	Name         string
	Role         auth.Role
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
}

// APIKey lets an integration call the API on behalf of a workspace. Only its
// hash is stored; the key itself is shown once, at creation.
type APIKey struct {
	ID          string
	WorkspaceID string
	Name        string
	Hash        string
	CreatedBy   string
	CreatedAt   time.Time
}

// Storer persists accounts. Every method but the login lookups is scoped by workspace.
type Storer interface {
	CountWorkspaces(ctx context.Context) (int64, error)
	CreateWorkspace(ctx context.Context, w Workspace) error
	Workspace(ctx context.Context, id string) (Workspace, error)
	CreateUser(ctx context.Context, u User) error
	UserByEmail(ctx context.Context, email string) (User, error)
	User(ctx context.Context, workspaceID, id string) (User, error)
	Users(ctx context.Context, workspaceID string) ([]User, error)
	UpdateUser(ctx context.Context, u User) error
	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	APIKeys(ctx context.Context, workspaceID string) ([]APIKey, error)
	DeleteAPIKey(ctx context.Context, workspaceID, id string) error
}

// Core is the account business logic.
type Core struct {
	store  Storer
	tokens *auth.Tokens
	now    func() time.Time
}

// NewCore returns the account logic over store, issuing tokens with tokens.
func NewCore(store Storer, tokens *auth.Tokens) *Core {
	return &Core{store: store, tokens: tokens, now: time.Now}
}

// ErrBadCredentials is returned for an unknown email or a wrong password, alike,
// so a caller cannot probe which emails exist.
var ErrBadCredentials = apperr.Unauthorized("invalid email or password")

// Bootstrap creates a workspace and its first admin when the installation has no
// workspace yet. It reports whether it created anything.
func (c *Core) Bootstrap(ctx context.Context, workspaceName, email, password string) (bool, error) {
	n, err := c.store.CountWorkspaces(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if email == "" || password == "" {
		return false, errors.New("bootstrap: ADMIN_EMAIL and ADMIN_PASSWORD are required on first run")
	}
	ws, err := c.CreateWorkspace(ctx, workspaceName)
	if err != nil {
		return false, err
	}
	_, err = c.CreateUser(ctx, ws.ID, NewUser{Email: email, Name: "Admin", Role: auth.RoleAdmin, Password: password})
	return err == nil, err
}

// CreateWorkspace creates an empty workspace.
func (c *Core) CreateWorkspace(ctx context.Context, name string) (Workspace, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Workspace{}, apperr.Invalid("workspace name is required")
	}
	w := Workspace{ID: auth.RandomID(), Name: name, CreatedAt: c.now().UTC()}
	if err := c.store.CreateWorkspace(ctx, w); err != nil {
		return Workspace{}, fmt.Errorf("create workspace: %w", err)
	}
	return w, nil
}

// NewUser is what an admin supplies to create a user.
type NewUser struct {
	Email    string
	Name     string
	Role     auth.Role
	Password string
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

// CreateUser adds a user to a workspace. Emails are unique across the installation
// because they are the login name.
func (c *Core) CreateUser(ctx context.Context, workspaceID string, nu NewUser) (User, error) {
	email, err := normalizeEmail(nu.Email)
	if err != nil {
		return User{}, err
	}
	if !auth.ValidUserRole(nu.Role) {
		return User{}, apperr.Invalid("role must be admin, manager or agent")
	}
	if len(nu.Password) < MinPasswordLen {
		return User{}, apperr.Invalid("password must be at least %d characters", MinPasswordLen)
	}
	hash, err := auth.HashPassword(nu.Password)
	if err != nil {
		return User{}, err
	}
	name := strings.TrimSpace(nu.Name)
	if name == "" {
		name = strings.Split(email, "@")[0]
	}
	u := User{ID: auth.RandomID(), WorkspaceID: workspaceID, Email: email, Name: name, Role: nu.Role,
		PasswordHash: hash, CreatedAt: c.now().UTC()}
	if err := c.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, apperr.ErrConflict) {
			return User{}, apperr.Conflict("a user with this email already exists")
		}
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Login checks credentials and returns a token for the user.
func (c *Core) Login(ctx context.Context, email, password string) (string, time.Time, User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return "", time.Time{}, User{}, ErrBadCredentials
	}
	u, err := c.store.UserByEmail(ctx, email)
	if errors.Is(err, apperr.ErrNotFound) {
		// Hash anyway so an unknown email costs as much time as a wrong password.
		auth.CheckPassword(dummyHash(), password)
		return "", time.Time{}, User{}, ErrBadCredentials
	}
	if err != nil {
		return "", time.Time{}, User{}, fmt.Errorf("login: %w", err)
	}
	if !auth.CheckPassword(u.PasswordHash, password) || u.Disabled {
		return "", time.Time{}, User{}, ErrBadCredentials
	}
	tok, exp, err := c.tokens.Issue(Principal(u))
	if err != nil {
		return "", time.Time{}, User{}, err
	}
	return tok, exp, u, nil
}

// dummyHash is a bcrypt hash of a random string, compared against on unknown emails.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword(auth.RandomID())
	return h
})

// Principal is the token identity of u.
func Principal(u User) auth.Principal {
	return auth.Principal{UserID: u.ID, WorkspaceID: u.WorkspaceID, Role: u.Role, Name: u.Name, Email: u.Email}
}

// Me returns the caller's user and workspace.
func (c *Core) Me(ctx context.Context, p auth.Principal) (User, Workspace, error) {
	u, err := c.store.User(ctx, p.WorkspaceID, p.UserID)
	if err != nil {
		return User{}, Workspace{}, err
	}
	w, err := c.store.Workspace(ctx, p.WorkspaceID)
	return u, w, err
}

// User returns a user of the caller's workspace.
func (c *Core) User(ctx context.Context, p auth.Principal, id string) (User, error) {
	return c.store.User(ctx, p.WorkspaceID, id)
}

// Users lists the users of the caller's workspace.
func (c *Core) Users(ctx context.Context, p auth.Principal) ([]User, error) {
	return c.store.Users(ctx, p.WorkspaceID)
}

// UserPatch changes a user; nil fields stay as they are.
type UserPatch struct {
	Name     *string
	Role     *auth.Role
	Disabled *bool
	Password *string
}

// UpdateUser applies an admin's changes to a user of the same workspace. An admin
// cannot demote or disable themselves, so a workspace always keeps an admin.
func (c *Core) UpdateUser(ctx context.Context, p auth.Principal, id string, patch UserPatch) (User, error) {
	u, err := c.store.User(ctx, p.WorkspaceID, id)
	if err != nil {
		return User{}, err
	}
	if patch.Name != nil {
		if strings.TrimSpace(*patch.Name) == "" {
			return User{}, apperr.Invalid("name must not be empty")
		}
		u.Name = strings.TrimSpace(*patch.Name)
	}
	if patch.Role != nil {
		if !auth.ValidUserRole(*patch.Role) {
			return User{}, apperr.Invalid("role must be admin, manager or agent")
		}
		if u.ID == p.UserID && *patch.Role != auth.RoleAdmin {
			return User{}, apperr.Invalid("admins cannot change their own role")
		}
		u.Role = *patch.Role
	}
	if patch.Disabled != nil {
		if u.ID == p.UserID && *patch.Disabled {
			return User{}, apperr.Invalid("admins cannot disable themselves")
		}
		u.Disabled = *patch.Disabled
	}
	if patch.Password != nil {
		if len(*patch.Password) < MinPasswordLen {
			return User{}, apperr.Invalid("password must be at least %d characters", MinPasswordLen)
		}
		if u.PasswordHash, err = auth.HashPassword(*patch.Password); err != nil {
			return User{}, err
		}
	}
	if err := c.store.UpdateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// CreateAPIKey creates a key for the caller's workspace and returns it with the
// plain key, which is never shown again.
func (c *Core) CreateAPIKey(ctx context.Context, p auth.Principal, name string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return APIKey{}, "", apperr.Invalid("name is required")
	}
	key, hash, err := auth.NewAPIKey()
	if err != nil {
		return APIKey{}, "", err
	}
	k := APIKey{ID: auth.RandomID(), WorkspaceID: p.WorkspaceID, Name: name, Hash: hash, CreatedBy: p.UserID, CreatedAt: c.now().UTC()}
	if err := c.store.CreateAPIKey(ctx, k); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, key, nil
}

// APIKeys lists the caller's workspace keys (without secrets).
func (c *Core) APIKeys(ctx context.Context, p auth.Principal) ([]APIKey, error) {
	return c.store.APIKeys(ctx, p.WorkspaceID)
}

// DeleteAPIKey revokes a key of the caller's workspace.
func (c *Core) DeleteAPIKey(ctx context.Context, p auth.Principal, id string) error {
	return c.store.DeleteAPIKey(ctx, p.WorkspaceID, id)
}

// ResolveAPIKey returns the integration principal of key, or ErrInvalidToken.
func (c *Core) ResolveAPIKey(ctx context.Context, key string) (auth.Principal, error) {
	k, err := c.store.APIKeyByHash(ctx, auth.HashAPIKey(key))
	if errors.Is(err, apperr.ErrNotFound) {
		return auth.Principal{}, auth.ErrInvalidToken
	}
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{UserID: "apikey:" + k.ID, WorkspaceID: k.WorkspaceID, Role: auth.RoleIntegration, Name: k.Name}, nil
}

func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", apperr.Invalid("a valid email is required")
	}
	return s, nil
}
