// Command gateway runs the single entry point for browsers and integrations.
package main

import (
	"context"

	"github.com/communityinbox/gateway/service"
	"github.com/communityinbox/shared/boot"
)

func main() {
	var cfg service.Config
	boot.Main("gateway", &cfg, &cfg.Base, func() string { return cfg.Addr() }, func(ctx context.Context, in *boot.Infra) (boot.Service, error) {
		return service.New(ctx, cfg, in)
	})
}
