// Command crm serves the CRM API and follows the inbox's events.
package main

import (
	"context"

	"github.com/communityinbox/crm/service"
	"github.com/communityinbox/shared/boot"
)

func main() {
	var cfg service.Config
	boot.Main("crm", &cfg, &cfg.Base, func() string { return cfg.HTTPAddr },
		func(ctx context.Context, in *boot.Infra) (boot.Service, error) { return service.New(ctx, cfg, in) })
}
