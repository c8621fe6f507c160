// Package web is the HTTP transport every service shares: an echo server with the
// one error→HTTP mapping, JSON errors, body limits, access logs, Prometheus
// metrics, health and readiness endpoints, authentication middleware and
// graceful serving. Echo stays inside this package and the services' handlers.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/auth"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure New.
type Options struct {
	Service   string
	BodyLimit string // e.g. "1M"; echo's size syntax
	// Checks are run by /readyz; each must answer within ReadyTimeout.
	Checks map[string]func(context.Context) error
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// ReadyTimeout bounds each readiness check.
const ReadyTimeout = 2 * time.Second

// New returns an echo instance with the shared middleware, error mapping,
// /healthz, /readyz and /metrics installed, plus its Prometheus registry.
func New(log *slog.Logger, o Options) (*echo.Echo, *prometheus.Registry) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reqs := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "HTTP request latency by route and status.",
		ConstLabels: prometheus.Labels{"service": o.Service},
		Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route", "status"})
	reg.MustRegister(reqs)

	e.HTTPErrorHandler = errorHandler(log)
	e.Use(middleware.Recover())
	if o.BodyLimit != "" {
		e.Use(middleware.BodyLimit(o.BodyLimit))
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			st := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			reqs.WithLabelValues(c.Request().Method, route, strconv.Itoa(st)).Observe(time.Since(start).Seconds())
			if route != "/healthz" && route != "/metrics" && route != "/readyz" {
				log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
					slog.String("method", c.Request().Method), slog.String("route", route),
					slog.Int("status", st), slog.Duration("took", time.Since(start)))
			}
			return nil
		}
	})
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", readyHandler(o.Checks))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return e, reg
}

func readyHandler(checks map[string]func(context.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := map[string]string{}
		ok := true
		for name, check := range checks {
			ctx, cancel := context.WithTimeout(c.Request().Context(), ReadyTimeout)
			err := check(ctx)
			cancel()
			if err != nil {
				ok = false
				res[name] = "down"
				continue
			}
			res[name] = "up"
		}
		st := http.StatusOK
		if !ok {
			st = http.StatusServiceUnavailable
		}
		return c.JSON(st, map[string]any{"ready": ok, "checks": res})
	}
}

// errorHandler is the one place errors become HTTP responses.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, code, msg := mapError(err)
		if status >= 500 {
			log.ErrorContext(c.Request().Context(), "request failed", "route", c.Path(), "err", err)
		}
		var body ErrorBody
		body.Error.Code, body.Error.Message = string(code), msg
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, body)
	}
}

func mapError(err error) (int, apperr.Code, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && he.Code < 500 {
			msg = s
		}
		switch he.Code {
		case http.StatusNotFound:
			return he.Code, apperr.CodeNotFound, "route not found"
		case http.StatusMethodNotAllowed:
			return he.Code, apperr.CodeInvalid, "method not allowed"
		case http.StatusRequestEntityTooLarge:
			return he.Code, apperr.CodeTooLarge, "request body too large"
		case http.StatusUnauthorized:
			return he.Code, apperr.CodeUnauthorized, msg
		case http.StatusBadRequest:
			return he.Code, apperr.CodeInvalid, msg
		}
		if he.Code >= 500 {
			return http.StatusInternalServerError, apperr.CodeInternal, "internal error"
		}
		return he.Code, apperr.CodeInvalid, msg
	}
	return apperr.Status(err)
}

// Bind decodes the JSON request body into v, rejecting malformed JSON, unknown
// fields and trailing data with a 400, and oversize bodies with a 413.
func Bind(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			return apperr.New(apperr.CodeTooLarge, "request body too large")
		}
		if errors.Is(err, io.EOF) {
			return apperr.Invalid("request body is empty")
		}
		return apperr.Invalid("malformed JSON: %s", trimJSONErr(err))
	}
	if dec.More() {
		return apperr.Invalid("malformed JSON: trailing data")
	}
	return nil
}

func trimJSONErr(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

// ReadBody reads the raw request body up to limit bytes; larger bodies are a 413.
// Webhook handlers use it: signatures are computed over the exact bytes.
func ReadBody(c echo.Context, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			return nil, apperr.New(apperr.CodeTooLarge, "request body too large")
		}
		return nil, apperr.Invalid("could not read body")
	}
	if int64(len(b)) > limit {
		return nil, apperr.New(apperr.CodeTooLarge, "request body larger than %d bytes", limit)
	}
	return b, nil
}

// Serve runs srv until ctx is cancelled, then shuts it down within grace.
func Serve(ctx context.Context, log *slog.Logger, srv *http.Server, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		log.Info("listening", "addr", srv.Addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Principal returns the authenticated caller of c; Authenticate guarantees one.
func Principal(c echo.Context) auth.Principal {
	p, _ := auth.FromContext(c.Request().Context())
	return p
}

// Authenticate requires a valid bearer JWT and stores its principal in the request context.
func Authenticate(tokens *auth.Tokens) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, ok := BearerToken(c.Request())
			if !ok {
				return apperr.Unauthorized("missing bearer token")
			}
			p, err := tokens.Verify(tok)
			if err != nil {
				return apperr.Unauthorized("invalid or expired token")
			}
			r := c.Request()
			c.SetRequest(r.WithContext(auth.WithPrincipal(r.Context(), p)))
			return next(c)
		}
	}
}

// RequireRole refuses callers below role with 403.
func RequireRole(role auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !Principal(c).AtLeast(role) {
				return apperr.Forbidden("requires role %s", role)
			}
			return next(c)
		}
	}
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}
