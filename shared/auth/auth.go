// Package auth holds who is calling: the Principal, its roles, the JWTs that carry
// it between the browser and every service, password hashing and API key secrets.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// Role is what a user may do inside a workspace.
type Role string

// Roles, from most to least powerful. Integration is the role of an API key.
const (
	RoleAdmin       Role = "admin"
	RoleManager     Role = "manager"
	RoleAgent       Role = "agent"
	RoleIntegration Role = "integration"
)

// ValidUserRole reports whether r can be given to a user.
func ValidUserRole(r Role) bool { return r == RoleAdmin || r == RoleManager || r == RoleAgent }

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID      string `json:"user_id"`
	WorkspaceID string `json:"workspace_id"`
	Role        Role   `json:"role"`
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
}

// AtLeast reports whether the principal's role is r or a more powerful one.
// Integrations rank with managers for data they post (orders, messages).
func (p Principal) AtLeast(r Role) bool { return rank(p.Role) >= rank(r) }

// SeesMoney reports whether the principal may see monetary values (managers and admins).
func (p Principal) SeesMoney() bool { return p.Role == RoleAdmin || p.Role == RoleManager }

func rank(r Role) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleManager, RoleIntegration:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// ErrInvalidToken is returned for a forged, malformed or expired token.
var ErrInvalidToken = errors.New("auth: invalid token")

// Tokens signs and verifies JWTs (HS256) carrying a Principal.
type Tokens struct {
	key    []byte
	ttl    time.Duration
	issuer string
	now    func() time.Time
}

// NewTokens returns a signer/verifier with the shared key and token lifetime.
func NewTokens(key string, ttl time.Duration) (*Tokens, error) {
	if len(key) < 16 {
		return nil, errors.New("auth: signing key must be at least 16 bytes")
	}
	return &Tokens{key: []byte(key), ttl: ttl, issuer: "communityinbox", now: time.Now}, nil
}

type claims struct {
	Workspace string `json:"ws"`
	Role      Role   `json:"role"`
	Name      string `json:"name,omitempty"`
	Email     string `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// Issue returns a signed token for p and its expiry.
func (t *Tokens) Issue(p Principal) (string, time.Time, error) {
	return t.IssueFor(p, t.ttl)
}

// IssueFor returns a signed token for p valid for ttl.
func (t *Tokens) IssueFor(p Principal, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	c := claims{Workspace: p.WorkspaceID, Role: p.Role, Name: p.Name, Email: p.Email,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: p.UserID, Issuer: t.issuer,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign: %w", err)
	}
	return s, exp, nil
}

// Verify checks the token's signature, algorithm, issuer and expiry.
func (t *Tokens) Verify(token string) (Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.issuer), jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.now))
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Subject == "" || c.Workspace == "" || rank(c.Role) == 0 {
		return Principal{}, ErrInvalidToken
	}
	return Principal{UserID: c.Subject, WorkspaceID: c.Workspace, Role: c.Role, Name: c.Name, Email: c.Email}, nil
}

// HashPassword returns a bcrypt hash of pw.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw matches hash, in constant time.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// APIKeyPrefix starts every API key, so leaked keys are easy to recognise and scan for.
const APIKeyPrefix = "cik_"

// NewAPIKey returns a fresh API key and the hash under which it is stored.
func NewAPIKey() (key, hash string, err error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	key = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return key, HashAPIKey(key), nil
}

// HashAPIKey returns the stored form of key. Keys are random, so a plain SHA-256 suffices.
func HashAPIKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// IsAPIKey reports whether s looks like an API key rather than a JWT.
func IsAPIKey(s string) bool { return strings.HasPrefix(s, APIKeyPrefix) }

// RandomID returns a random 16-byte hex identifier.
func RandomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
