// Command inbox runs the inbox service: channels, platform webhooks and the
// ingest of every channel's comments and DMs.
package main

import (
	"context"

	"github.com/communityinbox/inbox/service"
	"github.com/communityinbox/shared/boot"
)

func main() {
	var cfg service.Config
	boot.Main("inbox", &cfg, &cfg.Base, func() string { return cfg.HTTPAddr },
		func(ctx context.Context, in *boot.Infra) (boot.Service, error) { return service.New(ctx, cfg, in) })
}
