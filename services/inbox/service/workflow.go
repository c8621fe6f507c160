package service

import (
	"context"
	"net/http"
	"time"

	"github.com/communityinbox/inbox/api"
	"github.com/communityinbox/inbox/channel"
	"github.com/communityinbox/inbox/connector"
	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/inbox/workflow/workflowdb"
	"github.com/communityinbox/shared/boot"
	"github.com/labstack/echo/v4"
)

// WorkflowConfig configures the agents' workflow: where replies are sent and
// how the outbox retries.
type WorkflowConfig struct {
	GraphURL       string        `env:"GRAPH_API_URL" default:"https://graph.facebook.com" help:"Graph API base URL (Facebook, Instagram, WhatsApp replies)"`
	GraphVersion   string        `env:"GRAPH_API_VERSION" default:"v25.0" help:"Graph API version"`
	XURL           string        `env:"X_API_URL" default:"https://api.x.com" help:"X API base URL"`
	YouTubeSendURL string        `env:"YOUTUBE_SEND_URL" default:"https://www.googleapis.com" help:"Google APIs base URL for YouTube replies"`
	TelegramURL    string        `env:"TELEGRAM_API_URL" default:"https://api.telegram.org" help:"Telegram Bot API base URL"`
	SendTimeout    time.Duration `env:"INBOX_SEND_TIMEOUT" default:"15s" help:"timeout of one platform call"`
	SendAttempts   int           `env:"INBOX_SEND_ATTEMPTS" default:"3" help:"platform calls per outbox claim (retryable failures)"`
	SendBackoff    time.Duration `env:"INBOX_SEND_BACKOFF" default:"500ms" help:"first wait between platform calls"`
	OutboxClaims   int           `env:"INBOX_OUTBOX_CLAIMS" default:"5" help:"claims of a retryable send before it is marked failed"`
	OutboxBackoff  time.Duration `env:"INBOX_OUTBOX_BACKOFF" default:"10s" help:"wait before a send's second claim; doubles"`
	OutboxLease    time.Duration `env:"INBOX_OUTBOX_LEASE" default:"2m" help:"time after which a send claimed by a dead worker is claimed again"`
	WorkflowPoll   time.Duration `env:"INBOX_WORKFLOW_POLL" default:"1s" help:"idle poll interval of the outbox and snooze workers"`
}

// newWorkflow builds the agents' workflow and installs its routes on e.
func newWorkflow(ctx context.Context, cfg Config, in *boot.Infra, e *echo.Echo, channels *channel.Service) (*workflow.Service, error) {
	store, err := workflowdb.New(ctx, in.DB)
	if err != nil {
		return nil, err
	}
	w := cfg.WorkflowConfig
	hc := &http.Client{Timeout: w.SendTimeout}
	router := connector.Router{
		connector.Facebook:  connector.NewFacebook(connector.Config{BaseURL: w.GraphURL, Version: w.GraphVersion, HTTP: hc}),
		connector.Instagram: connector.NewInstagram(connector.Config{BaseURL: w.GraphURL, Version: w.GraphVersion, HTTP: hc}),
		connector.WhatsApp:  connector.NewWhatsApp(connector.Config{BaseURL: w.GraphURL, Version: w.GraphVersion, HTTP: hc}),
		connector.X:         connector.NewX(connector.Config{BaseURL: w.XURL, HTTP: hc}),
		connector.YouTube:   connector.NewYouTube(connector.Config{BaseURL: w.YouTubeSendURL, HTTP: hc}),
		connector.Telegram:  connector.NewTelegram(connector.Config{BaseURL: w.TelegramURL, HTTP: hc}),
	}
	wf := workflow.NewService(store, channels, in.Bus, in.Log, workflow.Options{
		Sender: router, Ledger: store.Ledger(),
		Policy:         connector.RetryPolicy{MaxAttempts: w.SendAttempts, BaseDelay: w.SendBackoff},
		MaxJobAttempts: w.OutboxClaims, JobLease: w.OutboxLease, JobBackoff: w.OutboxBackoff, Poll: w.WorkflowPoll,
	})
	api.RegisterWorkflow(e, in.Tokens, wf)
	return wf, nil
}
